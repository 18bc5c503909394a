// Command genplan writes the C header of the plan's op table
// (libcontainer/nsenter/plan_ops.h) from initproto.Ops.
package main

import (
	"fmt"
	"os"

	"github.com/husk-runtime/husk/libcontainer/initproto"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: genplan OUTPUT.h")
		os.Exit(2)
	}
	if err := os.WriteFile(os.Args[1], []byte(initproto.PlanHeader()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
