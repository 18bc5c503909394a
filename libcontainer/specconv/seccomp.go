package specconv

import (
	"fmt"
	"path/filepath"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"github.com/husk-runtime/husk/libcontainer/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// notifyForbidden are syscalls the init makes between loading the filter
// and handing the listener fd over (it writes the fd's number to the
// parent): notifying on them would wait for an agent that cannot answer
// yet. runc refuses the same.
var notifyForbidden = map[string]bool{"write": true}

func convertSeccomp(s *specs.LinuxSeccomp) (*configs.Seccomp, error) {
	if s == nil {
		return nil, nil
	}
	out := &configs.Seccomp{
		DefaultAction: string(s.DefaultAction), DefaultErrno: s.DefaultErrnoRet,
		ListenerPath: s.ListenerPath, ListenerMetadata: s.ListenerMetadata,
	}
	if err := checkAction("linux.seccomp.defaultAction", string(s.DefaultAction), s.DefaultErrnoRet); err != nil {
		return nil, err
	}
	if s.DefaultAction == specs.ActNotify {
		return nil, fieldErr("linux.seccomp.defaultAction", "SCMP_ACT_NOTIFY cannot be used as default action")
	}
	for i, a := range s.Architectures {
		if _, ok := seccomp.Archs[string(a)]; !ok {
			return nil, fieldErr(fmt.Sprintf("linux.seccomp.architectures[%d]", i), "unknown architecture %q", a)
		}
		out.Architectures = append(out.Architectures, string(a))
	}
	for i, f := range s.Flags {
		if _, ok := seccomp.Flags[string(f)]; !ok {
			return nil, fieldErr(fmt.Sprintf("linux.seccomp.flags[%d]", i), "unknown flag %q", f)
		}
		if !seccomp.FlagSupported(string(f)) {
			return nil, fieldErr(fmt.Sprintf("linux.seccomp.flags[%d]", i), "%s is not supported by this kernel", f)
		}
		out.Flags = append(out.Flags, string(f))
	}
	if s.ListenerMetadata != "" && s.ListenerPath == "" {
		return nil, fieldErr("linux.seccomp.listenerMetadata", "needs listenerPath")
	}
	if s.ListenerPath != "" && !filepath.IsAbs(s.ListenerPath) {
		return nil, fieldErr("linux.seccomp.listenerPath", "%q is not an absolute path", s.ListenerPath)
	}
	notify := false
	for i, sc := range s.Syscalls {
		field := fmt.Sprintf("linux.seccomp.syscalls[%d]", i)
		if len(sc.Names) == 0 {
			return nil, fieldErr(field+".names", "must not be empty")
		}
		if err := checkAction(field+".action", string(sc.Action), sc.ErrnoRet); err != nil {
			return nil, err
		}
		if sc.Action == specs.ActNotify {
			notify = true
			for _, n := range sc.Names {
				if notifyForbidden[n] {
					return nil, fieldErr(field+".names", "SCMP_ACT_NOTIFY cannot be used for the %s syscall", n)
				}
			}
		}
		rule := configs.SeccompSyscall{Names: sc.Names, Action: string(sc.Action), Errno: sc.ErrnoRet}
		for j, a := range sc.Args {
			af := fmt.Sprintf("%s.args[%d]", field, j)
			if _, ok := seccomp.Operators[string(a.Op)]; !ok {
				return nil, fieldErr(af+".op", "unknown operator %q", a.Op)
			}
			if a.Index > 5 {
				return nil, fieldErr(af+".index", "%d: syscalls have 6 arguments", a.Index)
			}
			rule.Args = append(rule.Args, configs.SeccompArg{Index: a.Index, Value: a.Value, ValueTwo: a.ValueTwo, Op: string(a.Op)})
		}
		out.Syscalls = append(out.Syscalls, rule)
	}
	if notify && s.ListenerPath == "" {
		return nil, fieldErr("linux.seccomp.listenerPath", "must be set when SCMP_ACT_NOTIFY is used")
	}
	return out, nil
}

func checkAction(field, name string, errno *uint) error {
	if _, ok := seccomp.Actions[name]; !ok {
		return fieldErr(field, "unknown action %q", name)
	}
	if errno != nil && !seccomp.TakesErrno[name] {
		return fieldErr(field, "%s takes no errnoRet", name)
	}
	return nil
}
