# The two commands of the README, plus helpers.
.PHONY: run deps test test-host test-svm test-svm-full fuzz bench images

# staticcheck, pinned; fetched through the Go module proxy on first use.
STATICCHECK := go run honnef.co/go/tools/cmd/staticcheck@v0.8.2

# KVM usable here? Otherwise the KVM tests run in the emulated-SVM machine.
KVM_OK := $(shell [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] && echo yes)

# Run the embedded default guest image.
run:
	go run ./cmd/nsvm run

# The test suite. With a usable /dev/kvm: vet, staticcheck, every package's tests, the
# fuzz budgets. Without one, the host half runs the same tests with the
# KVM tests deferred (kvmtest.DeferEnv), and then every test binary runs
# again inside an emulated AMD SVM machine (test/svm), where they are not.
ifeq ($(KVM_OK),yes)
test: test-host
else
test: test-host test-svm-full
endif

# What the tests need beyond Go and gcc: strace is the oracle of TestStrace.
deps:
	@command -v strace >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends strace; }

test-host: deps
	go vet ./...
	$(STATICCHECK) ./...
	$(if $(KVM_OK),,NSVM_KVM_TESTS=svm) go test -count=1 ./...
	# A fixed number of executions (not a duration: under load the fuzzer's
	# deadline can expire while its workers shut down), bounded by -timeout.
	go test -run='^$$' -fuzz=FuzzParse -fuzztime=150000x -timeout=120s ./guestkernel/loader
	# The syscall table driven with random registers and guest memory: no
	# VMM panic, host memory bounded (checked per input by the target).
	go test -run='^$$' -fuzz='^FuzzSyscalls$$' -fuzztime=20000x -fuzzminimizetime=100x -timeout=300s ./guestkernel

# The emulated-SVM suite: nsvm's tests on hardware-style KVM (SVM, nested
# paging) under QEMU TCG. test-svm is the short run CI adds after the host's
# own KVM tests; test-svm-full runs every test.
test-svm:
	test/svm/suite --quick

test-svm-full:
	test/svm/suite

fuzz:
	go test -run='^$$' -fuzz=FuzzParse -fuzztime=60s ./guestkernel/loader

bench:
	go test -run='^$$' -bench=. -benchtime=2s ./bench/

images:
	$(MAKE) -C images
