package main

// Differential end-to-end tests: every test program is run natively and
// under "nsvm run", and the two runs must agree on stdout (byte for byte)
// and on the exit status (128+N for a process killed by signal N).
//
// TestMain builds the nsvm binary once ($TEST_NSVM_BIN, if set, names a
// prebuilt one to test instead). The nsvm halves need a usable /dev/kvm:
// without one they are skipped, or they fail when the CI environment
// variable is set. The test programs are built with the host's gcc
// (internal/cbuild), and the tests run sequentially.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/nsvm/nsvm/internal/kvmtest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nsvm/nsvm/images"
	"github.com/nsvm/nsvm/internal/cbuild"
)

// runTimeout bounds every command the tests run, so that a hang fails the
// test instead of blocking it. Inside the emulated-SVM machine (test/svm
// sets NSVM_SVM) every instruction is emulated, so the bound is wider there;
// it is a hang detector, not a speed check.
var runTimeout = func() time.Duration {
	if os.Getenv("NSVM_SVM") != "" {
		return 5 * time.Minute
	}
	return 60 * time.Second
}()

const (
	// buildTimeout bounds "go build" of nsvm in TestMain.
	buildTimeout = 5 * time.Minute
	// testVar is added to the environment of both runs.
	testVar = "NSVM_TEST_VAR=some value"
	// binEnv names an environment variable that, when set, gives a
	// prebuilt nsvm binary to test instead of building one.
	binEnv = "TEST_NSVM_BIN"
)

var (
	nsvmBin      string // the nsvm binary built by TestMain
	nsvmBuildErr error  // why it could not be built
)

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "nsvm-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer os.RemoveAll(dir)
		if bin := os.Getenv(binEnv); bin != "" {
			nsvmBin = bin
		} else {
			nsvmBin, nsvmBuildErr = buildNSVM(dir)
		}
		return m.Run()
	}()
	cbuild.Cleanup()
	os.Exit(code)
}

// goTool returns the go command: the one in $PATH (go test puts its own
// first), else the one in $GOROOT.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}

// buildNSVM runs "go build -o dir/nsvm ." in this package's directory (the
// working directory of a test binary is the package directory).
func buildNSVM(dir string) (string, error) {
	pkgDir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "nsvm")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(), "build", "-o", out, ".")
	cmd.Dir = pkgDir
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build -o %s . (in %s): %v\n%s", out, pkgDir, err, output)
	}
	return out, nil
}

// needNSVM fails the test when TestMain could not build nsvm.
func needNSVM(t *testing.T) {
	t.Helper()
	if nsvmBuildErr != nil {
		t.Fatalf("nsvm binary not available: %v", nsvmBuildErr)
	}
}

// testEnv is the environment of both runs: ours plus testVar.
func testEnv() []string {
	name, _, _ := strings.Cut(testVar, "=")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, name+"=") {
			env = append(env, kv)
		}
	}
	return append(env, testVar)
}

// result is the outcome of one run.
type result struct {
	stdout, stderr []byte
	status         int  // exit status, or 128+N when killed by signal N
	signaled       bool // killed by a signal
	elapsed        time.Duration
}

// run runs name with args, testEnv() and an empty stdin (/dev/null), and
// fails the test if it does not finish within runTimeout.
func run(t *testing.T, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = testEnv()
	cmd.Stdin = nil
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.Bytes(), stderr: stderr.Bytes(), elapsed: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not finish within %v\nstdout:\n%s\nstderr:\n%s",
			name, args, runTimeout, clip(r.stdout), clip(r.stderr))
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			r.signaled = true
			r.status = 128 + int(ws.Signal())
		} else {
			r.status = ws.ExitStatus()
		}
	default:
		t.Fatalf("running %s %q: %v", name, args, err)
	}
	return r
}

// runNative runs a test program directly.
func runNative(t *testing.T, bin string, args ...string) result {
	t.Helper()
	return run(t, bin, args...)
}

