package seccomp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"hash/crc64"
	"hash/fnv"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/husk-runtime/husk/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// libseccomp takes ~15-20 ms to compile a default profile of the container
// engines (~400 syscalls on three architectures: its rule database is
// copied on every rule added), on the critical path of every create and
// exec with such a profile, which is every container Docker, Podman or
// Kubernetes start. The same few profiles come again and again, so the
// compiled programs are kept: CompileCached.

// DefaultCacheDir is where husk keeps the programs it compiled: under
// $XDG_CACHE_HOME if set (an absolute path), else /var/cache as root and
// ~/.cache otherwise; "" if there is no such place. Not in a state root,
// which holds containers only.
func DefaultCacheDir() string {
	if x := os.Getenv("XDG_CACHE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "husk", "seccomp")
	}
	if os.Geteuid() == 0 {
		return "/var/cache/husk/seccomp"
	}
	if h := os.Getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".cache", "husk", "seccomp")
	}
	return ""
}

// cacheMax bounds the files kept (a host runs a handful of distinct
// profiles; each husk binary and kernel makes new keys).
const cacheMax = 256

const cacheMagic = "HSKSECC1"

// compiles counts Compile's runs through CompileCached (for tests).
var compiles atomic.Int64

// CompileCached is Compile, with the programs kept in dir: one file per
// profile, named by a hash of everything the program depends on (the
// profile's rules, husk's binary, the kernel). The file holds all of that
// too, compared byte for byte when read (a hash collision is a miss, never
// another profile's program), is written atomically and is checked whole
// (CRC-64) when read. Without dir, or if dir is not the caller's own and
// private, it compiles and keeps nothing. (No cryptographic hash: Go's
// crypto packages bring a 32 MiB buffer into every husk process's memory.)
func CompileCached(s *configs.Seccomp, dir string) (*Program, error) {
	if dir != "" {
		if key, ok := cacheKey(s); ok {
			if dfd, ok := openPrivateDir(dir); ok {
				defer unix.Close(dfd)
				return compileKept(s, dir, dfd, key)
			}
		}
	}
	compiles.Add(1)
	return Compile(s)
}

// compileKept is the program kept in dir (open as dfd) for key, or
// Compile's, then kept.
func compileKept(s *configs.Seccomp, dir string, dfd int, key []byte) (*Program, error) {
	h := fnv.New128a()
	h.Write(key)
	name := hex.EncodeToString(h.Sum(nil))
	if p := readCached(dir, dfd, name, key); p != nil {
		slog.Debug("seccomp: the compiled program is cached", "file", filepath.Join(dir, name))
		return p, nil
	}
	compiles.Add(1)
	p, err := Compile(s)
	if err != nil {
		return nil, err
	}
	writeCached(dfd, name, key, p)
	return p, nil
}

// cacheKey is what a program depends on, unambiguously encoded: the
// format, the running binary (device, inode, size and times of
// /proc/self/exe: a rebuilt or replaced husk, and the libseccomp linked
// into it, makes new keys), the kernel (libseccomp asks it what it
// supports) and the architecture, and the profile's fields that Compile
// reads. ok is false if the binary or the kernel cannot be told.
func cacheKey(s *configs.Seccomp) (key []byte, ok bool) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return nil, false
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return nil, false
	}
	var w keyWriter
	w.str(cacheMagic)
	w.u64(st.Dev, st.Ino, uint64(st.Size), uint64(st.Mtim.Sec), uint64(st.Mtim.Nsec), uint64(st.Ctim.Sec), uint64(st.Ctim.Nsec))
	w.str(unix.ByteSliceToString(uts.Release[:]), unix.ByteSliceToString(uts.Version[:]), unix.ByteSliceToString(uts.Machine[:]), runtime.GOARCH)
	w.str(s.DefaultAction)
	w.errno(s.DefaultErrno)
	w.list(s.Architectures)
	w.list(s.Flags)
	w.u64(uint64(len(s.Syscalls)))
	for _, r := range s.Syscalls {
		w.list(r.Names)
		w.str(r.Action)
		w.errno(r.Errno)
		w.u64(uint64(len(r.Args)))
		for _, a := range r.Args {
			w.u64(uint64(a.Index), a.Value, a.ValueTwo)
			w.str(a.Op)
		}
	}
	return w.b, true
}

// keyWriter encodes values unambiguously: each string with its length.
type keyWriter struct{ b []byte }

func (w *keyWriter) u64(vs ...uint64) {
	for _, v := range vs {
		w.b = binary.LittleEndian.AppendUint64(w.b, v)
	}
}

func (w *keyWriter) str(ss ...string) {
	for _, s := range ss {
		w.u64(uint64(len(s)))
		w.b = append(w.b, s...)
	}
}

func (w *keyWriter) list(ss []string) {
	w.u64(uint64(len(ss)))
	w.str(ss...)
}

func (w *keyWriter) errno(e *uint) {
	if e == nil {
		w.u64(0)
		return
	}
	w.u64(1, uint64(*e))
}

