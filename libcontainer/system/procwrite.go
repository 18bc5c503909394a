package system

import (
	"os"

	"github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"
)

// WriteProc writes value to /proc/self/NAME, or with thread to
// /proc/thread-self/NAME, through a procfs handle of husk's own that no
// mount in the container can have covered (CVE-2019-16884,
// CVE-2025-52881).
func WriteProc(thread bool, name, value string) error {
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return err
	}
	defer proc.Close()
	var h *os.File
	if thread {
		var closer procfs.ProcThreadSelfCloser
		h, closer, err = proc.OpenThreadSelf(name)
		if err == nil {
			defer closer()
		}
	} else {
		h, err = proc.OpenSelf(name)
	}
	if err != nil {
		return err
	}
	defer h.Close()
	f, err := pathrs.Reopen(h, unix.O_WRONLY|unix.O_CLOEXEC)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(value)
	return err
}