// runNSVM runs "nsvm args...". nsvm reports a guest killed by signal N
// with exit status 128+N; nsvm itself being killed is a failure.
func runNSVM(t *testing.T, args ...string) result {
	t.Helper()
	needNSVM(t)
	r := run(t, nsvmBin, args...)
	if r.signaled {
		t.Fatalf("nsvm %q was killed by a signal (status %d)\nstdout:\n%s\nstderr:\n%s",
			args, r.status, clip(r.stdout), clip(r.stderr))
	}
	return r
}

// clip shortens long output for failure messages.
func clip(b []byte) string {
	const max = 4000
	if len(b) == 0 {
		return "(empty)"
	}
	if len(b) > max {
		return fmt.Sprintf("%s\n... (%d more bytes)", b[:max], len(b)-max)
	}
	return string(b)
}

// lineDiff describes where a and b first differ, with a little context.
func lineDiff(a, b []byte) string {
	al := strings.SplitAfter(string(a), "\n")
	bl := strings.SplitAfter(string(b), "\n")
	i := 0
	for i < len(al) && i < len(bl) && al[i] == bl[i] {
		i++
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "first difference at line %d:\n", i+1)
	for j := max(0, i-3); j < i; j++ {
		fmt.Fprintf(&sb, "  %q\n", al[j])
	}
	for j := i; j < len(al) && j < i+5; j++ {
		fmt.Fprintf(&sb, "- %q\n", al[j])
	}
	for j := i; j < len(bl) && j < i+5; j++ {
		fmt.Fprintf(&sb, "+ %q\n", bl[j])
	}
	sb.WriteString("(- native, + nsvm)")
	return sb.String()
}

// compare checks that the nsvm run vm matches the native run nat.
func compare(t *testing.T, nat, vm result) {
	t.Helper()
	if !bytes.Equal(nat.stdout, vm.stdout) {
		t.Errorf("stdout differs\n%s\nnative stdout:\n%s\nnsvm stdout:\n%s\nnsvm stderr:\n%s",
			lineDiff(nat.stdout, vm.stdout), clip(nat.stdout), clip(vm.stdout), clip(vm.stderr))
	}
	if nat.status != vm.status {
		t.Errorf("exit status: native %d, nsvm %d\nnsvm stderr:\n%s", nat.status, vm.status, clip(vm.stderr))
	}
}

// crash describes the crash report nsvm must print for a guest killed by
// a fault: the signal's name and, on the line marked "=>", the faulting
// instruction's mnemonic (GNU or Intel syntax, any case).
type crash struct {
	signal   string
	mnemonic *regexp.Regexp
	// trap: the fault is a trap (int3), so the reported RIP is that of the
	// next instruction; the mnemonic may be on the line before "=>".
	trap bool
}

var (
	crashSEGV = &crash{signal: "SIGSEGV", mnemonic: regexp.MustCompile(`(?i)\bmov`)}
	crashILL  = &crash{signal: "SIGILL", mnemonic: regexp.MustCompile(`(?i)\bud2\b`)}
	crashFPE  = &crash{signal: "SIGFPE", mnemonic: regexp.MustCompile(`(?i)\bi?div`)}
	crashTRAP = &crash{signal: "SIGTRAP", mnemonic: regexp.MustCompile(`(?i)\bint\s*(3|\$?0x3)\b`), trap: true}
)

// checkCrash checks nsvm's crash report on stderr.
func checkCrash(t *testing.T, c *crash, stderr []byte) {
	t.Helper()
	s := string(stderr)
	if !strings.Contains(s, c.signal) {
		t.Errorf("crash report does not name %s\nnsvm stderr:\n%s", c.signal, clip(stderr))
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if !strings.Contains(l, "=>") {
			continue
		}
		if c.mnemonic.MatchString(l) || (c.trap && i > 0 && c.mnemonic.MatchString(lines[i-1])) {
			return
		}
		t.Errorf("crash report marks %q as the faulting instruction; want one matching %v\nnsvm stderr:\n%s",
			strings.TrimSpace(l), c.mnemonic, clip(stderr))
		return
	}
	t.Errorf("crash report has no disassembly line marked \"=>\" (want one matching %v)\nnsvm stderr:\n%s",
		c.mnemonic, clip(stderr))
}