// openPrivateDir makes dir (and its parents) if need be and opens it, if
// it is a directory of this user's that nobody else may write to: checked
// on the open directory, which the files are then read and written from.
func openPrivateDir(dir string) (int, bool) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return -1, false
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, false
	}
	if _, ok := ours(fd); !ok {
		unix.Close(fd)
		return -1, false
	}
	return fd, true
}

// ours returns fd's stat, and whether it is this user's and nobody else
// may write to it.
func ours(fd int) (unix.Stat_t, bool) {
	var st unix.Stat_t
	ok := unix.Fstat(fd, &st) == nil && int(st.Uid) == os.Geteuid() && st.Mode&0o022 == 0
	return st, ok
}

// The file: magic | key length u32 | key | flags u32 | notify u32 |
// count u32 | count BPF instructions (8 bytes each) | CRC-64 (ECMA) of
// all before.
const (
	crcSize  = 8
	maxKey   = 1 << 20 // a profile's key (the kernel takes a 32 KiB BPF program at most)
	maxInsns = 1 << 16
)

// crcTable is made on first use: crc64 builds its 32 KiB of tables then,
// which took ~0.15 ms of every command's start-up as a package variable.
var crcTable = sync.OnceValue(func() *crc64.Table { return crc64.MakeTable(crc64.ECMA) })

func encodeCached(key []byte, p *Program) []byte {
	b := append([]byte(cacheMagic), binary.LittleEndian.AppendUint32(nil, uint32(len(key)))...)
	b = append(b, key...)
	notify := uint32(0)
	if p.Notify {
		notify = 1
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(p.Flags))
	b = binary.LittleEndian.AppendUint32(b, notify)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Insns)))
	for _, in := range p.Insns {
		b = binary.LittleEndian.AppendUint16(b, in.Code)
		b = append(b, in.Jt, in.Jf)
		b = binary.LittleEndian.AppendUint32(b, in.K)
	}
	return binary.LittleEndian.AppendUint64(b, crc64.Checksum(b, crcTable()))
}

// decodeCached is the program in b, if b is a whole cache file for key.
func decodeCached(b []byte, key []byte) *Program {
	if len(b) < len(cacheMagic)+4+12+crcSize {
		return nil
	}
	body := b[:len(b)-crcSize]
	if crc64.Checksum(body, crcTable()) != binary.LittleEndian.Uint64(b[len(body):]) || string(body[:len(cacheMagic)]) != cacheMagic {
		return nil
	}
	body = body[len(cacheMagic):]
	klen := uint64(binary.LittleEndian.Uint32(body))
	if klen != uint64(len(key)) || uint64(len(body)) < 4+klen+12 || !bytes.Equal(body[4:4+klen], key) {
		return nil
	}
	h := body[4+klen:]
	flags, notify, n := binary.LittleEndian.Uint32(h), binary.LittleEndian.Uint32(h[4:]), binary.LittleEndian.Uint32(h[8:])
	insns := h[12:]
	if notify > 1 || n > maxInsns || uint64(len(insns)) != 8*uint64(n) {
		return nil
	}
	p := &Program{Flags: uint(flags), Notify: notify == 1, Insns: make([]unix.SockFilter, n)}
	for i := range p.Insns {
		in := insns[8*i:]
		p.Insns[i] = unix.SockFilter{Code: binary.LittleEndian.Uint16(in), Jt: in[2], Jf: in[3], K: binary.LittleEndian.Uint32(in[4:])}
	}
	return p
}

func readCached(dir string, dfd int, name string, key []byte) *Program {
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	st, ok := ours(fd)
	if !ok || st.Mode&unix.S_IFMT != unix.S_IFREG ||
		st.Size > int64(len(cacheMagic)+4+maxKey+12+8*maxInsns+crcSize) {
		return nil
	}
	b := make([]byte, st.Size)
	for off := 0; off < len(b); {
		n, err := unix.Read(fd, b[off:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return nil
		}
		off += n
	}
	p := decodeCached(b, key)
	if p == nil {
		slog.Debug("seccomp: ignoring a damaged cache file", "file", filepath.Join(dir, name))
	}
	return p
}

// writeCached keeps p in the directory dfd (atomically: a temporary file
// renamed into place); a failure only costs the next create a compile. A
// full cache is emptied first: what a replaced binary or kernel left is
// never read again.
func writeCached(dfd int, name string, key []byte, p *Program) {
	d, err := unix.Dup(dfd)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(d), "seccomp cache")
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return
	}
	if len(names) >= cacheMax {
		for _, n := range names {
			unix.Unlinkat(dfd, n, 0)
		}
	}
	tmp := ".tmp-" + strconv.Itoa(os.Getpid())
	create := func() (int, error) {
		return unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	}
	fd, err := create()
	if err == unix.EEXIST {
		// Left by a process of this pid that was killed.
		unix.Unlinkat(dfd, tmp, 0)
		fd, err = create()
	}
	if err != nil {
		return
	}
	b := encodeCached(key, p)
	n, werr := unix.Write(fd, b)
	cerr := unix.Close(fd)
	if werr != nil || n != len(b) || cerr != nil || unix.Renameat(dfd, tmp, dfd, name) != nil {
		unix.Unlinkat(dfd, tmp, 0)
	}
}
