package main

// TestStrace: Debian's strace is the oracle of "nsvm run --trace". The
// same static program runs under "strace -f -q" and under nsvm, and the
// two traces must be the same after normalising only what must differ:
//
//   - pids: numbered by first appearance (PID1, PID2, ...), in the places
//     a pid is printed (the [pid N] prefix, the results of clone, fork,
//     vfork, clone3, wait4, getpid, gettid, getppid, getpgid and
//     set_tid_address, the pid arguments of kill, tgkill, wait4, getpgid,
//     setpgid and pidfd_open, parent_tid=[N], si_pid=N);
//   - addresses: hex numbers of five or more digits (stack, heap, mmap and
//     image addresses; natively they are randomised);
//   - the bytes getrandom returns;
//   - strace's first line, the execve that nsvm does not make, and nsvm's
//     own messages on stderr (lines that start "nsvm: " and their
//     indented continuation, such as a crash report).
//
// Natively two processes run at once, so the interleaving of their lines
// (and whether strace splits a sleeping call into "<unfinished ...>" and
// "<... resumed>") varies from run to run: the traces are compared task by
// task, each task's split calls joined again and the result column's
// padding removed. Everything else is compared exactly. Separately, each
// trace is checked for what must hold whatever the interleaving: a
// "<... resumed>" line follows an "<unfinished ...>" of its own task, a
// wait4 result comes after the "+++" line of the child it returns, and
// the result column is where strace puts it.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nsvm/nsvm/internal/cbuild"
)

// straceEnv is added to both runs: glibc's rseq registration off, since
// nsvm does not implement rseq (ENOSYS) and the trace would show it.
const straceEnv = "GLIBC_TUNABLES=glibc.pthread.rseq=0"

func TestStrace(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("strace, the oracle of this test, is not installed: %v", err)
		}
		t.Skipf("strace not installed (%v): apt-get install strace", err)
	}
	bin := cbuild.Static(t, filepath.Join("testdata", "strace_tour.c"))

	nat := traceRun(t, strace, "-f", "-q", bin)
	if nat.status != 0 || string(nat.stdout) != "done\n" {
		t.Fatalf("native run under strace: status %d, stdout %q\n%s", nat.status, nat.stdout, clip(nat.stderr))
	}
	natTrace := canonicalTrace(t, "strace", nat.stderr, true)
	// The program must be deterministic task by task, or the comparison
	// would prove nothing.
	again := canonicalTrace(t, "strace", traceRun(t, strace, "-f", "-q", bin).stderr, true)
	if d := traceDiff(natTrace, again); d != "" {
		t.Fatalf("two native traces differ, the test program is not deterministic:\n%s", d)
	}
	checkTraceOrder(t, "strace", nat.stderr)

	requireKVM(t)
	needNSVM(t)
	vm := traceRun(t, nsvmBin, "run", "--timeout", "60s", "--trace", bin)
	if vm.status != nat.status || !bytes.Equal(vm.stdout, nat.stdout) {
		t.Errorf("nsvm: status %d, stdout %q; native: status %d, stdout %q", vm.status, vm.stdout, nat.status, nat.stdout)
	}
	vmTrace := canonicalTrace(t, "nsvm", vm.stderr, false)
	if d := traceDiff(natTrace, vmTrace); d != "" {
		t.Errorf("nsvm --trace differs from strace -f (- strace, + nsvm):\n%s\nnsvm's trace:\n%s", d, clip(vm.stderr))
	}
	checkTraceOrder(t, "nsvm", vm.stderr)
	// nsvm runs one task at a time: the parent is asleep in read, then in
	// wait4, while its first child runs, so those calls must be split.
	for _, want := range []string{"<... read resumed>", "<... wait4 resumed>"} {
		if !strings.Contains(string(vm.stderr), want) {
			t.Errorf("nsvm's trace has no %q line:\n%s", want, clip(vm.stderr))
		}
	}
}