// diffCase is one differential test: testdata/<src>.c run with args.
type diffCase struct {
	name       string
	src        string
	args       []string
	wantStatus int    // the native exit status (checks the test program)
	wantOut    string // a string the native stdout must contain
	crash      *crash // crash report nsvm must print, if any
}

var diffCases = []diffCase{
	{name: "printf_malloc", src: "printf_malloc", args: []string{"one", "two words", ""},
		wantStatus: 3, wantOut: "NSVM_TEST_VAR=some value\n"},
	{name: "args_env", src: "args_env",
		args:       []string{"alpha", "", "with space", "--not-an-nsvm-flag", "ünïcödé", strings.Repeat("x", 300)},
		wantStatus: 0, wantOut: "  NSVM_TEST_VAR=some value\n"},
	{name: "efault", src: "efault", wantStatus: 0, wantOut: "still alive\n"},
	{name: "mmap_prot", src: "mmap_prot", wantStatus: 0, wantOut: "sbrk shrink ok\n"},
	{name: "segv_ro", src: "segv_ro", wantStatus: 128 + 11, wantOut: "writing to read-only page\n", crash: crashSEGV},
	{name: "misc", src: "misc", wantStatus: 0, wantOut: "pagesize=4096\n"},
	{name: "cpu_features", src: "cpu_features", wantStatus: 0, wantOut: "sse2=1\n"},
	{name: "remap_protect", src: "remap_protect", wantStatus: 128 + 11, wantOut: "writing to the read-only page\n", crash: crashSEGV},
	{name: "segv_unmapped", src: "segv_unmapped", wantStatus: 128 + 11, wantOut: "storing to unmapped address\n", crash: crashSEGV},
	{name: "exit_0", src: "exit_codes", args: []string{"0"}, wantStatus: 0},
	{name: "exit_1", src: "exit_codes", args: []string{"1"}, wantStatus: 1},
	{name: "exit_42", src: "exit_codes", args: []string{"42"}, wantStatus: 42},
	{name: "exit_255", src: "exit_codes", args: []string{"255"}, wantStatus: 255},
	// Process creation, exit and wait (fork/vfork/clone/clone3, wait4,
	// kill, pipes, futex). The fpu_* programs take an optional cap on the
	// register sets they load: 0 sse, 1 avx (default: all the CPU has).
	{name: "fpu_inherit", src: "fpu_inherit", wantStatus: 0,
		wantOut: "all rounds: child state == parent state == loaded values\n"},
	{name: "fpu_inherit_sse", src: "fpu_inherit", args: []string{"0"}, wantStatus: 0,
		wantOut: "register sets tested: x87 sse\n"},
	{name: "fpu_inherit_avx", src: "fpu_inherit", args: []string{"1"}, wantStatus: 0,
		wantOut: "all rounds: child state == parent state == loaded values\n"},
	{name: "fpu_isolate", src: "fpu_isolate", wantStatus: 0,
		wantOut: "all rounds: parent and child FPU states are isolated\n"},
	{name: "fpu_isolate_sse", src: "fpu_isolate", args: []string{"0"}, wantStatus: 0,
		wantOut: "all rounds: parent and child FPU states are isolated\n"},
	{name: "fork_life", src: "fork_life", wantStatus: 0,
		wantOut: "tree depth 3 fanout 2 (root status = node count): waitpid returned the child: yes, exited with 15\n"},
	{name: "vfork_mem", src: "vfork_mem", wantStatus: 0,
		wantOut: "child finished all 50 steps before the parent resumed: yes (50)\n"},
	{name: "kill_children", src: "kill_children", wantStatus: 0,
		wantOut: "NULL store: waitpid ok: yes, WIFSIGNALED, WTERMSIG=11 (SIGSEGV)\n"},
	{name: "clone_flags", src: "clone_flags", wantStatus: 0, wantOut: "unexpected successes: 0\n"},
	{name: "threads", src: "threads", wantStatus: 5, wantOut: "counter: 4000 (want 4000)\n"},
	{name: "preempt", src: "preempt", wantStatus: 0, wantOut: "busy child killed by signal 9\n"},
	{name: "ns_scene", src: "ns_scene", wantStatus: 0, wantOut: "scene ready, holding an fd on my uts namespace: yes\n"},
	{name: "ns_ipc", src: "ns_ipc", wantStatus: 0, wantOut: "new ipc ns: msgget(key): ENOENT\n"},
	{name: "ns_setns_pidfd", src: "ns_setns_pidfd", wantStatus: 0, wantOut: "hostname after joining: pidfd-target\n"},
	{name: "signals", src: "signals", wantStatus: 128 + 6, wantOut: "SIGABRT handler ran\n"},
	{name: "fork_loop", src: "fork_loop", wantStatus: 0, wantOut: "tree: 64 processes counted, 0 errors\n"},
	// Namespaces (nsproxy, unshare, setns, clone with CLONE_NEW*, UTS and
	// PID namespaces, /proc/<pid>/ns, user namespaces). Each program
	// counts its unexpected results natively and prints the total last.
	{name: "ns_errno", src: "ns_errno", wantStatus: 0,
		wantOut: "unprivileged child: exit status 0\nunexpected results: 0\n"},
	{name: "ns_uts", src: "ns_uts", wantStatus: 0,
		wantOut: "parent hostname unchanged: yes\nparent domainname unchanged: yes\nunexpected results: 0\n"},
	{name: "ns_pid", src: "ns_pid", wantStatus: 0,
		wantOut: "clone(SIGCHLD) into the dead namespace: errno=ENOMEM\nchild: exit status 0\nunexpected results: 0\n"},
	{name: "ns_pid_nest", src: "ns_pid_nest", wantStatus: 0, wantOut: "32 levels ok, 33rd: ENOSPC\n"},
	{name: "ns_proc", src: "ns_proc", wantStatus: 0,
		wantOut: "parent at the end: time_for_children: same\nunexpected results: 0\n"},
	{name: "ns_user", src: "ns_user", wantStatus: 0, wantOut: "unexpected results: 0\n"},
	{name: "caps", src: "caps", wantStatus: 0,
		wantOut: "child: exit status 0\nparent's sets unchanged by the child: yes\nunexpected results: 0\n"},
	{name: "ns_status", src: "ns_status", wantStatus: 0,
		wantOut: "grandchild NSpid first == fork() value in the child: yes\nchild: exit status 0\nunexpected results: 0\n"},
}

