# fish completion for husk, written by `husk completion fish` from its command definitions: do not edit.
# Install it as share/fish/vendor_completions.d/husk.fish, or: husk completion fish | source

function __husk_args --description 'the words after the global options of the command line'
	set -l words (commandline -opc)
	set -e words[1]
	while set -q words[1]
		switch $words[1]
			case --log --log-format --root --rootless
				set -e words[1..2]
			case '-*'
				set -e words[1]
			case '*'
				break
		end
	end
	string join \n -- $words
end

function __husk_no_command --description 'no command given yet'
	set -l words (__husk_args)
	not set -q words[1]
end

function __husk_command --description 'the command is one of the arguments'
	set -l words (__husk_args)
	contains -- "$words[1]" $argv
end

function __husk_nargs --description 'the number of arguments given to the command'
	set -l words (__husk_args)
	set -l n 0
	set -l skip 0
	for w in $words[2..-1]
		if test $skip = 1
			set skip 0
			continue
		end
		switch "$words[1] $w"
			case '* --log' '* --log-format' '* --root' '* --rootless' 'check --bundle' 'check --format' 'check --preserve-fds' 'check -b' 'checkpoint --empty-ns' 'checkpoint --image-path' 'checkpoint --manage-cgroups-mode' 'checkpoint --page-server' 'checkpoint --parent-path' 'checkpoint --status-fd' 'checkpoint --work-path' 'create --bundle' 'create --console-socket' 'create --format' 'create --pid-file' 'create --pidfd-socket' 'create --preserve-fds' 'create -b' 'events --interval' 'exec --additional-gids' 'exec --apparmor' 'exec --cap' 'exec --cgroup' 'exec --console-socket' 'exec --cwd' 'exec --env' 'exec --pid-file' 'exec --pidfd-socket' 'exec --preserve-fds' 'exec --process' 'exec --process-label' 'exec --user' 'exec -c' 'exec -e' 'exec -g' 'exec -p' 'exec -u' 'list --format' 'list -f' 'ps --format' 'ps -f' 'restore --bundle' 'restore --console-socket' 'restore --empty-ns' 'restore --image-path' 'restore --lsm-mount-context' 'restore --lsm-profile' 'restore --manage-cgroups-mode' 'restore --pid-file' 'restore --work-path' 'restore -b' 'run --bundle' 'run --console-socket' 'run --format' 'run --pid-file' 'run --pidfd-socket' 'run --preserve-fds' 'run -b' 'spec --bundle' 'spec -b' 'update --blkio-weight' 'update --cpu-burst' 'update --cpu-idle' 'update --cpu-period' 'update --cpu-quota' 'update --cpu-rt-period' 'update --cpu-rt-runtime' 'update --cpu-share' 'update --cpuset-cpus' 'update --cpuset-mems' 'update --l3-cache-schema' 'update --mem-bw-schema' 'update --memory' 'update --memory-reservation' 'update --memory-swap' 'update --pids-limit' 'update --resources' 'update -r'
				set skip 1
			case '* -*'
			case '*'
				set n (math $n + 1)
		end
	end
	echo $n
end

function __husk_containers --description 'the existing containers'
	set -l words (commandline -opc)
	set -l root
	if set -l i (contains -i -- --root $words)
		set root --root $words[(math $i + 1)]
	end
	husk $root list -q 2>/dev/null
end

