# husk — see README.md.
GO ?= go
PREFIX ?= /usr/local
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null)
VERSION ?= $(shell cat VERSION 2>/dev/null || echo 0.1.0-dev)
# A static, non-PIE, stripped binary starts faster: no dynamic loader, no
# relocations, fewer page faults (husk starts twice per container). cgo is
# needed for the nsenter C stage; osusergo/netgo keep glibc's NSS out.
# The code and the read-only data start on 2 MiB boundaries (max-page-size,
# separate-code; the gaps are holes in the file), and the C code comes
# first in the code (tools/husk.ld). tools/hugetext (run below) reads the
# whole 2 MiB pieces of the code and of the Go pclntab into the page cache
# in 2 MiB folios, each then mapped with one page-table entry: a command
# touches ~1,000 fewer pages for the first time (docs/performance.md). All
# the C a waiting init runs is in the first of them; the rest of the file,
# what else it maps, is read in 4 KiB folios.
# A linker without INSERT scripts (gold): make HUGE_LDFLAGS= (no huge pages).
HUGE_LDFLAGS ?= -Wl,-z,max-page-size=0x200000 -Wl,-z,separate-code -Wl,-T,$(CURDIR)/tools/husk.ld
LDFLAGS := -s -w -X main.gitCommit=$(COMMIT) -X main.version=$(VERSION) \
	-extldflags '-static $(HUGE_LDFLAGS)'
# encoding/json backed by json/v2: the first decode of a config (type
# caches built from scratch in every process) is ~0.5 ms cheaper, twice per
# container. The v1 API and semantics are unchanged. json/v2 also gives
# jsontext, which the generated decoders (libcontainer/jsonfast) read with.
# nogreenteagc: Green Tea's per-span inline mark bits are written when a
# span is first used, one more page fault per span; husk's commands run
# with the GC off and fault in every page they touch (~60 fewer faults for
# `husk state`, where a fault costs 10-20 us on a VM).
export GOEXPERIMENT := jsonv2,nogreenteagc
# urfave_cli_no_docs leaves out the man/markdown generators (and their init).
TAGS := urfave_cli_no_docs osusergo netgo
# The reference runtime (runc 1.5.3, built by contrib/deps.sh): tests run
# against it too, and the benchmark compares with it.
RUNC_REF ?= /usr/local/libexec/husk-test/runc
export RUNC_REF
GOFLAGS_BUILD := -trimpath -buildmode=exe -tags "$(TAGS)" -ldflags "$(LDFLAGS)"

.PHONY: all husk hugetext deps demo install install-docs man completions test unit lint integration integration-runc stress stress-compare differential fuzz clients conformance conformance-compare vm-test vm-clients bench clean

all: husk

husk:
	CGO_ENABLED=1 $(GO) build $(GOFLAGS_BUILD) -o husk .
	$(call hugetext,husk)

# After a reboot: make hugetext HUSK=/usr/local/sbin/husk (default ./husk).
# HUGETEXT_FLAGS=-check only says how much is in 2 MiB pages now.
hugetext:
	$(call hugetext,$(or $(HUSK),husk),$(HUGETEXT_FLAGS))

# Reads a husk binary's code and pclntab into the page cache in 2 MiB
# folios where the host can (best effort: never fails the build; a reboot
# undoes it); $(2): more flags (-check).
hugetext = cd tools && $(GO) run ./hugetext $(2) -sections .init,.plt,.text.c,.text,.gopclntab $(abspath $(1)) || true

# Installs missing build/test packages (Debian/Ubuntu, as root).
deps:
	sh contrib/deps.sh $(DEPS)

# Builds husk, makes a busybox bundle and runs a container from it.
demo: deps husk
	sh contrib/demo.sh ./husk

MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d

install: husk install-docs
	install -D -m 0755 husk $(DESTDIR)$(PREFIX)/sbin/husk
	$(call hugetext,$(DESTDIR)$(PREFIX)/sbin/husk)