// checkNative runs bin natively twice, checks that the output is
// deterministic and that the status and output are as expected, and
// returns the first run.
func checkNative(t *testing.T, bin string, args []string, wantStatus int, wantOut string) result {
	t.Helper()
	nat := runNative(t, bin, args...)
	again := runNative(t, bin, args...)
	if !bytes.Equal(nat.stdout, again.stdout) || nat.status != again.status {
		t.Fatalf("native runs are not deterministic (status %d vs %d)\n%s", nat.status, again.status,
			lineDiff(nat.stdout, again.stdout))
	}
	if nat.status != wantStatus {
		t.Fatalf("native exit status %d, want %d\nstdout:\n%s\nstderr:\n%s",
			nat.status, wantStatus, clip(nat.stdout), clip(nat.stderr))
	}
	if !strings.Contains(string(nat.stdout), wantOut) {
		t.Fatalf("native stdout lacks %q\nstdout:\n%s\nstderr:\n%s", wantOut, clip(nat.stdout), clip(nat.stderr))
	}
	return nat
}

// TestDiff runs the programs in testdata natively and under nsvm.
func TestDiff(t *testing.T) {
	for _, tc := range diffCases {
		t.Run(tc.name, func(t *testing.T) {
			bin := cbuild.Static(t, filepath.Join("testdata", tc.src+".c"))
			nat := checkNative(t, bin, tc.args, tc.wantStatus, tc.wantOut)
			requireKVM(t)
			vm := runNSVM(t, append([]string{"run", "--timeout", "30s", bin}, tc.args...)...)
			compare(t, nat, vm)
			if tc.crash != nil {
				checkCrash(t, tc.crash, vm.stderr)
			}
		})
	}
}