complete -c husk -f
complete -c husk -n '__husk_no_command' -l debug -d 'enable debug logging'
complete -c husk -n '__husk_no_command' -l log -r -F -d 'set the log file to write husk logs to (default is \'/dev/stderr\')'
complete -c husk -n '__husk_no_command' -l log-format -r -f -a 'text json' -d 'set the log format (\'text\' (default), or \'json\')'
complete -c husk -n '__husk_no_command' -l root -r -f -a '(__fish_complete_directories)' -d 'root directory for storage of container state (this should be located in tmpfs)'
complete -c husk -n '__husk_no_command' -l systemd-cgroup -d 'enable systemd cgroup support, expects cgroupsPath to be of form "slice:prefix:name" for e.g. "system.slice:husk:434234"'
complete -c husk -n '__husk_no_command' -l rootless -r -f -a 'true false auto' -d 'ignore cgroup permission errors (\'true\', \'false\', or \'auto\')'
complete -c husk -n '__husk_no_command' -l strict -d 'make every warning an error (unknown config.json fields, settings husk would ignore or could not apply)'
complete -c husk -n '__husk_no_command' -l help -s h -d 'show help'
complete -c husk -n '__husk_no_command' -l version -s v -d 'print the version'
complete -c husk -n '__husk_no_command' -a check -d 'check what this host can run: its kernel, cgroups, namespaces, LSMs, seccomp; or, with --bundle, each field of a bundle\'s config.json'
complete -c husk -n '__husk_no_command' -a checkpoint -d 'checkpoint a running container'
complete -c husk -n '__husk_no_command' -a completion -d 'print a shell completion script (bash, zsh or fish)'
complete -c husk -n '__husk_no_command' -a create -d 'create a container'
complete -c husk -n '__husk_no_command' -a delete -d 'delete any resources held by the container often used with detached container'
complete -c husk -n '__husk_no_command' -a events -d 'display container events such as OOM notifications, cpu, memory, and IO usage statistics'
complete -c husk -n '__husk_no_command' -a exec -d 'execute new process inside the container'
complete -c husk -n '__husk_no_command' -a features -d 'show the enabled features'
complete -c husk -n '__husk_no_command' -a kill -d 'kill sends the specified signal (default: SIGTERM) to the container\'s init process'
complete -c husk -n '__husk_no_command' -a list -d 'lists containers started by husk with the given root'
complete -c husk -n '__husk_no_command' -a pause -d 'pause suspends all processes inside the container'
complete -c husk -n '__husk_no_command' -a ps -d 'ps displays the processes running inside a container'
complete -c husk -n '__husk_no_command' -a restore -d 'restore a container from a previous checkpoint'
complete -c husk -n '__husk_no_command' -a resume -d 'resumes all processes that have been previously paused'
complete -c husk -n '__husk_no_command' -a run -d 'create and run a container'
complete -c husk -n '__husk_no_command' -a spec -d 'create a new specification file'
complete -c husk -n '__husk_no_command' -a start -d 'executes the user defined process in a created container'
complete -c husk -n '__husk_no_command' -a state -d 'output the state of a container'
complete -c husk -n '__husk_no_command' -a update -d 'update container resource constraints'
complete -c husk -n '__husk_no_command' -a help -d 'show the help of husk or of a command'

complete -c husk -n '__husk_command check' -l bundle -s b -r -f -a '(__fish_complete_directories)' -d 'check this bundle\'s config.json against this host'
complete -c husk -n '__husk_command check' -l format -r -f -a 'text json' -d '\'text\' or \'json\''
complete -c husk -n '__husk_command check' -l no-pivot -d 'as create\'s --no-pivot'
complete -c husk -n '__husk_command check' -l no-new-keyring -d 'as create\'s --no-new-keyring'
complete -c husk -n '__husk_command check' -l preserve-fds -r -f -d 'as create\'s --preserve-fds'

complete -c husk -n '__husk_command checkpoint' -l image-path -r -f -d 'path for saving criu image files'
complete -c husk -n '__husk_command checkpoint' -l work-path -r -f -d 'path for saving work files and logs'
complete -c husk -n '__husk_command checkpoint' -l parent-path -r -f -d 'path for previous criu image files in pre-dump'
complete -c husk -n '__husk_command checkpoint' -l leave-running -d 'leave the process running after checkpointing'
complete -c husk -n '__husk_command checkpoint' -l tcp-established -d 'allow open tcp connections'
complete -c husk -n '__husk_command checkpoint' -l tcp-skip-in-flight -d 'skip in-flight tcp connections'
complete -c husk -n '__husk_command checkpoint' -l link-remap -d 'allow one to link unlinked files back when possible'
complete -c husk -n '__husk_command checkpoint' -l ext-unix-sk -d 'allow external unix sockets'
complete -c husk -n '__husk_command checkpoint' -l shell-job -d 'allow shell jobs'
complete -c husk -n '__husk_command checkpoint' -l lazy-pages -d 'use userfaultfd to lazily restore memory pages'
complete -c husk -n '__husk_command checkpoint' -l status-fd -r -f -d 'criu writes \\0 to this FD once lazy-pages is ready'
complete -c husk -n '__husk_command checkpoint' -l page-server -r -f -d 'ADDRESS:PORT of the page server'
complete -c husk -n '__husk_command checkpoint' -l file-locks -d 'handle file locks, for safety'
complete -c husk -n '__husk_command checkpoint' -l pre-dump -d 'dump container\'s memory information only, leave the container running after this'
complete -c husk -n '__husk_command checkpoint' -l manage-cgroups-mode -r -f -d 'cgroups mode: soft|full|strict|ignore (default: soft)'
complete -c husk -n '__husk_command checkpoint' -l empty-ns -r -f -d 'create a namespace, but don\'t restore its properties'
complete -c husk -n '__husk_command checkpoint' -l auto-dedup -d 'enable auto deduplication of memory images'
complete -c husk -n '__husk_command checkpoint; and test (__husk_nargs) -eq 0' -a '(__husk_containers)' -d container

