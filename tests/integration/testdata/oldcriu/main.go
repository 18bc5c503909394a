// oldcriu stands in for a CRIU too old for checkpoint/restore: run as
// `criu swrk FD` (how runtimes talk to CRIU: FD is its end of their
// socketpair), it says it is version 2.9.0 and fails every other request.
// The tests put it first in PATH as "criu".
package main

import (
	"os"
	"strconv"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 3 || os.Args[1] != "swrk" {
		os.Stderr.WriteString("oldcriu: only `criu swrk FD`\n")
		os.Exit(1)
	}
	fd, err := strconv.Atoi(os.Args[2])
	if err != nil {
		os.Exit(1)
	}
	buf := make([]byte, 64*1024)
	n, err := unix.Read(fd, buf)
	if err != nil || n == 0 {
		os.Exit(1)
	}
	req := &rpc.CriuReq{}
	if err := req.UnmarshalVT(buf[:n]); err != nil {
		os.Exit(1)
	}
	t := req.GetType()
	ok := t == rpc.CriuReqType_VERSION
	resp := &rpc.CriuResp{Type: &t, Success: &ok}
	if ok {
		major, minor, sub := int32(2), int32(9), int32(0)
		resp.Version = &rpc.CriuVersion{MajorNumber: &major, MinorNumber: &minor, Sublevel: &sub}
	}
	out, err := resp.MarshalVT()
	if err != nil {
		os.Exit(1)
	}
	unix.Write(fd, out)
}