// imageDir is the absolute path of images/bin.
func imageDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("..", "..", "images", "bin"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// imageExpect gives each embedded image's native status, a line of its
// output and, for the faulters, the crash report nsvm must print.
var imageExpect = map[string]struct {
	status int
	out    string
	crash  *crash
}{
	"hello":      {0, "hello from nsvm: a static glibc program in a KVM micro-VM\n", nil},
	"hello-raw":  {0, "hello from nsvm (raw syscalls)\n", nil},
	"fault-null": {128 + 11, "about to store to NULL\n", crashSEGV},
	"fault-ud2":  {128 + 4, "about to execute ud2\n", crashILL},
	"fault-div0": {128 + 8, "about to divide by zero\n", crashFPE},
	"fault-int3": {128 + 5, "about to execute int3\n", crashTRAP},
}

// TestImages runs every image in images/bin natively and under nsvm; the
// default image, the tour, has its own test (TestTour, tour_test.go).
func TestImages(t *testing.T) {
	dir := imageDir(t)
	for _, name := range images.Names() {
		if name == images.DefaultName {
			continue
		}
		t.Run(name, func(t *testing.T) {
			want, ok := imageExpect[name]
			if !ok {
				t.Fatalf("no expectations for image %q; add it to imageExpect", name)
			}
			bin := filepath.Join(dir, name)
			args := []string{"a", "b c"}
			nat := checkNative(t, bin, args, want.status, want.out)
			requireKVM(t)
			vm := runNSVM(t, append([]string{"run", bin}, args...)...)
			compare(t, nat, vm)
			if want.crash != nil {
				checkCrash(t, want.crash, vm.stderr)
			}
		})
	}
}

// TestTimeout checks that --timeout stops a guest that spins forever.
func TestTimeout(t *testing.T) {
	bin := cbuild.Static(t, filepath.Join("testdata", "spin.c"))
	requireKVM(t)
	vm := runNSVM(t, "run", "--timeout", "2s", bin)
	if vm.status != 124 {
		t.Errorf("exit status %d, want 124 (guest stopped by --timeout)", vm.status)
	}
	if !strings.Contains(strings.ToLower(string(vm.stderr)), "timeout") {
		t.Errorf("stderr does not mention \"timeout\"")
	}
	if string(vm.stdout) != "spinning\n" {
		t.Errorf("stdout %q, want %q", vm.stdout, "spinning\n")
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", clip(vm.stdout), clip(vm.stderr))
	}
}

// patchELF returns a copy of a static ELF64 binary after fn has edited its
// PT_LOAD program headers (in file order) in place.
func patchELF(t *testing.T, orig []byte, fn func(loads [][]byte)) []byte {
	t.Helper()
	b := bytes.Clone(orig)
	le := binary.LittleEndian
	phoff := le.Uint64(b[32:])
	phentsize := uint64(le.Uint16(b[54:]))
	phnum := uint64(le.Uint16(b[56:]))
	var loads [][]byte
	for k := uint64(0); k < phnum; k++ {
		ph := b[phoff+k*phentsize : phoff+(k+1)*phentsize]
		if le.Uint32(ph[0:]) == 1 { // PT_LOAD
			loads = append(loads, ph)
		}
	}
	if len(loads) < 2 {
		t.Fatalf("static binary has %d PT_LOAD segments, want at least 2", len(loads))
	}
	fn(loads)
	return b
}

// TestBadInput checks that nsvm refuses programs it cannot run with exit
// status 126 and a one-line error. These runs need no KVM: nsvm checks
// the ELF file before it opens /dev/kvm.
func TestBadInput(t *testing.T) {
	static := cbuild.Static(t, filepath.Join("testdata", "exit_codes.c"))
	orig, err := os.ReadFile(static)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	cases := []struct {
		name    string
		keyword string
		make    func(t *testing.T) []byte // contents; nil: use file
		file    func(t *testing.T) string
	}{
		{name: "dynamic", keyword: "dynamic",
			file: func(t *testing.T) string { return cbuild.Dynamic(t, filepath.Join("testdata", "exit_codes.c")) }},
		{name: "truncated", keyword: "truncated",
			make: func(t *testing.T) []byte { return bytes.Clone(orig[:100]) }},
		{name: "not_elf", keyword: "not an ELF",
			make: func(t *testing.T) []byte { return []byte("this is a text file, not a program\n") }},
		{name: "elf32", keyword: "32-bit",
			make: func(t *testing.T) []byte {
				b := bytes.Clone(orig)
				b[4] = 1 // EI_CLASS = ELFCLASS32
				return b
			}},
		{name: "overlap", keyword: "overlap",
			make: func(t *testing.T) []byte {
				// The second PT_LOAD's p_vaddr := the first's.
				return patchELF(t, orig, func(loads [][]byte) {
					le.PutUint64(loads[1][16:], le.Uint64(loads[0][16:]))
				})
			}},
		{name: "huge", keyword: "large",
			make: func(t *testing.T) []byte {
				// The last PT_LOAD's p_memsz := 1<<50, so that it
				// overlaps nothing but cannot fit in the address space.
				return patchELF(t, orig, func(loads [][]byte) {
					le.PutUint64(loads[len(loads)-1][40:], 1<<50)
				})
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var prog string
			if tc.file != nil {
				prog = tc.file(t)
			} else {
				prog = filepath.Join(t.TempDir(), tc.name)
				if err := os.WriteFile(prog, tc.make(t), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			vm := runNSVM(t, "run", prog)
			checkRefusal(t, vm, 126, tc.keyword)
		})
	}
}

// checkRefusal checks that nsvm refused to run a program: the exit status,
// nothing on stdout, and one line on stderr that starts with "nsvm: " and
// contains keyword (any case; "" for no keyword), without a Go panic.
func checkRefusal(t *testing.T, vm result, status int, keyword string) {
	t.Helper()
	msg := strings.TrimSpace(string(vm.stderr))
	if vm.status != status {
		t.Errorf("exit status %d, want %d", vm.status, status)
	}
	if len(vm.stdout) != 0 {
		t.Errorf("stdout not empty: %q", clip(vm.stdout))
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("stderr has more than one line")
	}
	if !strings.HasPrefix(msg, "nsvm: ") {
		t.Errorf("stderr does not start with \"nsvm: \"")
	}
	if !strings.Contains(strings.ToLower(msg), strings.ToLower(keyword)) {
		t.Errorf("stderr does not mention %q", keyword)
	}
	if strings.Contains(msg, "panic") || strings.Contains(msg, "goroutine") {
		t.Errorf("stderr shows a Go panic")
	}
	if t.Failed() {
		t.Logf("nsvm stderr:\n%s", clip(vm.stderr))
	}
}

// TestMissingProgram checks exit status 127 for a program that does not
// exist.
func TestMissingProgram(t *testing.T) {
	vm := runNSVM(t, "run", filepath.Join(t.TempDir(), "no-such-program"))
	checkRefusal(t, vm, 127, "")
}

func requireKVM(tb testing.TB) { kvmtest.Require(tb) }