complete -c husk -n '__husk_command completion; and test (__husk_nargs) -eq 0' -a 'bash zsh fish'

complete -c husk -n '__husk_command create' -l bundle -s b -r -f -a '(__fish_complete_directories)' -d 'path to the root of the bundle directory, defaults to the current directory'
complete -c husk -n '__husk_command create' -l console-socket -r -F -d 'path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console\'s pseudoterminal'
complete -c husk -n '__husk_command create' -l pidfd-socket -r -F -d 'path to an AF_UNIX socket which will receive a file descriptor referencing the init process'
complete -c husk -n '__husk_command create' -l pid-file -r -F -d 'specify the file to write the process id to'
complete -c husk -n '__husk_command create' -l no-pivot -d 'do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk'
complete -c husk -n '__husk_command create' -l no-new-keyring -d 'do not create a new session keyring for the container.  This will cause the container to inherit the calling processes session key'
complete -c husk -n '__husk_command create' -l preserve-fds -r -f -d 'Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)'
complete -c husk -n '__husk_command create' -l dry-run -d 'print what would be done (namespaces, mounts in order, devices, cgroup writes, seccomp, capabilities, rlimits, hooks) and make nothing'
complete -c husk -n '__husk_command create' -l format -r -f -a 'text json' -d 'the --dry-run output: \'text\' or \'json\''

complete -c husk -n '__husk_command delete' -l force -s f -d 'Forcibly deletes the container if it is still running (uses SIGKILL)'
complete -c husk -n '__husk_command delete; and test (__husk_nargs) -eq 0' -a '(__husk_containers)' -d container

complete -c husk -n '__husk_command events' -l interval -r -f -d 'set the stats collection interval'
complete -c husk -n '__husk_command events' -l stats -d 'display the container\'s stats then exit'
complete -c husk -n '__husk_command events; and test (__husk_nargs) -eq 0' -a '(__husk_containers)' -d container

complete -c husk -n '__husk_command exec' -l console-socket -r -F -d 'path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console\'s pseudoterminal'
complete -c husk -n '__husk_command exec' -l pidfd-socket -r -F -d 'path to an AF_UNIX socket which will receive a file descriptor referencing the exec process'
complete -c husk -n '__husk_command exec' -l cwd -r -f -d 'current working directory in the container'
complete -c husk -n '__husk_command exec' -l env -s e -r -f -d 'set environment variables'
complete -c husk -n '__husk_command exec' -l tty -s t -d 'allocate a pseudo-TTY'
complete -c husk -n '__husk_command exec' -l user -s u -r -f -d 'UID (format: <uid>[:<gid>])'
complete -c husk -n '__husk_command exec' -l additional-gids -s g -r -f -d 'additional gids'
complete -c husk -n '__husk_command exec' -l process -s p -r -F -d 'path to the process.json'
complete -c husk -n '__husk_command exec' -l detach -s d -d 'detach from the container\'s process'
complete -c husk -n '__husk_command exec' -l pid-file -r -F -d 'specify the file to write the process id to'
complete -c husk -n '__husk_command exec' -l process-label -r -f -d 'set the asm process label for the process commonly used with selinux'
complete -c husk -n '__husk_command exec' -l apparmor -r -f -d 'set the apparmor profile for the process'
complete -c husk -n '__husk_command exec' -l no-new-privs -d 'set the no new privileges value for the process'
complete -c husk -n '__husk_command exec' -l cap -s c -r -f -d 'add a capability to the bounding set for the process'
complete -c husk -n '__husk_command exec' -l preserve-fds -r -f -d 'Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)'
complete -c husk -n '__husk_command exec' -l cgroup -r -f -d 'run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>.'
complete -c husk -n '__husk_command exec' -l ignore-paused -d 'allow exec in a paused container'
complete -c husk -n '__husk_command exec; and test (__husk_nargs) -eq 0' -a '(__husk_containers)' -d container
complete -c husk -n '__husk_command exec; and test (__husk_nargs) -eq 1' -a '(__fish_complete_command)'
complete -c husk -n '__husk_command exec; and test (__husk_nargs) -ge 2' -F


