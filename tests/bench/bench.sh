#!/usr/bin/env bash
# tests/bench/bench.sh - container start-up latency of husk vs. other runc-compatible runtimes
#
# Usage: tests/bench/bench.sh [options] RUNTIME...
#   RUNTIME   PATH or NAME=PATH, e.g.  husk=./husk /usr/sbin/runc /usr/bin/crun
#             (a bare command name is looked up in $PATH). Missing runtimes are
#             reported and skipped. Ratios are relative to the first runtime kept.
#   -n N      samples per latency measure                      (default 30)
#   -o OPS    comma-separated subset of: run,create,create-seccomp,start,exec,delete,delete-force,
#             batch,resources
#                                                              (default: all)
#   -b N      containers per batch of sequential runs          (default 100)
#   -r N      repetitions of the batch                         (default 3)
#   -t SEC    kill any single runtime command after SEC s      (default 30)
#   -k        keep the temp dir (bundles, runtime stderr logs) for inspection
#   -h        this help
#
# What is measured (wall time of one runtime command, unless noted):
#   run           `run` of /bin/true in the foreground: create+start+wait+delete
#   create        `create` of a /bin/sleep 3600 container
#   create-seccomp  the same with a seccomp profile shaped like a container engine's
#                 default: every syscall of the kernel's table (the C library's
#                 asm/unistd_64.h, or asm-generic/unistd.h) allowed but ~40 a
#                 default profile refuses, argument rules for personality and
#                 clone, on the native architecture and, on x86-64, x86 and x32;
#                 default action ERRNO (EPERM). The same profile in every sample.
#   start         `start` of that created container
#   delete-force  `delete --force` of that (now running) container
#   delete        `delete` of a stopped container (a /bin/true container that was
#                 created and started untimed, then waited for until its init exited)
#   exec          `exec <id> /bin/true` into one long-running sleep container
#   batch         B sequential `run`s of /bin/true: total seconds, and the CPU time
#                 (user+sys of the whole process tree, from bash's `time`) per run
#   resources     per `run` of /bin/true under GNU time: peak RSS (the largest process
#                 of the tree), minor page faults and voluntary context switches of the
#                 tree; syscalls per `run` (strace -f -c, 5 samples); and the memory held
#                 by a created container's init: the Pss of 10 waiting inits / 10
#
# Method:
#   * Timing is bash's $EPOCHREALTIME (microseconds) read just before and after the
#     command; it includes bash's own fork+exec (~1 ms, the same for every runtime).
#   * Samples are interleaved: in round i every runtime does one sample, and the
#     order rotates by one each round, so slow drift of a shared machine hits all
#     runtimes alike. One untimed warm-up round precedes each measure.
#   * Cells show median (p10-p90) over the successful samples, and xR = this
#     runtime's median / the first runtime's median.
#   * Every runtime command's exit code is checked. A failing command is counted
#     against its cell and the run goes on; a cell with no successful sample
#     prints n/a. Steps that could not be measured because an untimed
#     prerequisite failed (e.g. start after a failed create) count as skipped.
#   * Self-contained setup in a temp dir: a static busybox rootfs, bundles whose
#     config.json matches the default of `runc spec` (runc >= 1.2) with
#     terminal=false, an absolute root.path, and a cgroupsPath unique to each
#     container under a private parent /huskbench-<pid>/. Each runtime keeps its
#     state in its own --root under the temp dir.
#   * The whole benchmark runs in a private mount namespace (unshare -m, / made
#     rprivate). On hybrid cgroup v1 hosts whose cgroup2 mount lists controllers
#     in /sys/fs/cgroup/unified/cgroup.controllers (crun 1.x refuses those), that
#     file is covered with an empty file by a bind mount visible only inside the
#     namespace -- for all runtimes alike. The host's mounts are never modified.
#   * A runtime command still running after -t seconds is killed together with
#     its descendants and counted as failed; that kind of call is then not retried
#     for that runtime (after 3 such time-outs the runtime is dropped altogether).
#   * Cleanup (also on Ctrl-C/TERM): delete --force every container we created,
#     kill what is still inside our cgroups, rmdir /huskbench-<pid> in every
#     cgroup hierarchy, remove the temp dir.
#
# Output: a table on stdout, then one machine-readable line:
#   run-true median ms: NAME=MS NAME=MS ...        (n/a where a runtime failed)
# Progress and warnings go to stderr. Exit status 0 when the benchmark ran
# (even with n/a cells), 2 on usage/setup errors, 130/143 when interrupted.
# Needs: root, bash >= 5, a static busybox, util-linux (unshare, mount), coreutils.
set -u
export LC_ALL=C

PROG=${0##*/}
ARGS=("$@")
ALL_OPS="run create create-seccomp start exec delete delete-force batch resources"

usage() { sed -n '2,/^# Needs:/{s/^# \{0,1\}//;p}' "$0"; }
die() { echo "$PROG: $*" >&2; exit 2; }
warn() { echo "$PROG: $*" >&2; }
note() { echo "# $*" >&2; }

# ---------------------------------------------------------------- options ---
N=30 OPS=all BATCH=100 REPS=3 TMO=30 KEEP=0
while getopts ":n:o:b:r:t:kh" opt; do
  case $opt in
    n) N=$OPTARG ;;
    o) OPS=$OPTARG ;;
    b) BATCH=$OPTARG ;;
    r) REPS=$OPTARG ;;
    t) TMO=$OPTARG ;;
    k) KEEP=1 ;;
    h) usage; exit 0 ;;
    :) die "option -$OPTARG needs a value (see -h)" ;;
    *) die "unknown option -$OPTARG (see -h)" ;;
  esac
