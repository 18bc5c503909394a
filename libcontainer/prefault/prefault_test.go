package prefault

import "testing"

// The constructor runs for any command but `husk init` and `husk
// userns-hold` (this test binary's argv[1] is a -test flag). That the
// pages end up mapped is checked on husk itself by the integration test
// TestRuntimeIsPrefaulted.
func TestConstructorRan(t *testing.T) {
	if !prefaulted() {
		t.Fatal("the constructor did not populate the binary")
	}
}