complete -c husk -n '__husk_command kill; and test (__husk_nargs) -eq 0' -a '(__husk_containers)' -d container

complete -c husk -n '__husk_command list' -l format -s f -r -f -a 'table json' -d 'select one of: table or json (default: "table")'
complete -c husk -n '__husk_command list' -l quiet -s q -d 'display only container IDs'

complete -c husk -n '__husk_command pause; and test (__husk_nargs) -eq 0' -a '(__husk_containers)' -d container

complete -c husk -n '__husk_command ps' -l format -s f -r -f -a 'table json' -d 'select one of: table or json'
complete -c husk -n '__husk_command ps; and test (__husk_nargs) -eq 0' -a '(__husk_containers)' -d container

complete -c husk -n '__husk_command restore' -l console-socket -r -F -d 'path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console\'s pseudoterminal'
complete -c husk -n '__husk_command restore' -l image-path -r -f -d 'path to criu image files for restoring'
complete -c husk -n '__husk_command restore' -l work-path -r -f -d 'path for saving work files and logs'
complete -c husk -n '__husk_command restore' -l tcp-established -d 'allow open tcp connections'
complete -c husk -n '__husk_command restore' -l ext-unix-sk -d 'allow external unix sockets'
complete -c husk -n '__husk_command restore' -l shell-job -d 'allow shell jobs'
complete -c husk -n '__husk_command restore' -l file-locks -d 'handle file locks, for safety'
complete -c husk -n '__husk_command restore' -l manage-cgroups-mode -r -f -d 'cgroups mode: soft|full|strict|ignore (default: soft)'
complete -c husk -n '__husk_command restore' -l bundle -s b -r -f -a '(__fish_complete_directories)' -d 'path to the root of the bundle directory'
complete -c husk -n '__husk_command restore' -l detach -s d -d 'detach from the container\'s process'
complete -c husk -n '__husk_command restore' -l pid-file -r -F -d 'specify the file to write the process id to'
complete -c husk -n '__husk_command restore' -l no-subreaper -d 'disable the use of the subreaper used to reap reparented processes'
complete -c husk -n '__husk_command restore' -l no-pivot -d 'do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk'
complete -c husk -n '__husk_command restore' -l empty-ns -r -f -d 'create a namespace, but don\'t restore its properties'
complete -c husk -n '__husk_command restore' -l auto-dedup -d 'enable auto deduplication of memory images'
complete -c husk -n '__husk_command restore' -l lazy-pages -d 'use userfaultfd to lazily restore memory pages'
complete -c husk -n '__husk_command restore' -l lsm-profile -r -f -d 'Specify an LSM profile to be used during restore in the form of TYPE:NAME.'
complete -c husk -n '__husk_command restore' -l lsm-mount-context -r -f -d 'Specify an LSM mount context to be used during restore.'
complete -c husk -n '__husk_command restore; and test (__husk_nargs) -eq 0' -a '(__husk_containers)' -d container

complete -c husk -n '__husk_command resume; and test (__husk_nargs) -eq 0' -a '(__husk_containers)' -d container

