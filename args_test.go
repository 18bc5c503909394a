package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestReorderArgs(t *testing.T) {
	app := newApp()
	for in, want := range map[string]string{
		// Options after the id move in front of it.
		"husk update ID --memory 1M":       "husk update --memory 1M ID",
		"husk update ID --cpu-quota -1":    "husk update --cpu-quota -1 ID",
		"husk update ID -r -":              "husk update -r - ID",
		"husk delete ID -f":                "husk delete -f ID",
		"husk kill ID -a":                  "husk kill -a ID",
		"husk kill ID -a KILL":             "husk kill -a ID KILL",
		"husk kill ID KILL --all":          "husk kill --all ID KILL",
		"husk run ID -d --bundle=b":        "husk run -d --bundle=b ID",
		"husk --root r run -b b ID --keep": "husk --root r run -b b --keep ID",
		"husk kill ID -9":                  "husk kill ID -9",
		"husk kill -- ID -a":               "husk kill -- ID -a",
		"husk kill ID -- -a":               "husk kill -- ID -a",
		// Global options after the command move in front of it.
		"husk list --root X -q":               "husk --root X list -q",
		"husk --debug state ID --root=X":      "husk --debug --root=X state ID",
		"husk spec --rootless":                "husk spec --rootless",
		"husk list -f json --log-format json": "husk --log-format json list -f json",
		// exec: options up to its command; the command's own arguments
		// stay as they are.
		"husk exec ID sh -c x":                "husk exec ID sh -c x",
		"husk exec ID -e A=1 -t sh -c x -e y": "husk exec -e A=1 -t ID sh -c x -e y",
		"husk exec -td ID sh":                 "husk exec -td ID sh",
		"husk exec ID -td sh":                 "husk exec -td ID sh",
		"husk exec ID -- sh -c x":             "husk exec -- ID sh -c x",
		"husk exec ID sh --root X":            "husk exec ID sh --root X",
		"husk exec -p p.json ID":              "husk exec -p p.json ID",
		// ps: what follows the id is ps(1)'s.
		"husk ps ID -f json": "husk ps ID -f json",
		"husk ps -f json ID": "husk ps -f json ID",
		// Nothing to do.
		"husk":              "husk",
		"husk --debug":      "husk --debug",
		"husk help kill":    "husk help kill",
		"husk nosuch ID -f": "husk nosuch ID -f",
	} {
		got := strings.Join(reorderArgs(app, strings.Fields(in)), " ")
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s", in, got, want)
		}
	}
	// Unchanged input slice.
	in := []string{"husk", "delete", "ID", "-f"}
	reorderArgs(app, in)
	if !reflect.DeepEqual(in, []string{"husk", "delete", "ID", "-f"}) {
		t.Errorf("input modified: %q", in)
	}
}