# The man pages and the shell completion scripts, as committed.
install-docs:
	install -d $(DESTDIR)$(MANDIR)/man8
	install -m 0644 man/man8/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -D -m 0644 contrib/completions/bash/husk $(DESTDIR)$(BASHCOMPDIR)/husk
	install -D -m 0644 contrib/completions/zsh/_husk $(DESTDIR)$(ZSHCOMPDIR)/_husk
	install -D -m 0644 contrib/completions/fish/husk.fish $(DESTDIR)$(FISHCOMPDIR)/husk.fish

# Rewrites man/man8 and contrib/completions from the command definitions
# (docgen_test.go; `make unit` fails while they are stale). Same as `go
# generate .`.
man completions:
	$(GO) test -count=1 -run '^(TestManPages|TestCompletionScripts)$$' . -update

# The tests of every package but the suites that run real containers as
# root against a built binary (their own targets below; tests/conformance
# is a module of its own), with the race detector.
unit:
	$(GO) vet ./...
	cd tests/conformance && $(GO) vet ./...
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -Ev '/tests/(integration|clients|stress|differential)$$')
	cd tools && $(GO) vet ./hugetext && $(GO) test -count=1 ./hugetext

# staticcheck and deadcode (pinned in tools/go.mod), clang-format for the
# C, shellcheck for the scripts; tools/lint-known lists the findings let
# through for now (tools/lint.sh).
lint:
	GO="$(GO)" TAGS="$(TAGS)" sh tools/lint.sh

integration: husk
	HUSK_BINARY=$(CURDIR)/husk HUSK_REFERENCE_RUNC=$(RUNC_REF) $(GO) test -count=1 -timeout 20m ./tests/integration/

# The same integration tests against the reference runc 1.5.3: every
# behaviour they check is runc's (where runc differs, the test says why).
integration-runc:
	HUSK_BINARY=$(RUNC_REF) HUSK_REFERENCE_RUNC=$(RUNC_REF) $(GO) test -count=1 -timeout 20m ./tests/integration/

# containerd, podman and docker (Debian's packages) driving husk end to end
# (tests/clients), and critest against containerd's CRI plugin with runc
# 1.5.3 and with husk (TestCritest); CLIENT_TESTS selects tests (-run). The
# tests' verdicts and critest's counts are printed; everything on a failure.
CLIENT_TESTS ?= .
clients: husk
	@log=$$(mktemp); HUSK_BINARY=$(CURDIR)/husk HUSK_REFERENCE_RUNC=$(RUNC_REF) \
		$(GO) test -count=1 -timeout 45m -v -run '$(CLIENT_TESTS)' ./tests/clients/ >$$log 2>&1; rc=$$?; \
	if [ $$rc = 0 ]; then grep -E '^(--- |ok|PASS)|critest (husk|runc):' $$log; else cat $$log; fi; rm -f $$log; exit $$rc

# The OCI validation suite (tests/conformance, pinned in its go.mod), held
# to its list of known failures. CONFORMANCE_TESTS selects programs.
conformance: husk
	cd tests/conformance && CONFORMANCE_RUNTIME=$(CURDIR)/husk $(GO) test -count=1 -timeout 60m

# The suite's counts for husk, runc and crun side by side (crun 1.x needs
# the hybrid host's cgroup2 controller list hidden).
conformance-compare: husk
	for r in $(CURDIR)/husk $(RUNC_REF) /usr/bin/crun; do \
		cd $(CURDIR)/tests/conformance && CONFORMANCE_RUNTIME=$$r CONFORMANCE_REPORT=1 \
		CONFORMANCE_MASK_CGROUP2=$$(case $$r in *crun) echo 1;; esac) \
		$(GO) test -count=1 -timeout 60m | grep '^conformance:'; \
	done

