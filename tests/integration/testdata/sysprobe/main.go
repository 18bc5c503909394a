// sysprobe makes the raw syscalls named by number on its command line
// (with no arguments) and prints, per syscall, "ok" or the errno's name:
// the container side of the seccomp tests.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

func main() {
	for _, a := range os.Args[1:] {
		nr, err := strconv.Atoi(a)
		if err != nil {
			fmt.Println("bad", a)
			continue
		}
		_, _, errno := syscall.RawSyscall(uintptr(nr), 0, 0, 0)
		switch errno {
		case 0:
			fmt.Println("ok")
		case syscall.ENOSYS:
			fmt.Println("ENOSYS")
		case syscall.EPERM:
			fmt.Println("EPERM")
		default:
			fmt.Println(int(errno))
		}
	}
}
