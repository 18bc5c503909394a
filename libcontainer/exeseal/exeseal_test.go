package exeseal

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// copyData copies every byte, and a hole of the source stays a hole: the
// copy takes no more blocks than the source.
func TestCopyDataKeepsHoles(t *testing.T) {
	dir := t.TempDir()
	src, err := os.Create(filepath.Join(dir, "src"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	const mib = 1 << 20
	want := make([]byte, 6*mib+100)
	for _, at := range []int{0, 4 * mib, 6 * mib} { // data, a 4 MiB hole, data, a hole, a tail
		chunk := bytes.Repeat([]byte{byte(at>>20) + 1}, 64<<10)
		copy(want[at:], chunk)
		if _, err := src.WriteAt(chunk[:min(len(chunk), len(want)-at)], int64(at)); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Truncate(int64(len(want))); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.MemfdCreate("test", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	dst := os.NewFile(uintptr(fd), "memfd")
	defer dst.Close()
	if err := copyData(dst, src); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the copy differs from the source (%d bytes, want %d)", len(got), len(want))
	}
	var ss, ds unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &ss); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fstat(fd, &ds); err != nil {
		t.Fatal(err)
	}
	if ss.Blocks*512 >= 4*mib {
		t.Skipf("host feature missing: the filesystem of %s keeps no holes", dir)
	}
	if ds.Blocks*512 >= 2*mib {
		t.Errorf("the copy takes %d KiB, the source %d KiB: its holes were filled", ds.Blocks/2, ss.Blocks/2)
	}
}