done
shift $((OPTIND - 1))
for v in N BATCH REPS TMO; do
  flag=${v:0:1}
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "-${flag,,} wants a positive integer, got '${!v}'"
done
[ $# -ge 1 ] || { usage >&2; exit 2; }

declare -A WANT=()
if [ "$OPS" = all ]; then
  for op in $ALL_OPS; do WANT[$op]=1; done
else
  IFS=, read -r -a oplist <<<"$OPS"
  for op in "${oplist[@]}"; do
    [[ " $ALL_OPS " == *" $op "* ]] || die "unknown op '$op' (known: ${ALL_OPS// /,})"
    WANT[$op]=1
  done
fi
want() { [ -n "${WANT[$1]:-}" ]; }

(( BASH_VERSINFO[0] >= 5 )) || die "needs bash >= 5 (for \$EPOCHREALTIME)"
[ "$(id -u)" = 0 ] || die "must run as root"
command -v unshare >/dev/null || die "unshare (util-linux) not found"

# ----------------------------------------- private mount namespace (re-exec) ---
# Everything below runs in a mount namespace of our own, so nothing we (or a
# buggy runtime) mount can leak to the host. unshare execs (no fork), so after
# the re-exec our parent is still our caller, outside: check that we differ.
if [ -z "${HUSKBENCH_INNER:-}" ]; then
  export HUSKBENCH_INNER=1
  exec unshare --mount --propagation private -- "$BASH" "$(readlink -f "$0")" "${ARGS[@]}"
fi
unset HUSKBENCH_INNER
[ "$(readlink /proc/self/ns/mnt)" != "$(readlink "/proc/$PPID/ns/mnt")" ] ||
  die "not in a private mount namespace (unshare failed?)"

# --------------------------------------------------------------- runtimes ---
NAMES=() BINS=()
for spec in "$@"; do
  if [[ $spec == *=* ]]; then name=${spec%%=*} path=${spec#*=}; else name=${spec##*/} path=$spec; fi
  [[ $path == */* ]] || path=$(command -v -- "$path" || echo "$path")
  [ -n "$name" ] || name=${path##*/}
  if [ ! -f "$path" ] || [ ! -x "$path" ]; then
    warn "skipping runtime '$name': '$path' is not an executable file"
    continue
  fi
  for other in "${NAMES[@]}"; do [ "$other" != "$name" ] || name="$name#$((${#NAMES[@]} + 1))"; done
  NAMES+=("$name") BINS+=("$(readlink -f -- "$path")")
done
R=${#NAMES[@]}
(( R > 0 )) || die "no usable runtime given"

# ------------------------------------------------------- state and cleanup ---
T=''                      # temp dir: rootfs, bundles, runtime state, logs
TAG=huskbench-$$          # cgroup parent, /$TAG/<container id> in every hierarchy
WD_PID='' MASKED=''
HYB=/sys/fs/cgroup/unified/cgroup.controllers
declare -A LIVE=() STALE=()   # "k id" -> 1 for containers that may still exist

# A command the watchdog had to kill is not tried again: per runtime, each kind of
# call (KEY) may time out once, and after 3 time-outs in all the runtime is dropped.
declare -A TIMEOUTS=() AUXFAIL=() AUXLAST=()
given_up() { [ -n "${TIMEOUTS[$1,$2]:-}" ] || ((${TIMEOUTS[$1]:-0} >= 3)); }   # given_up K KEY
timed_out() {   # timed_out K KEY RC USEC : was this a watchdog kill? then remember it
  (($3 == 137 && $4 >= TMO * 1000000 - 500000)) || return 1
  TIMEOUTS[$1,$2]=1 TIMEOUTS[$1]=$((${TIMEOUTS[$1]:-0} + 1))
  if ((TIMEOUTS[$1] >= 3)); then warn "${NAMES[$1]}: 3 commands timed out; skipping this runtime from now on"
  else warn "${NAMES[$1]}: '$2' timed out after ${TMO}s; not trying it again"; fi
}

rt() {  # rt K ARGS... : untimed runtime call, stdout discarded; fails fast if given up
  local k=$1 t0 rc
  shift
  given_up "$k" "aux-$1" && return 1
  t0=${EPOCHREALTIME//[!0-9]/}
  "${BINS[k]}" --root "$T/state/$k" "$@" </dev/null >/dev/null 2>>"$T/log/$k.aux"
  rc=$?
  if ((rc != 0)); then
    AUXFAIL[$k]=$((${AUXFAIL[$k]:-0} + 1)) AUXLAST[$k]="$1 (exit code $rc)"
    timed_out "$k" "aux-$1" $rc $((${EPOCHREALTIME//[!0-9]/} - t0))
  fi
  return $rc
}

our_cgroups() {  # print /sys/fs/cgroup/<hierarchy>/$TAG (and the v2 root) if present
  local h
  [ -d "/sys/fs/cgroup/$TAG" ] && echo "/sys/fs/cgroup/$TAG"
  for h in /sys/fs/cgroup/*/; do
    h=${h%/}
    [ -L "$h" ] || [ ! -d "$h/$TAG" ] || echo "$h/$TAG"
  done
}

cleanup() {
  local rc=$? k id ids d p try left
  trap '' INT TERM
  exec 2>&"$ERRFD"        # we may be interrupted inside a block whose stderr is redirected
  [ -n "$WD_PID" ] && { kill "$WD_PID" 2>/dev/null; wait "$WD_PID" 2>/dev/null; }
  [ -d "$T/state" ] && note "cleaning up"
  # 1. containers: the ones we know of, plus whatever each runtime still lists
  for ((k = 0; k < R; k++)); do
    [ -d "$T/state/$k" ] || continue
    ids=$(timeout 10 "${BINS[k]}" --root "$T/state/$k" list -q 2>/dev/null </dev/null)
    for id in $ids; do LIVE["$k $id"]=1; done
  done
  for d in "${!STALE[@]}"; do LIVE[$d]=1; done
  declare -A hung=()
  for d in "${!LIVE[@]}"; do
    k=${d%% *} id=${d#* }
    [ -z "${hung[$k]:-}" ] || continue       # its delete hangs: leave it to the cgroup sweep
    timeout 10 "${BINS[k]}" --root "$T/state/$k" delete --force "$id" </dev/null >/dev/null 2>&1
    [ $? != 124 ] || hung[$k]=1
  done
  # 2. cgroups: kill leftovers (only processes inside our own cgroups), then rmdir
  for ((try = 0; try < 50; try++)); do
    left=0
    for d in $(our_cgroups); do
      find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null |
        while read -r p; do kill -KILL "$p" 2>/dev/null; done
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
      [ -d "$d" ] && left=1
    done
    ((left)) || break
    sleep 0.1
  done
  ((left)) && warn "could not remove cgroup dirs: $(our_cgroups | tr '\n' ' ')"
  # 3. mounts (ours are private to this namespace anyway) and the temp dir
  [ -n "$MASKED" ] && umount "$HYB" 2>/dev/null
  if [ -d "$T" ]; then
    awk -v t="$T/" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r |
      while read -r d; do umount -l "$d" 2>/dev/null; done
    if ((KEEP)); then note "kept $T"; else rm -rf --one-file-system "$T"; fi
  fi
  exit "$rc"
}
T=$(mktemp -d "${TMPDIR:-/tmp}/huskbench.XXXXXX") || die "mktemp failed"
exec {ERRFD}>&2
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ $T != *[\"\\]* ]] || die "temp dir path '$T' is not JSON-safe; set TMPDIR"
mkdir -p "$T"/{rootfs,log,pid} || die "cannot populate $T"
# husk keeps compiled seccomp programs in its cache: the benchmark's own,
# kept for the run (the create-seccomp row times a create that finds its
# program there) and removed with it.
export XDG_CACHE_HOME="$T/cache"
for ((k = 0; k < R; k++)); do mkdir -p "$T/state/$k" "$T/bundle/$k"/{true,sleep,exec,seccomp}; done

# A fifo opened read-write never delivers data: `read -t` on it is a fork-free sleep.
mkfifo "$T/nap" || die "mkfifo failed"
exec {NAPFD}<>"$T/nap"
nap() { read -r -t "$1" -u "$NAPFD" _; }

# ------------------------------------------------------------------- rootfs ---
BB=${BUSYBOX:-$(command -v busybox || echo /bin/busybox)}
[ -x "$BB" ] || die "busybox not found (Debian: apt-get install busybox-static)"
! ldd "$BB" >/dev/null 2>&1 || die "$BB is dynamically linked; need a static busybox (busybox-static)"
mkdir -p "$T/rootfs"/{bin,proc,sys,dev,tmp,etc}
cp "$BB" "$T/rootfs/bin/busybox" || die "cannot copy $BB"
for applet in true false sleep sh cat ls ps echo; do ln -s busybox "$T/rootfs/bin/$applet"; done
echo 'root:x:0:0:root:/:/bin/sh' >"$T/rootfs/etc/passwd"
echo 'root:x:0:' >"$T/rootfs/etc/group"

# -------------------------------------------------------------- config.json ---
# spec_template ARG... : the default `runc spec` config (as runc >= 1.2 writes it)
# with terminal=false, the given args, an absolute root.path and a placeholder
# @CGROUP@ that cfg() replaces by a per-container cgroupsPath.
spec_template() {
  local args="" a
  for a in "$@"; do args+="${args:+, }\"$a\""; done
  cat <<EOF
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": { "uid": 0, "gid": 0 },
    "args": [ $args ],
    "env": [ "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm" ],
    "cwd": "/",
    "capabilities": {
      "bounding": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
      "effective": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
      "permitted": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ]
    },
    "rlimits": [ { "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 } ],
    "noNewPrivileges": true
  },
  "root": { "path": "$T/rootfs", "readonly": true },
  "hostname": "huskbench",
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc" },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
      "options": [ "nosuid", "strictatime", "mode=755", "size=65536k" ] },
    { "destination": "/dev/pts", "type": "devpts", "source": "devpts",
      "options": [ "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" ] },
    { "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
      "options": [ "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" ] },
    { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
      "options": [ "nosuid", "noexec", "nodev" ] },
    { "destination": "/sys", "type": "sysfs", "source": "sysfs",
      "options": [ "nosuid", "noexec", "nodev", "ro" ] },
    { "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
      "options": [ "nosuid", "noexec", "nodev", "relatime", "ro" ] }
  ],
  "linux": {
    "cgroupsPath": "@CGROUP@",
    "resources": { "devices": [ { "allow": false, "access": "rwm" } ] },
    "namespaces": [ { "type": "pid" }, { "type": "network" }, { "type": "ipc" },
                    { "type": "uts" }, { "type": "mount" } ],
    "maskedPaths": [ "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                     "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                     "/proc/sched_debug", "/sys/firmware", "/proc/scsi" ],
    "readonlyPaths": [ "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" ]
  }
}
EOF
}
# seccomp_profile : a linux.seccomp of the shape container engines use by
# default (see create-seccomp above), or nothing without a syscall table.
seccomp_profile() {
  local hdr names arches
  for hdr in /usr/include/*/asm/unistd_64.h /usr/include/asm/unistd_64.h \
             /usr/include/asm-generic/unistd.h; do
    [ -r "$hdr" ] && break
  done
  [ -r "$hdr" ] || return 0
  names=$(sed -n 's/^#define __NR3\{0,1\}2\{0,1\}_\([a-z0-9_]*\) .*/\1/p' "$hdr" |
    grep -Evx 'acct|add_key|bpf|clock_adjtime|clock_settime|create_module|delete_module|finit_module|get_kernel_syms|init_module|ioperm|iopl|kexec_file_load|kexec_load|keyctl|lookup_dcookie|mount|move_pages|nfsservctl|open_by_handle_at|perf_event_open|personality|pivot_root|query_module|quotactl|reboot|request_key|setdomainname|sethostname|settimeofday|swapoff|swapon|sysfs|umount2|unshare|uselib|userfaultfd|ustat|vhangup|vm86|vm86old|clone|syscalls' |
    sort -u | sed 's/.*/"&"/' | paste -sd, -)
  [ -n "$names" ] || return 0
  case $(uname -m) in
    x86_64) arches='"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"' ;;
    aarch64) arches='"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"' ;;
    *) arches='' ;;
  esac
  cat <<EOF
, "seccomp": { "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "architectures": [ $arches ],
    "syscalls": [
      { "names": [ $names ], "action": "SCMP_ACT_ALLOW" },
      { "names": [ "personality" ], "action": "SCMP_ACT_ALLOW", "args": [ { "index": 0, "value": 0, "op": "SCMP_CMP_EQ" } ] },
      { "names": [ "personality" ], "action": "SCMP_ACT_ALLOW", "args": [ { "index": 0, "value": 8, "op": "SCMP_CMP_EQ" } ] },
      { "names": [ "personality" ], "action": "SCMP_ACT_ALLOW", "args": [ { "index": 0, "value": 131072, "op": "SCMP_CMP_EQ" } ] },
      { "names": [ "personality" ], "action": "SCMP_ACT_ALLOW", "args": [ { "index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ" } ] },
      { "names": [ "clone" ], "action": "SCMP_ACT_ALLOW", "args": [ { "index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ" } ] }
    ] }
EOF
}
SECCOMP=$(seccomp_profile)
declare -A TPL=(
  [true]=$(spec_template /bin/true)
  [sleep]=$(spec_template /bin/sleep 3600)
  [exec]=$(spec_template /bin/sleep 3600)
)
# The sleep container with the profile after readonlyPaths.
if [ -n "$SECCOMP" ]; then
  TPL[seccomp]=${TPL[sleep]/'"/proc/sysrq-trigger" ]'/'"/proc/sysrq-trigger" ]'$SECCOMP}
elif want create-seccomp; then
  warn "create-seccomp: no syscall table (asm/unistd_64.h, linux-libc-dev): skipped"
  unset 'WANT[create-seccomp]'
fi

SEQ=0 ID='' BUNDLE=''
# newctr K KIND : pick a fresh container id (-> $ID), write its bundle's config.json
# with cgroupsPath /$TAG/$ID (-> $BUNDLE) and remember the container for cleanup.
newctr() {
  local k=$1 kind=$2
  SEQ=$((SEQ + 1)) ID="hb$$-$k-$SEQ" BUNDLE="$T/bundle/$k/$kind"
  printf '%s\n' "${TPL[$kind]//@CGROUP@//$TAG/$ID}" >"$BUNDLE/config.json"
  LIVE["$k $ID"]=1
}
gone() { unset 'LIVE[$1 $2]'; }   # gone K ID : container no longer exists
# A container whose untimed delete --force fails goes to STALE: only the final
# cleanup tries it again. sweep discards every container still listed.
discard() {   # discard K ID : untimed delete --force; on failure leave it to cleanup
  rt "$1" delete --force "$2" || STALE[$1 $2]=1
  gone "$1" "$2"
}
sweep() { local key; for key in "${!LIVE[@]}"; do discard "${key%% *}" "${key#* }"; done; }

# ------------------------------------------------- hybrid cgroup workaround ---
if [ -r "$HYB" ] && [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] &&
   [ -n "$(tr -d '[:space:]' <"$HYB")" ]; then   # cgroupfs files report size 0: read them
  hyb_list=$(tr -s '[:space:]' ' ' <"$HYB")
  if grep -q 'shared:' /proc/self/mountinfo; then
    warn "mount namespace still has shared mounts; not masking $HYB (crun may fail)"
  else
    : >"$T/empty"
    if mount --bind "$T/empty" "$HYB"; then
      MASKED=1
      note "hybrid cgroups: $HYB lists '${hyb_list% }'; masked inside the benchmark's private mount namespace"
    else
      warn "could not mask $HYB; crun may refuse to run"
    fi
  fi
fi

# ---------------------------------------------------------------- watchdog ---
# A background loop kills any child of this shell (= a runtime command) that has
# been running for more than $TMO seconds, so a hung runtime costs a failure, not
# the whole run. It is outside the timed path: the timed commands stay plain
# foreground commands.
kill_tree() {   # kill_tree PID : SIGKILL a process and all its (still attached) descendants
  local p=$1 t c
  local -a kids
  kill -STOP "$p" 2>/dev/null                # freeze it so it cannot fork meanwhile
  for t in /proc/"$p"/task/*/children; do
    kids=()
    read -r -a kids <"$t" 2>/dev/null
    for c in "${kids[@]}"; do kill_tree "$c"; done
  done
  kill -KILL "$p" 2>/dev/null
}
watchdog() {
  local main=$1 self=$BASHPID c st key now
  local -a kids f
  local -A seen=() keep=()
  while [ -d "/proc/$main" ]; do
    nap 1
    now=$SECONDS keep=()
    kids=()
    read -r -a kids <"/proc/$main/task/$main/children" 2>/dev/null   # no trailing newline
    for c in "${kids[@]}"; do
      [ "$c" = "$self" ] && continue
      read -r st <"/proc/$c/stat" 2>/dev/null || continue
      read -r -a f <<<"${st##*) }"
      key="$c/${f[19]}"                      # pid + start time: immune to pid reuse
      keep[$key]=${seen[$key]:-$now}
      if (( now - keep[$key] >= TMO )); then
        warn "watchdog: killing pid $c and its descendants after ${TMO}s: $(tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null)"
        kill_tree "$c"
      fi
    done
    seen=()
    for key in "${!keep[@]}"; do seen[$key]=${keep[$key]}; done
  done
}
if [ -r "/proc/$$/task/$$/children" ]; then
  watchdog $$ &
  WD_PID=$!
else
  warn "/proc/PID/task/TID/children unavailable: no per-command timeout"
fi

# ------------------------------------------------------- sampling machinery ---
declare -A SAMPLES=() FAIL=() SKIP=() TRIES=() LASTRC=()
RECORD=1    # 0 during warm-up rounds: nothing is recorded
US=0        # duration of the last timed command, microseconds

# timed K OP ARGS... : run one runtime command under the clock; record the sample
# (or the failure) under cell K,OP; return its exit code.
timed() {
  local k=$1 op=$2 t0 t1 rc
  shift 2
  if given_up "$k" "$op"; then skip "$k" "$op"; return 1; fi
  t0=${EPOCHREALTIME//[!0-9]/}
  "${BINS[k]}" --root "$T/state/$k" "$@" </dev/null >/dev/null 2>>"$T/log/$k.$op"
  rc=$?
  t1=${EPOCHREALTIME//[!0-9]/}
  US=$((t1 - t0))
  ((rc == 0)) || timed_out "$k" "$op" $rc $US
  if ((RECORD)); then
    TRIES[$k,$op]=$((${TRIES[$k,$op]:-0} + 1))
    if ((rc == 0)); then SAMPLES[$k,$op]+=" $US"
    else FAIL[$k,$op]=$((${FAIL[$k,$op]:-0} + 1)) LASTRC[$k,$op]=$rc; fi
  fi
  return $rc
}
skip() { ((RECORD)) && SKIP[$1,$2]=$((${SKIP[$1,$2]:-0} + 1)); }   # skip K OP

ORDER=()
rotate() { local j; ORDER=(); for ((j = 0; j < R; j++)); do ORDER+=($((($1 + j) % R))); done; }

progress() { note "$(date +%T) $*"; }

# wait_exit K ID PIDFILE : wait (max 10 s) until the container's init has exited.
# Uses the pid file and /proc when there is one (no runtime call), else polls `state`.
wait_exit() {
  local k=$1 id=$2 pf=$3 pid st n
  pid=
  [ -s "$pf" ] && { read -r pid || :; } <"$pf"    # runc writes no trailing newline
  if [[ $pid =~ ^[0-9]+$ ]]; then
    for ((n = 0; n < 5000; n++)); do
      read -r st <"/proc/$pid/stat" 2>/dev/null || return 0
      st=${st##*) }
      [[ ${st:0:1} == [ZX] ]] && return 0
      nap 0.002
    done
  else
    for ((n = 0; n < 1000; n++)); do
      st=$("${BINS[k]}" --root "$T/state/$k" state "$id" 2>/dev/null </dev/null) || return 1
      [[ $st =~ \"status\":\ *\"stopped\" ]] && return 0
      nap 0.01
    done
  fi
  return 1
}

# ---------------------------------------------------------- measure: run ---
one_run() {   # one_run K
  newctr "$1" true
  if timed "$1" run run --bundle "$BUNDLE" "$ID"; then gone "$1" "$ID"
  else discard "$1" "$ID"; fi
}

# ----------------------------------------------- measure: container phases ---
# A: create (sleep) -> start -> delete --force     (all three timed)
# B: create (true) -> start -> wait for exit -> delete   (only delete timed)
one_phases() {   # one_phases K
  local k=$1 pf="$T/pid/$1.pid"
  if want create || want start || want delete-force; then
    newctr "$k" sleep
    if ! timed "$k" create create --bundle "$BUNDLE" "$ID"; then
      skip "$k" start; skip "$k" delete-force
    elif ! timed "$k" start start "$ID"; then
      skip "$k" delete-force
    elif timed "$k" delete-force delete --force "$ID"; then
      gone "$k" "$ID"
    fi
    [ -z "${LIVE[$k $ID]:-}" ] || discard "$k" "$ID"
  fi
  if want create-seccomp; then
    newctr "$k" seccomp
    timed "$k" create-seccomp create --bundle "$BUNDLE" "$ID" || true
    discard "$k" "$ID"
  fi
  if want delete; then
    newctr "$k" true
    rm -f "$pf"
    if rt "$k" create --pid-file "$pf" --bundle "$BUNDLE" "$ID" && rt "$k" start "$ID" &&
       wait_exit "$k" "$ID" "$pf"; then
      timed "$k" delete delete "$ID" && gone "$k" "$ID"
    else
      skip "$k" delete
    fi
    [ -z "${LIVE[$k $ID]:-}" ] || discard "$k" "$ID"
  fi
}

# --------------------------------------------------------------- run them ---
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
PSI0=$(sed -n 's/^some avg10=\([0-9.]*\).*/\1/p' /proc/pressure/cpu 2>/dev/null)
T_START=$SECONDS

if want run; then
  progress "run /bin/true: $N rounds x $R runtimes"
  RECORD=0; for ((k = 0; k < R; k++)); do one_run "$k"; done; RECORD=1
  for ((i = 0; i < N; i++)); do rotate "$i"; for k in "${ORDER[@]}"; do one_run "$k"; done; done
fi

if want create || want create-seccomp || want start || want delete || want delete-force; then
  progress "create/start/delete: $N rounds x $R runtimes"
  RECORD=0; for ((k = 0; k < R; k++)); do one_phases "$k"; done; RECORD=1
  for ((i = 0; i < N; i++)); do rotate "$i"; for k in "${ORDER[@]}"; do one_phases "$k"; done; done
fi

if want exec; then
  progress "exec /bin/true: $N rounds x $R runtimes"
  EXEC_ID=()
  for ((k = 0; k < R; k++)); do
    newctr "$k" exec; EXEC_ID[k]=$ID
    if rt "$k" create --bundle "$BUNDLE" "$ID" && rt "$k" start "$ID"; then
      RECORD=0; timed "$k" exec exec "$ID" /bin/true; RECORD=1      # warm-up
    else
      warn "${NAMES[k]}: could not start the container for exec; exec skipped"
      EXEC_ID[k]=
    fi
  done
  for ((i = 0; i < N; i++)); do
    rotate "$i"
    for k in "${ORDER[@]}"; do
      if [ -n "${EXEC_ID[k]}" ]; then timed "$k" exec exec "${EXEC_ID[k]}" /bin/true; else skip "$k" exec; fi
    done
  done
  for ((k = 0; k < R; k++)); do
    id=${EXEC_ID[k]:-hb$$-$k-none}
    [ -z "${LIVE[$k $id]:-}" ] || discard "$k" "$id"
  done
  # containers whose create/start failed above
  sweep
fi

if want batch; then
  progress "batch: $REPS x $BATCH sequential runs x $R runtimes"
  TIMEFORMAT='%3U %3S'
  for ((i = 0; i < REPS; i++)); do
    rotate "$i"
    for k in "${ORDER[@]}"; do
      if given_up "$k" batch || given_up "$k" run; then SKIP[$k,batch]=$((${SKIP[$k,batch]:-0} + 1)); continue; fi
      bad=0
      t0=${EPOCHREALTIME//[!0-9]/}
      { time {
        for ((j = 0; j < BATCH; j++)); do
          newctr "$k" true
          t_run=${EPOCHREALTIME//[!0-9]/}
          if "${BINS[k]}" --root "$T/state/$k" run --bundle "$BUNDLE" "$ID" \
               </dev/null >/dev/null 2>>"$T/log/$k.batch"; then
            gone "$k" "$ID"
          else
            LASTRC[$k,batch]=$? bad=$((bad + 1))
            timed_out "$k" batch "${LASTRC[$k,batch]}" $((${EPOCHREALTIME//[!0-9]/} - t_run)) && break
          fi
        done
      } ; } 2>"$T/cpu"
      t1=${EPOCHREALTIME//[!0-9]/}
      TRIES[$k,batch]=$((${TRIES[$k,batch]:-0} + 1))
      if ((bad == 0)); then
        read -r u s <"$T/cpu"
        SAMPLES[$k,batch]+=" $((t1 - t0))"
        SAMPLES[$k,cpu]+=" $(((10#${u/./} + 10#${s/./}) * 1000 / BATCH))"   # ms*1000/n = us per run
      else
        FAIL[$k,batch]=$((${FAIL[$k,batch]:-0} + 1))
        BATCH_BAD[k]=$((${BATCH_BAD[k]:-0} + bad))
        sweep
      fi
    done
  done
fi
if want resources; then
  if ! command -v /usr/bin/time >/dev/null || ! command -v strace >/dev/null; then
    warn "resources: needs GNU time (/usr/bin/time) and strace (apt-get install time strace); skipped"
  else
    progress "resources: $N rounds x $R runtimes, then syscalls and held memory"
    for ((i = 0; i < N; i++)); do
      rotate "$i"
      for k in "${ORDER[@]}"; do
        newctr "$k" true
        if /usr/bin/time -o "$T/rusage" -f '%M %R %w' "${BINS[k]}" --root "$T/state/$k" run --bundle "$BUNDLE" "$ID" \
             </dev/null >/dev/null 2>>"$T/log/$k.resources"; then
          gone "$k" "$ID"
          read -r rss flt vcs <"$T/rusage"
          SAMPLES[$k,rss]+=" $rss" SAMPLES[$k,faults]+=" $flt" SAMPLES[$k,vcs]+=" $vcs"
        else
          discard "$k" "$ID"; FAIL[$k,resources]=$((${FAIL[$k,resources]:-0} + 1))
        fi
        TRIES[$k,resources]=$((${TRIES[$k,resources]:-0} + 1))
      done
    done
    for ((i = 0; i < 5; i++)); do
      rotate "$i"
      for k in "${ORDER[@]}"; do
        newctr "$k" true
        if strace -f -c -o "$T/strace" "${BINS[k]}" --root "$T/state/$k" run --bundle "$BUNDLE" "$ID" \
             </dev/null >/dev/null 2>>"$T/log/$k.resources"; then
          gone "$k" "$ID"
          SAMPLES[$k,syscalls]+=" $(awk '$NF == "total" { print $(NF - 2) }' "$T/strace")"
        else
          discard "$k" "$ID"
        fi
      done
    done
    # Memory held: 10 created (waiting) containers per runtime; the Pss of
    # their inits, summed from smaps_rollup, per container.
    for ((k = 0; k < R; k++)); do
      held=() pss=0 n=0
      for ((j = 0; j < 10; j++)); do
        newctr "$k" sleep
        pf="$T/pid/$k.held.$j"
        rt "$k" create --pid-file "$pf" --bundle "$BUNDLE" "$ID" && held+=("$ID:$pf")
      done
      for h in "${held[@]}"; do
        pf=${h#*:}
        pid=
        { read -r pid || :; } <"$pf" 2>/dev/null   # no trailing newline (as runc)
        [[ $pid =~ ^[0-9]+$ ]] || continue
        kb=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null) || continue
        [ -n "$kb" ] && pss=$((pss + kb)) n=$((n + 1))
      done
      ((n)) && SAMPLES[$k,pss]=" $((pss / n))"
      for h in "${held[@]}"; do discard "$k" "${h%%:*}"; done
    done
  fi
fi
ELAPSED=$((SECONDS - T_START))

# ------------------------------------------------------------------ report ---
# stats "US US ..." : "median p10 p90" (linear interpolation between order statistics)
stats() {
  tr ' ' '\n' <<<"$1" | sort -n | awk '
    NF { v[++n] = $1 }
    function q(p,  x, i) { x = 1 + (n - 1) * p; i = int(x); return (i >= n) ? v[n] : v[i] + (x - i) * (v[i + 1] - v[i]) }
    END { if (n) print q(0.5), q(0.1), q(0.9) }'
}
fmt() {   # fmt VALUE DIVISOR : 3 significant-ish digits
  awk -v x="$1" -v d="$2" 'BEGIN { x /= d; printf (x < 10 ? "%.2f" : x < 100 ? "%.1f" : "%.0f"), x }'
}

# row spec: op|label|unit|divisor   (samples are stored in microseconds)
ROWS=(
  "run|run /bin/true (fg, incl. delete)|ms|1000"
  "create|create (sleep container)|ms|1000"
  "create-seccomp|create, with a seccomp profile|ms|1000"
  "start|start|ms|1000"
  "exec|exec /bin/true|ms|1000"
  "delete|delete (stopped)|ms|1000"
  "delete-force|delete --force (running)|ms|1000"
  "batch|batch: $BATCH x run, total|s|1000000"
  "cpu|batch: CPU user+sys per run|ms|1000"
  "rss|peak RSS, run (largest process)|MiB|1024"
  "faults|minor page faults per run|n|1"
  "vcs|voluntary context switches per run|n|1"
  "syscalls|syscalls per run (strace -f -c)|n|1"
  "pss|memory held per created container (init Pss)|MiB|1024"
)

declare -a TABLE=()       # rows of tab-separated cells
declare -A RUN_MS=()
header="operation	unit	${NAMES[0]}"
for ((k = 1; k < R; k++)); do header+="	${NAMES[k]}	vs ${NAMES[0]}"; done
TABLE+=("$header")
FAILNOTES=()
for row in "${ROWS[@]}"; do
  IFS='|' read -r op label unit div <<<"$row"
  wop=$op; [ "$op" = cpu ] && wop='batch'
  case $op in rss | faults | vcs | syscalls | pss) wop=resources ;; esac
  want "$wop" || continue
  line="$label	$unit"
  base=
  for ((k = 0; k < R; k++)); do
    s=${SAMPLES[$k,$op]:-}
    fails=${FAIL[$k,$wop]:-0} skips=${SKIP[$k,$wop]:-0} tries=${TRIES[$k,$wop]:-0}
    [ "$op" = cpu ] && fails=0 skips=0          # reported on the batch row
    case $op in faults | vcs | syscalls | pss) fails=0 skips=0 ;; esac   # reported on the RSS row
    if [ -n "$s" ]; then
      read -r med p10 p90 < <(stats "$s")
      cell="$(fmt "$med" "$div") ($(fmt "$p10" "$div")-$(fmt "$p90" "$div"))"
      ((k == 0)) && base=$med
      [ "$op" = run ] && RUN_MS[$k]=$(awk -v x="$med" 'BEGIN { printf "%.2f", x / 1000 }')
    else
      cell="n/a" med=
    fi
    ((fails)) && cell+=" [$fails/$tries failed]"
    ((skips)) && cell+=" [$skips skipped]"
    if ((k > 0)); then
      if [ -n "$med" ] && [ -n "$base" ]; then
        ratio=$(awk -v a="$med" -v b="$base" 'BEGIN { if (b > 0) printf "x%.2f", a / b; else print "-" }')
      else
        ratio="-"
      fi
      cell+="	$ratio"
    fi
    line+="	$cell"
    if ((fails)); then
      what="$fails of $tries"
      [ "$op" = batch ] && what="${BATCH_BAD[k]:-?} run(s) in $fails of $tries batch(es)"
      last=$(grep -v '^[[:space:]]*$' "$T/log/$k.$wop" 2>/dev/null | tail -n 1 | cut -c1-160)
      FAILNOTES+=("${NAMES[k]} $op: $what failed (last exit code ${LASTRC[$k,$wop]:-?})${last:+; last stderr: $last}")
    fi
  done
  TABLE+=("$line")
done

echo
echo "# husk bench: $(uname -sr), $(nproc) CPUs, cgroup fs $(stat -fc %T /sys/fs/cgroup)${MASKED:+ (hybrid; unified controllers masked)}"
for ((k = 0; k < R; k++)); do
  v=$(timeout 5 "${BINS[k]}" --version 2>/dev/null </dev/null | head -n 1)
  echo "#   ${NAMES[k]} = ${BINS[k]} (${v:-version unknown})"
done
echo "# load avg start: $LOAD0, end: $(cut -d' ' -f1-3 /proc/loadavg); cpu PSI some avg10 start: ${PSI0:-?}%; took ${ELAPSED}s"
echo "# cell = median (p10-p90) over n=$N samples$(want batch && echo " (batch rows: $REPS reps)"); vs ${NAMES[0]}: xR = median / median of ${NAMES[0]}"
echo
# Align the tab-separated table: every column padded to its widest cell.
printf '%s\n' "${TABLE[@]}" | awk -F'\t' '
  { for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }; nf[NR] = NF; if (NF > m) m = NF }
  END {
    for (r = 1; r <= NR; r++) {
      line = ""
      for (i = 1; i <= nf[r]; i++) {
        sep = (i == 1) ? "" : (i == 2) ? "  " : (i >= 5 && i % 2) ? " " : " | "
        line = line sep sprintf("%-" w[i] "s", c[r, i])
      }
      sub(/ +$/, "", line); print line
      if (r == 1) { gsub(/[^|]/, "-", line); print line }
    }
  }'
echo
for n in "${FAILNOTES[@]}"; do echo "# FAILED: $n"; done
for ((k = 0; k < R; k++)); do
  ((${AUXFAIL[$k]:-0})) || continue
  last=$(grep -v '^[[:space:]]*$' "$T/log/$k.aux" 2>/dev/null | tail -n 1 | cut -c1-160)
  echo "# FAILED: ${NAMES[k]}: ${AUXFAIL[$k]} untimed setup/teardown command(s) (last: ${AUXLAST[$k]})${last:+; last stderr: $last}"
done
for key in "${!TIMEOUTS[@]}"; do
  [[ $key == *,* ]] && echo "# TIMEOUT: ${NAMES[${key%%,*}]} '${key#*,}' was killed after ${TMO}s and not tried again"
done
if ((${#FAILNOTES[@]} + ${#AUXFAIL[@]})); then
  if ((KEEP)); then echo "# runtime stderr logs: $T/log/"
  else echo "# (rerun with -k to keep all runtime stderr logs in the temp dir)"; fi
fi
summary="run-true median ms:"
for ((k = 0; k < R; k++)); do summary+=" ${NAMES[k]}=${RUN_MS[$k]:-n/a}"; done
echo "$summary"