// TestStraceSignals: signals that find their target asleep in a syscall
// (a read restarted after an SA_RESTART handler, a pause failing with
// EINTR, SIGKILL and SIGTERM to children asleep in read) and SIGCHLD,
// shown though ignored. Natively whether a signal finds its target asleep
// depends on timing, so strace's output is recorded once, from a run in
// which it did (testdata/strace_signals.golden; go test -run
// TestStraceSignals -update records it again, from two native runs that
// must agree), and nsvm, which runs one task at a time in that order, is
// compared with the recording, task by task as in TestStrace.
func TestStraceSignals(t *testing.T) {
	bin := cbuild.Static(t, filepath.Join("testdata", "strace_signals.c"))
	golden := filepath.Join("testdata", "strace_signals.golden")
	if *updateGolden {
		strace, err := exec.LookPath("strace")
		if err != nil {
			t.Fatalf("-update needs strace: %v", err)
		}
		a := canonicalTrace(t, "strace", traceRun(t, strace, "-f", "-q", bin).stderr, true)
		b := canonicalTrace(t, "strace", traceRun(t, strace, "-f", "-q", bin).stderr, true)
		if d := traceDiff(a, b); d != "" {
			t.Fatalf("two native traces differ (a signal came early?); try again:\n%s", d)
		}
		if err := os.WriteFile(golden, []byte(a.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	// Where the test binary lies (the cbuild cache) differs from the
	// recording's machine: glibc's readlink of /proc/self/exe is
	// compared without the path.
	want := exeless(parseCanonTrace(string(data)))
	requireKVM(t)
	needNSVM(t)
	vm := traceRun(t, nsvmBin, "run", "--timeout", "60s", "--trace", bin)
	if vm.status != 0 || string(vm.stdout) != "done\n" {
		t.Errorf("nsvm: status %d, stdout %q", vm.status, vm.stdout)
	}
	if d := traceDiff(want, exeless(canonicalTrace(t, "nsvm", vm.stderr, false))); d != "" {
		t.Errorf("nsvm --trace differs from the recorded strace -f (- strace, + nsvm):\n%s\nnsvm's trace:\n%s", d, clip(vm.stderr))
	}
	checkTraceOrder(t, "nsvm", vm.stderr)
	// A thread's exit_group ends both threads: the thread's "+++" line,
	// then the leader's, last, as strace reports a group leader.
	lines := strings.Split(strings.TrimSuffix(string(vm.stderr), "\n"), "\n")
	if n := len(lines); n < 2 || lines[n-1] != "+++ exited with 0 +++" || !prefixRE.MatchString(lines[n-2]) ||
		!strings.HasSuffix(lines[n-2], "] +++ exited with 0 +++") {
		t.Errorf("nsvm's trace does not end with the thread's \"+++\" line, then the leader's:\n%s", clip(vm.stderr))
	}
}

var exeRE = regexp.MustCompile(`^readlink\("/proc/self/exe", .*\) = \d+$`)

// exeless drops the path from readlink("/proc/self/exe") lines.
func exeless(c canonTrace) canonTrace {
	for _, n := range c.order {
		for i, l := range c.lines[n] {
			if exeRE.MatchString(l) {
				c.lines[n][i] = `readlink("/proc/self/exe", EXE, 4096) = LEN`
			}
		}
	}
	return c
}

// String renders c one line per syscall: "PIDn line".
func (c canonTrace) String() string {
	var sb strings.Builder
	for _, n := range c.order {
		for _, l := range c.lines[n] {
			sb.WriteString(n + " " + l + "\n")
		}
	}
	return sb.String()
}

func parseCanonTrace(s string) canonTrace {
	c := canonTrace{lines: map[string][]string{}}
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		n, rest, _ := strings.Cut(l, " ")
		if _, ok := c.lines[n]; !ok {
			c.order = append(c.order, n)
		}
		c.lines[n] = append(c.lines[n], rest)
	}
	return c
}

// traceRun runs name with args, the tests' environment plus straceEnv,
// and an empty stdin.
func traceRun(t *testing.T, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(testEnv(), straceEnv)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	r := result{stdout: stdout.Bytes(), stderr: stderr.Bytes()}
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not finish within %v\n%s", name, args, runTimeout, clip(r.stderr))
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.status = ee.ExitCode()
	default:
		t.Fatalf("running %s %q: %v", name, args, err)
	}
	return r
}

var (
	prefixRE  = regexp.MustCompile(`^\[pid +(\d+)\] `)
	resumedRE = regexp.MustCompile(`^<\.\.\. ([a-z0-9_]+) resumed>`)
	// The result column: ") = ..." with strace's padding.
	resultRE = regexp.MustCompile(`\) +(= [^=]*)$`)
	addrRE   = regexp.MustCompile(`0x[0-9a-f]{5,}`)
	randomRE = regexp.MustCompile(`^getrandom\("[^"]*"(\.\.\.)?,`)
	// Where a pid is printed: results, arguments, fields.
	pidResultRE = regexp.MustCompile(`^(clone|clone3|fork|vfork|wait4|getpid|gettid|getppid|getpgid|set_tid_address)\(.*\) = ([1-9]\d*)$`)
	pidArgRE    = regexp.MustCompile(`^(kill|wait4|getpgid|setpgid|pidfd_open|tgkill)\(([1-9]\d*)`)
	pidArg2RE   = regexp.MustCompile(`^(tgkill|setpgid)\(PID\d+, ([1-9]\d*)`)
	pidFieldRE  = regexp.MustCompile(`(parent_tid=\[|si_pid=)(\d+)`)
	// pthread_join waits on the thread's tid.
	pidFutexRE = regexp.MustCompile(`^futex\(0xADDR, FUTEX_WAIT_BITSET\|FUTEX_CLOCK_REALTIME, ([1-9]\d*),`)
)

// canonTrace is a trace's lines, task by task, in canonical form.
type canonTrace struct {
	order []string            // canonical pid names, by first appearance
	lines map[string][]string // per canonical pid
}

// canonicalTrace parses a strace -f style trace into per-task lines: pids
// renamed, split calls joined, padding and addresses normalised.
func canonicalTrace(t *testing.T, who string, raw []byte, native bool) canonTrace {
	t.Helper()
	text := strings.TrimSuffix(string(raw), "\n")
	var in []string
	for i, l := range strings.Split(text, "\n") {
		switch {
		case native && i == 0 && strings.HasPrefix(l, "execve("):
		case !native && (strings.HasPrefix(l, "nsvm: ") || strings.HasPrefix(l, "  ")):
		default:
			in = append(in, l)
		}
	}
	c := canonTrace{lines: map[string][]string{}}
	names := map[string]string{} // pid number -> PIDn
	name := func(pid string) string {
		if n, ok := names[pid]; ok {
			return n
		}
		n := fmt.Sprintf("PID%d", len(names)+1)
		names[pid] = n
		return n
	}
	// The program's pid is what set_tid_address returns, in glibc's
	// start-up before anything else runs.
	main := ""
	for _, l := range in {
		if m := regexp.MustCompile(`^set_tid_address\(.*\) += (\d+)$`).FindStringSubmatch(l); m != nil {
			main = m[1]
			break
		}
	}
	if main == "" {
		t.Fatalf("%s: no set_tid_address line to tell the program's pid by:\n%s", who, clip(raw))
	}
	name(main)
	live := []string{main}
	pending := map[string]string{} // pid -> the entry of a call left unfinished
	for _, l := range in {
		pid := ""
		if m := prefixRE.FindStringSubmatch(l); m != nil {
			pid, l = m[1], l[len(m[0]):]
			if !slices.Contains(live, pid) {
				live = append(live, pid)
			}
		} else {
			if len(live) != 1 {
				t.Fatalf("%s: a line without [pid N] while %d tasks are traced: %q", who, len(live), l)
			}
			pid = live[0]
		}
		if m := resumedRE.FindStringSubmatch(l); m != nil {
			entry, ok := pending[pid]
			if !ok || !strings.HasPrefix(entry, m[1]+"(") {
				t.Fatalf("%s: %q of pid %s resumes no unfinished %s call", who, l, pid, m[1])
			}
			delete(pending, pid)
			l = entry + l[len(m[0]):]
		}
		if e, ok := strings.CutSuffix(l, " <unfinished ...>"); ok {
			if _, dup := pending[pid]; dup {
				t.Fatalf("%s: pid %s has two unfinished calls", who, pid)
			}
			pending[pid] = e
			continue
		}
		if strings.HasPrefix(l, "+++ ") {
			live = slices.DeleteFunc(live, func(p string) bool { return p == pid })
		}
		l = resultRE.ReplaceAllString(l, ") $1")
		l = addrRE.ReplaceAllString(l, "0xADDR")
		l = randomRE.ReplaceAllString(l, `getrandom("RANDOM",`)
		l = renamePids(l, name)
		n := name(pid)
		if _, ok := c.lines[n]; !ok {
			c.order = append(c.order, n)
		}
		c.lines[n] = append(c.lines[n], l)
	}
	for pid, e := range pending {
		t.Errorf("%s: pid %s's call %q never finished", who, pid, e)
	}
	return c
}

// renamePids replaces the pids printed in line l by their names.
func renamePids(l string, name func(string) string) string {
	sub := func(re *regexp.Regexp, s string) string {
		m := re.FindStringSubmatchIndex(s)
		if m == nil {
			return s
		}
		g := len(m)/2 - 1
		return s[:m[2*g]] + name(s[m[2*g]:m[2*g+1]]) + s[m[2*g+1]:]
	}
	l = sub(pidResultRE, l)
	l = sub(pidArgRE, l)
	l = sub(pidArg2RE, l)
	l = sub(pidFutexRE, l)
	return pidFieldRE.ReplaceAllStringFunc(l, func(f string) string {
		m := pidFieldRE.FindStringSubmatch(f)
		return m[1] + name(m[2])
	})
}

// traceDiff describes how b differs from a, task by task ("" if not).
func traceDiff(a, b canonTrace) string {
	var sb strings.Builder
	if !slices.Equal(a.order, b.order) {
		fmt.Fprintf(&sb, "tasks: %v vs %v\n", a.order, b.order)
	}
	for _, n := range a.order {
		x, y := a.lines[n], b.lines[n]
		if slices.Equal(x, y) {
			continue
		}
		i := 0
		for i < len(x) && i < len(y) && x[i] == y[i] {
			i++
		}
		fmt.Fprintf(&sb, "%s: first difference at its line %d:\n", n, i+1)
		for j := max(0, i-2); j < i; j++ {
			fmt.Fprintf(&sb, "  %s\n", x[j])
		}
		for j := i; j < len(x) && j < i+3; j++ {
			fmt.Fprintf(&sb, "- %s\n", x[j])
		}
		for j := i; j < len(y) && j < i+3; j++ {
			fmt.Fprintf(&sb, "+ %s\n", y[j])
		}
	}
	return sb.String()
}

// checkTraceOrder checks what holds in a trace whatever the scheduling:
// a wait4 returns a child only after the child's "+++" line, and results
// start at column 40 (after one space when the call is longer).
func checkTraceOrder(t *testing.T, who string, raw []byte) {
	t.Helper()
	ended := map[string]bool{}
	for _, l := range strings.Split(string(raw), "\n") {
		body := prefixRE.ReplaceAllString(l, "")
		pid := ""
		if m := prefixRE.FindStringSubmatch(l); m != nil {
			pid = m[1]
		}
		if strings.HasPrefix(body, "+++ ") && pid != "" {
			ended[pid] = true
		}
		if strings.HasPrefix(body, "wait4(") || strings.HasPrefix(body, "<... wait4 resumed>") {
			if m := regexp.MustCompile(`\) += (\d+)$`).FindStringSubmatch(body); m != nil && !ended[m[1]] {
				t.Errorf("%s: wait4 returned %s before its \"+++\" line: %q", who, m[1], l)
			}
		}
		loc := resultRE.FindStringSubmatchIndex(l)
		if loc == nil || strings.HasPrefix(l, "nsvm: ") {
			continue
		}
		call := l[:loc[0]+1] // up to ")"
		want := call + " "
		for len(want) < 40 {
			want += " "
		}
		if got := l[:loc[2]]; got != want {
			t.Errorf("%s: result column of %q: %d, want %d", who, l, len(got), len(want))
		}
	}
}
