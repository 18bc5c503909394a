package system

import (
	"os"
	"testing"
)

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses must not shift fields.
	line := "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615\n"
	st, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.State != 'S' || st.StartTime != 987654 {
		t.Errorf("got %+v", st)
	}
	if _, err := parseStat([]byte("1 (x) S 1 2")); err == nil {
		t.Error("short stat accepted")
	}
}

func TestAliveSelf(t *testing.T) {
	st, err := Stat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !Alive(os.Getpid(), st.StartTime) {
		t.Error("this process is not alive")
	}
	if Alive(os.Getpid(), st.StartTime+1) {
		t.Error("a different start time must mean a different process")
	}
}
