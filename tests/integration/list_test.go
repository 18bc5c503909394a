package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"text/tabwriter"
	"time"
)

// listHeader is runc's table header: tabwriter(minwidth 12, tabwidth 1,
// padding 3, ' ') over "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER".
const listHeader = "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"

// renderTable formats containers exactly like runc's `list`.
func renderTable(cs []containerState) string {
	var buf bytes.Buffer
	w := tabwriter.NewWriter(&buf, 12, 1, 3, ' ', 0)
	fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
	for _, c := range cs {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n",
			c.ID, c.PID, c.Status, c.Bundle, c.Created.Format(time.RFC3339Nano), c.Owner)
	}
	w.Flush()
	return buf.String()
}

// threeContainers makes "a-created" (created), "b-running" (running) and
// "c-stopped" (stopped).
func threeContainers(e *env) map[string]*bundle {
	e.t.Helper()
	bs := map[string]*bundle{
		"a-created": e.newBundle(withArgs("true")),
		"b-running": e.newBundle(withOut(), withShell("touch /out/ready; "+waitForever)),
		"c-stopped": e.newBundle(withArgs("true")),
	}
	e.create(bs["a-created"], "a-created")
	e.runDetached(bs["b-running"], "b-running")
	waitFile(e.t, bs["b-running"].outFile("ready"))
	e.runDetached(bs["c-stopped"], "c-stopped")
	e.waitStatus("c-stopped", "stopped")
	return bs
}

func listJSON(e *env) []containerState {
	e.t.Helper()
	r := e.ok("list", "--format", "json")
	var cs []containerState
	if err := json.Unmarshal([]byte(r.Stdout), &cs); err != nil {
		e.t.Fatalf("list --format json is not a JSON array: %v: %s", err, r)
	}
	return cs
}

func TestListEmptyRootPrintsOnlyHeader(t *testing.T) {
	e := newEnv(t)
	r := e.ok("list")
	if r.Stdout != listHeader {
		t.Errorf("list on an empty root:\n got %q\nwant %q", r.Stdout, listHeader)
	}
}

func TestListQuietEmptyRootPrintsNothing(t *testing.T) {
	e := newEnv(t)
	if r := e.ok("list", "-q"); r.Stdout != "" {
		t.Errorf("list -q on an empty root printed %q", r.Stdout)
	}
}

// runc prints "null" for an empty list; an empty array is accepted too.
func TestListJSONEmptyRoot(t *testing.T) {
	e := newEnv(t)
	if cs := listJSON(e); len(cs) != 0 {
		t.Errorf("list --format json on an empty root = %+v", cs)
	}
}

func TestListJSONFields(t *testing.T) {
	e := newEnv(t)
	bs := threeContainers(e)
	r := e.ok("list", "--format", "json")
	var raw []map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &raw); err != nil {
		t.Fatalf("not a JSON array of objects: %v: %s", err, r)
	}
	for _, obj := range raw {
		for _, k := range []string{"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"} {
			if _, ok := obj[k]; !ok {
				t.Errorf("list entry has no %q: %v", k, obj)
			}
		}
	}
	cs := listJSON(e)
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
		st := e.state(c.ID)
		if c.PID != st.PID || c.Status != st.Status || c.Bundle != st.Bundle ||
			c.Rootfs != st.Rootfs || !c.Created.Equal(st.Created) || c.OCIVersion != st.OCIVersion {
			t.Errorf("list entry %+v disagrees with state %+v", c, st)
		}
		if c.Bundle != bs[c.ID].Dir {
			t.Errorf("%s: bundle %q, want %q", c.ID, c.Bundle, bs[c.ID].Dir)
		}
		// Owner is the user name owning the state (we run as root).
		if c.Owner != "root" {
			t.Errorf("%s: owner = %q, want root", c.ID, c.Owner)
		}
	}
	if want := []string{"a-created", "b-running", "c-stopped"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("list ids = %v, want %v (sorted by id)", ids, want)
	}
	wantStatus := map[string]string{"a-created": "created", "b-running": "running", "c-stopped": "stopped"}
	for _, c := range cs {
		if c.Status != wantStatus[c.ID] {
			t.Errorf("%s: status %q, want %q", c.ID, c.Status, wantStatus[c.ID])
		}
	}
}

func TestListTableFormat(t *testing.T) {
	e := newEnv(t)
	threeContainers(e)
	cs := listJSON(e)
	if len(cs) != 3 {
		t.Fatalf("list --format json has %d entries, want 3", len(cs))
	}
	r := e.ok("list")
	if want := renderTable(cs); r.Stdout != want {
		t.Errorf("list table differs from runc's format:\n%s", lineDiff(want, r.Stdout))
	}
	r2 := e.ok("list", "--format", "table")
	if r2.Stdout != r.Stdout {
		t.Errorf("list --format table differs from list:\n%s", lineDiff(r.Stdout, r2.Stdout))
	}
}

func TestListQuietPrintsOnlyIDs(t *testing.T) {
	e := newEnv(t)
	threeContainers(e)
	for _, flag := range []string{"-q", "--quiet"} {
		r := e.ok("list", flag)
		if want := "a-created\nb-running\nc-stopped\n"; r.Stdout != want {
			t.Errorf("list %s = %q, want %q", flag, r.Stdout, want)
		}
	}
}

func TestListShortFormatFlag(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	e.create(b, "ctr")
	r := e.ok("list", "-f", "json")
	var cs []containerState
	if err := json.Unmarshal([]byte(r.Stdout), &cs); err != nil || len(cs) != 1 || cs[0].ID != "ctr" {
		t.Errorf("list -f json = %s (%v)", r, err)
	}
}

func TestListInvalidFormatFails(t *testing.T) {
	e := newEnv(t)
	// husk names the format and the ones there are.
	e.failsWith(huskOrRunc(`invalid format option "yaml": use table or json`, "invalid format option"), "list", "--format", "yaml")
}

// An explicit --root that does not exist is an error (runc 1.2 and later:
// only the default root may be missing).
func TestListMissingRootFails(t *testing.T) {
	e := newEnv(t)
	missing := filepath.Join(e.dir, "nosuch")
	r := invoke(invokeOpts{}, "--root", missing, "list")
	if r.Code != 1 || !strings.Contains(r.Stderr, `msg="open `+missing+`: no such file or directory"`) {
		t.Errorf("list with a missing --root: %s", r)
	}
	if exists(missing) {
		t.Errorf("list made the missing root %s", missing)
	}
}

// A container whose state cannot be read is reported on stderr ("load
// container ID: ..."), as runc does, and the others are listed; list
// still succeeds.
func TestListReportsUnreadableState(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(withArgs("true"))
	e.create(b, "good")
	broken, empty := filepath.Join(e.root, "broken"), filepath.Join(e.root, "empty")
	for _, d := range []string{broken, empty} {
		if err := os.Mkdir(d, 0o711); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
	}
	if err := os.WriteFile(filepath.Join(broken, "state.json"), []byte("{bad"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"list"}, {"list", "-f", "json"}, {"list", "-q"}} {
		r := e.ok(args...)
		l := lines(r.Stderr)
		if len(l) != 2 || !strings.HasPrefix(l[0], "load container broken: ") || !strings.Contains(l[0], "invalid character") ||
			l[1] != "load container empty: container does not exist" {
			t.Errorf("%v: stderr %q", args, r.Stderr)
		}
		if strings.Contains(r.Stdout, "broken") || strings.Contains(r.Stdout, "empty") || !strings.Contains(r.Stdout, "good") {
			t.Errorf("%v: stdout %q", args, r.Stdout)
		}
	}
}