# The cgroup tests in throwaway qemu guests whose kernel has only cgroup v2
# (tests/vm/README.md): once with husk's cgroupfs driver in a guest without
# an init system, once with --systemd-cgroup under systemd
# (HUSK_TEST_SYSTEMD=1). VM_TESTS selects the tests (-test.run),
# VM_MODES the guests, VM_RUNTIME the binary under test. The checkpoint
# tests (CRIU, which this host's kernel cannot run) run in the plain guest
# only: VM_SYSTEMD_SKIP leaves them out of the slower systemd guest.
VM_TESTS ?= Cgroup|Resources|Update|Pause|Resume|Events|Ps|Exec|Kill|Delete|Run|Systemd|Checkpoint|Restore
VM_SYSTEMD_SKIP ?= Checkpoint|Restore
VM_MODES ?= plain systemd
VM_RUNTIME ?= $(CURDIR)/husk
VM_DIR := $(CURDIR)/.vm-test
export HUSK_VM_TIMEOUT ?= 900

vm-test: husk
	rm -rf $(VM_DIR) && mkdir -p $(VM_DIR)/helpers
	cp $(VM_RUNTIME) /bin/busybox tests/vm/itest.sh $(VM_DIR)/
	mkdir -p $(VM_DIR)/ref && cp $(RUNC_REF) $(VM_DIR)/ref/runc
	sh tests/vm/criu.sh $(VM_DIR)
	$(GO) test -c -tags "$(TAGS)" -ldflags "-extldflags -static" -o $(VM_DIR)/integration.test ./tests/integration/
	for d in tests/integration/testdata/*/; do CGO_ENABLED=0 $(GO) build -o $(VM_DIR)/helpers/ ./$$d || exit 1; done
	rc=0; for m in $(VM_MODES); do \
		sd=; sk=; [ $$m = systemd ] && sd=HUSK_TEST_SYSTEMD=1 && sk='$(VM_SYSTEMD_SKIP)'; \
		bash tests/vm/run.sh $${sd:+--systemd} $(VM_DIR) itest.sh HUSK_BINARY=./$(notdir $(VM_RUNTIME)) \
			HUSK_REFERENCE_RUNC=/vmrun/dir/ref/runc $$sd \
			-test.run '$(VM_TESTS)' $${sk:+-test.skip "$$sk"} -test.timeout 15m || rc=1; \
	done; exit $$rc

# tests/clients' checkpoint/restore tests (podman's and containerd's, with
# the runtime under test and CRIU) in the systemd guest of tests/vm, whose
# image has podman, conmon and containerd: on a host whose kernel CRIU
# cannot work with they skip. VM_CLIENT_TESTS selects the tests (-test.run).
VM_CLIENT_TESTS ?= Checkpoint
VM_CLIENTS_DIR := $(CURDIR)/.vm-clients

vm-clients: husk
	rm -rf $(VM_CLIENTS_DIR) && mkdir -p $(VM_CLIENTS_DIR)/tests/clients $(VM_CLIENTS_DIR)/docs
	cp $(VM_RUNTIME) /bin/busybox tests/vm/ctest.sh $(VM_CLIENTS_DIR)/
	cp docs/*.md $(VM_CLIENTS_DIR)/docs/
	sh tests/vm/criu.sh $(VM_CLIENTS_DIR)
	CGO_ENABLED=0 $(GO) test -c -o $(VM_CLIENTS_DIR)/tests/clients/clients.test ./tests/clients/
	bash tests/vm/run.sh --systemd $(VM_CLIENTS_DIR) ctest.sh HUSK_BINARY=/vmrun/dir/$(notdir $(VM_RUNTIME)) \
		-test.run '$(VM_CLIENT_TESTS)' -test.timeout 15m

# Everything CI runs: needs root on Linux. SKIP_VM=1 leaves out vm-test
# and vm-clients.
test: DEPS = --clients
test: deps
	$(MAKE) unit lint fuzz integration integration-runc stress differential conformance clients $(if $(SKIP_VM),,vm-test vm-clients)

# Kill husk at random instants, race commands on one id, run lifecycles in
# parallel and soak it (tests/stress): nothing may be left behind. CI runs
# small counts; STRESS_KILLS=1000 STRESS_SOAK=1000 is the full run.
STRESS_ENV ?= STRESS_KILLS=110 STRESS_RACES=5 STRESS_WORKERS=8 STRESS_CYCLES=3 STRESS_SOAK=60
stress: husk
	$(STRESS_ENV) STRESS_RUNTIME=$(CURDIR)/husk $(GO) test -count=1 -timeout 60m -v -run '$(STRESS_TESTS)' ./tests/stress/ >.stress.log 2>&1; \
		rc=$$?; grep -E '^(stress:|---|FAIL|ok|panic)|_test.go' .stress.log; rm -f .stress.log; exit $$rc

# The same suite for husk, runc 1.5.3 and crun (crun 1.x needs the hybrid
# host's cgroup2 controller list hidden: done in a private mount namespace).
stress-compare: husk
	for r in $(CURDIR)/husk $(RUNC_REF) /usr/bin/crun; do \
		unshare -m --propagation private sh -c 'f=/sys/fs/cgroup/unified/cgroup.controllers; \
			case $$0 in *crun) [ -n "$$(cat $$f)" ] && mount --bind /dev/null $$f;; esac; \
			$(STRESS_ENV) STRESS_RUNTIME=$$0 $(GO) test -count=1 -timeout 0 -v -run "$(STRESS_TESTS)" ./tests/stress/' $$r \
			| grep -E '^(stress:|---|FAIL|ok|panic)'; \
	done

# The same generated configs (valid, odd and broken; tests/differential)
# run by husk and by runc 1.5.3: husk refuses nothing runc runs without a
# reason of this host's (allow-listed), every refusal is one line naming
# the field, neither leaves anything behind. DIFF_CONFIGS and DIFF_SEED
# choose the configs; DIFF_ONLY=N[,M] or DIFF_MATCH=regexp rerun some.
DIFF_CONFIGS ?= 300
DIFF_SEED ?= 1
differential: husk
	@log=$$(mktemp); DIFF_CONFIGS=$(DIFF_CONFIGS) DIFF_SEED=$(DIFF_SEED) DIFF_HUSK=$(CURDIR)/husk DIFF_RUNC=$(RUNC_REF) \
		$(GO) test -count=1 -timeout 60m -v -run TestDifferential ./tests/differential/ >$$log 2>&1; rc=$$?; \
	grep -E '^(differential:|---|FAIL|ok|panic)|_test.go' $$log; rm -f $$log; exit $$rc

# Go native fuzzing of every decoder of outside input: config.json, the
# bootstrap message and the init's plan (both through the C decoders too),
# the init protocol's frames and errors, state.json, and the generated JSON
# decoders (jsonfast) against encoding/json. FUZZTIME per target; the corpus
# found is committed under each package's testdata/fuzz.
FUZZTIME ?= 10s
FUZZ_TARGETS := ./libcontainer/specconv:FuzzLoadConvert ./libcontainer/nsenter:FuzzParse \
	./libcontainer/initproto:FuzzRead ./libcontainer/initproto:FuzzDecodeError ./libcontainer:FuzzLoadState \
	./libcontainer/initproto:FuzzDecodePlan ./libcontainer/nsenter:FuzzPlanC \
	./libcontainer/specconv:FuzzDecoders ./libcontainer:FuzzStateDecoder ./libcontainer/specconv:FuzzSemverMajor \
	./libcontainer/seccomp:FuzzDecodeCached
fuzz:
	GO="$(GO)" FUZZTIME=$(FUZZTIME) sh tools/fuzz.sh $(FUZZ_TARGETS)

# Ends by saying whether husk's code was still in 2 MiB pages (it is
# slower without them: docs/performance.md).
bench: husk
	bash tests/bench/bench.sh $(BENCH_FLAGS) husk=./husk runc=$(RUNC_REF) /usr/bin/crun
	$(call hugetext,husk,-check)

clean:
	rm -rf husk $(VM_DIR) $(VM_CLIENTS_DIR)