complete -c husk -n '__husk_command run' -l detach -s d -d 'detach from the container\'s process'
complete -c husk -n '__husk_command run' -l keep -d 'do not delete the container after it exits'
complete -c husk -n '__husk_command run' -l no-subreaper -d 'disable the use of the subreaper used to reap reparented processes'
complete -c husk -n '__husk_command run' -l bundle -s b -r -f -a '(__fish_complete_directories)' -d 'path to the root of the bundle directory, defaults to the current directory'
complete -c husk -n '__husk_command run' -l console-socket -r -F -d 'path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console\'s pseudoterminal'
complete -c husk -n '__husk_command run' -l pidfd-socket -r -F -d 'path to an AF_UNIX socket which will receive a file descriptor referencing the init process'
complete -c husk -n '__husk_command run' -l pid-file -r -F -d 'specify the file to write the process id to'
complete -c husk -n '__husk_command run' -l no-pivot -d 'do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk'
complete -c husk -n '__husk_command run' -l no-new-keyring -d 'do not create a new session keyring for the container.  This will cause the container to inherit the calling processes session key'
complete -c husk -n '__husk_command run' -l preserve-fds -r -f -d 'Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)'
complete -c husk -n '__husk_command run' -l dry-run -d 'print what would be done (namespaces, mounts in order, devices, cgroup writes, seccomp, capabilities, rlimits, hooks) and make nothing'
complete -c husk -n '__husk_command run' -l format -r -f -a 'text json' -d 'the --dry-run output: \'text\' or \'json\''

complete -c husk -n '__husk_command spec' -l bundle -s b -r -f -a '(__fish_complete_directories)' -d 'path to the root of the bundle directory'
complete -c husk -n '__husk_command spec' -l rootless -d 'generate a configuration for a rootless container'

complete -c husk -n '__husk_command start; and test (__husk_nargs) -eq 0' -a '(__husk_containers)' -d container

complete -c husk -n '__husk_command state; and test (__husk_nargs) -eq 0' -a '(__husk_containers)' -d container

complete -c husk -n '__husk_command update' -l resources -s r -r -F -d 'path to the file containing the resources to update or \'-\' to read from the standard input'
complete -c husk -n '__husk_command update' -l blkio-weight -r -f -d 'Specifies per cgroup weight, range is from 10 to 1000'
complete -c husk -n '__husk_command update' -l cpu-period -r -f -d 'CPU CFS period to be used for hardcapping (in usecs). 0 to use system default'
complete -c husk -n '__husk_command update' -l cpu-quota -r -f -d 'CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period'
complete -c husk -n '__husk_command update' -l cpu-burst -r -f -d 'CPU CFS hardcap burst limit (in usecs). Allowed accumulated cpu time additionally for burst a given period'
complete -c husk -n '__husk_command update' -l cpu-share -r -f -d 'CPU shares (relative weight vs. other containers)'
complete -c husk -n '__husk_command update' -l cpu-rt-period -r -f -d 'CPU realtime period to be used for hardcapping (in usecs). 0 to use system default'
complete -c husk -n '__husk_command update' -l cpu-rt-runtime -r -f -d 'CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period'
complete -c husk -n '__husk_command update' -l cpuset-cpus -r -f -d 'CPU(s) to use'
complete -c husk -n '__husk_command update' -l cpuset-mems -r -f -d 'Memory node(s) to use'
complete -c husk -n '__husk_command update' -l memory -r -f -d 'Memory limit (in bytes)'
complete -c husk -n '__husk_command update' -l cpu-idle -r -f -d 'set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE'
complete -c husk -n '__husk_command update' -l memory-reservation -r -f -d 'Memory reservation or soft_limit (in bytes)'
complete -c husk -n '__husk_command update' -l memory-swap -r -f -d 'Total memory usage (memory + swap); set \'-1\' to enable unlimited swap'
complete -c husk -n '__husk_command update' -l pids-limit -r -f -d 'Maximum number of pids allowed in the container'
complete -c husk -n '__husk_command update' -l l3-cache-schema -r -f -d 'The string of Intel RDT/CAT L3 cache schema'
complete -c husk -n '__husk_command update' -l mem-bw-schema -r -f -d 'The string of Intel RDT/MBA memory bandwidth schema'
complete -c husk -n '__husk_command update; and test (__husk_nargs) -eq 0' -a '(__husk_containers)' -d container

complete -c husk -n '__husk_command help; and test (__husk_nargs) -eq 0' -a 'check checkpoint completion create delete events exec features kill list pause ps restore resume run spec start state update help'
