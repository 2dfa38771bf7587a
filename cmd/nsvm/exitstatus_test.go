package main

// The exit-status contract of the README's table, row by row:
//
//	0-255  the guest's own status          TestExitStatusGuest (differential)
//	128+N  killed by signal N              TestExitStatusGuest (differential)
//	124    --timeout, or a hung guest      TestExitStatusHang (differential against timeout(1))
//	125    nsvm failed, or a usage error   TestExitStatusNSVMFailed, TestExitStatusUsage
//	126    PROG cannot be executed         TestExitStatusCannotExecute
//	127    PROG does not exist             TestExitStatusCannotExecute
//	0      --help                          TestExitStatusHelp
//
// The refusals (usage errors, 126, 127, --help) happen before nsvm opens
// /dev/kvm, so those tests run everywhere; the guest rows need KVM.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nsvm/nsvm/guestkernel"
	"github.com/nsvm/nsvm/guestkernel/loader"
	"github.com/nsvm/nsvm/images"
	"github.com/nsvm/nsvm/internal/cbuild"
	"github.com/nsvm/nsvm/vm"
)

// statusProg builds testdata/status.c.
func statusProg(t *testing.T) string {
	t.Helper()
	return cbuild.Static(t, filepath.Join("testdata", "status.c"))
}

// TestExitStatusGuest: the guest's own status passes through, and a
// guest killed by signal N gives 128+N, as the shell reports a native
// run: both runs must agree on the status and on stdout.
func TestExitStatusGuest(t *testing.T) {
	bin := statusProg(t)
	rows := []struct {
		args []string
		want int // the native status (checks the program)
	}{
		{[]string{"exit", "0"}, 0},
		{[]string{"exit", "1"}, 1},
		{[]string{"exit", "2"}, 2}, // nsvm's usage errors must not look like this
		{[]string{"exit", "42"}, 42},
		// The guest's own 124-127 pass through, as timeout(1) passes
		// its command's through.
		{[]string{"exit", "124"}, 124},
		{[]string{"exit", "125"}, 125},
		{[]string{"exit", "126"}, 126},
		{[]string{"exit", "127"}, 127},
		{[]string{"exit", "128"}, 128},
		{[]string{"exit", "255"}, 255},
		{[]string{"exit", "256"}, 0}, // the kernel keeps the low 8 bits
		{[]string{"exit", "-1"}, 255},
		{[]string{"signal", "1"}, 128 + 1},   // SIGHUP
		{[]string{"signal", "2"}, 128 + 2},   // SIGINT
		{[]string{"signal", "6"}, 128 + 6},   // SIGABRT (core)
		{[]string{"signal", "9"}, 128 + 9},   // SIGKILL
		{[]string{"signal", "10"}, 128 + 10}, // SIGUSR1
		{[]string{"signal", "11"}, 128 + 11}, // SIGSEGV sent, not a fault
		{[]string{"signal", "15"}, 128 + 15}, // SIGTERM
		{[]string{"signal", "64"}, 128 + 64}, // SIGRTMAX
		{[]string{"sigpipe"}, 128 + 13},      // SIGPIPE raised by the kernel
	}
	for _, r := range rows {
		t.Run(strings.Join(r.args, "_"), func(t *testing.T) {
			nat := runNative(t, bin, r.args...)
			if nat.status != r.want {
				t.Fatalf("native status %d, want %d\nstdout:\n%s\nstderr:\n%s", nat.status, r.want, clip(nat.stdout), clip(nat.stderr))
			}
			requireKVM(t)
			vm := runNSVM(t, append([]string{"run", bin}, r.args...)...)
			compare(t, nat, vm)
		})
	}
}

// TestExitStatusHang: 124 when --timeout stops the guest (spinning in
// user mode, or asleep in the kernel), and when the guest hangs for good
// (every task blocked with nothing to wake it), which on Linux would last
// for ever: there, timeout(1) reports 124 for the same program.
//
// Where a clock stops a program (timeout(1) natively, --timeout in nsvm)
// it may stop it before its first line on a loaded machine, so that
// stdout is only required to be a prefix of the line; nsvm's detection of
// a hang depends on no clock, and there stdout must be the whole line.
func TestExitStatusHang(t *testing.T) {
	bin := statusProg(t)
	spin := cbuild.Static(t, filepath.Join("testdata", "spin.c"))
	timeoutCmd, err := exec.LookPath("timeout")
	if err != nil {
		t.Fatalf("timeout(1) is needed for the native half: %v", err)
	}
	rows := []struct {
		name    string
		prog    string
		args    []string
		out     string   // what the program prints before it blocks
		nsvm    []string // nsvm's flags
		keyword string   // in nsvm's message
	}{
		{name: "timeout_spin", prog: spin, out: "spinning\n", nsvm: []string{"--timeout", "1s"}, keyword: "--timeout"},
		{name: "timeout_sleep", prog: bin, args: []string{"sleep"}, out: "sleeping for an hour\n", nsvm: []string{"--timeout", "1s"}, keyword: "--timeout"},
		{name: "hang", prog: bin, args: []string{"hang"}, out: "reading a pipe nobody writes\n", keyword: "hung"},
		{name: "deadlock", prog: bin, args: []string{"deadlock"}, out: "waiting for a child that waits for ever\n", keyword: "hung"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			// timeout(1) signals the program's whole process group,
			// so a hung child of "deadlock" goes too.
			nat := run(t, timeoutCmd, append([]string{"2", r.prog}, r.args...)...)
			if nat.status != 124 || !strings.HasPrefix(r.out, string(nat.stdout)) {
				t.Fatalf("native: timeout(1) gave status %d, want 124, and stdout %q, want a prefix of %q\nstderr:\n%s",
					nat.status, nat.stdout, r.out, clip(nat.stderr))
			}
			requireKVM(t)
			args := append(append(append([]string{"run"}, r.nsvm...), r.prog), r.args...)
			vm := runNSVM(t, args...)
			if vm.status != 124 {
				t.Errorf("nsvm: status %d, want 124 as timeout(1) gives natively", vm.status)
			}
			if got := string(vm.stdout); got != r.out && (r.nsvm == nil || !strings.HasPrefix(r.out, got)) {
				t.Errorf("nsvm: stdout %q, want %q", got, r.out)
			}
			if !strings.Contains(string(vm.stderr), r.keyword) {
				t.Errorf("nsvm's stderr does not mention %q", r.keyword)
			}
			if t.Failed() {
				t.Logf("nsvm stderr:\n%s", clip(vm.stderr))
			}
		})
	}
}

// TestExitStatusNSVMFailed: 125 when nsvm itself fails. Without a usable
// /dev/kvm that is every run; with one, a guest memory that the host
// refuses (RLIMIT_AS below --mem) is a failure of nsvm, not of the guest.
func TestExitStatusNSVMFailed(t *testing.T) {
	bin := statusProg(t)
	_, kvmErr := vm.Open()

	t.Run("host_refuses_memory", func(t *testing.T) {
		needNSVM(t)
		// 1 GiB of address space is enough for nsvm's Go runtime and
		// not for 4 GiB of guest memory.
		r := run(t, "sh", "-c", `ulimit -v 1048576 && exec "$0" "$@"`, nsvmBin, "run", "--mem", "4G", bin, "exit", "3")
		checkRefusal(t, r, 125, "")
		want := "guest memory"
		if kvmErr != nil {
			want = "KVM"
		}
		if !strings.Contains(string(r.stderr), want) {
			t.Errorf("stderr does not mention %q:\n%s", want, clip(r.stderr))
		}
	})

	t.Run("info", func(t *testing.T) {
		r := runNSVM(t, "info")
		if kvmErr == nil {
			if r.status != 0 || !strings.HasPrefix(string(r.stdout), "platform:") {
				t.Errorf("nsvm info with KVM usable: status %d, stdout:\n%s\nstderr:\n%s", r.status, clip(r.stdout), clip(r.stderr))
			}
			return
		}
		checkRefusal(t, r, 125, "/dev/kvm")
	})

	t.Run("run_without_kvm", func(t *testing.T) {
		if kvmErr == nil {
			t.Skip("KVM is usable here: host_refuses_memory covers this row")
		}
		checkRefusal(t, runNSVM(t, "run", bin, "exit", "3"), 125, "/dev/kvm")
	})
}

// usageRow is a command line nsvm must refuse as a usage error.
type usageRow struct {
	args    []string
	keyword string // in the first line of stderr
}

// checkUsageError checks a usage error: status 125, nothing on stdout,
// the reason on the first line of stderr, prefixed with the command,
// then coreutils' "Try ... --help" line, and no sign of a run.
func checkUsageError(t *testing.T, r result, keyword string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(string(r.stderr), "\n"), "\n")
	if r.status != 125 {
		t.Errorf("exit status %d, want 125 (usage error)", r.status)
	}
	if len(r.stdout) != 0 {
		t.Errorf("stdout not empty:\n%s", clip(r.stdout))
	}
	if !strings.HasPrefix(lines[0], "nsvm") || !strings.Contains(lines[0], keyword) {
		t.Errorf("first line of stderr %q does not start with \"nsvm\" and mention %q", lines[0], keyword)
	}
	if len(lines) < 2 || !strings.HasPrefix(lines[len(lines)-1], "Try 'nsvm") || !strings.HasSuffix(lines[len(lines)-1], "--help' for more information.") {
		t.Errorf("stderr does not end with a \"Try 'nsvm ... --help'\" line")
	}
	if strings.Contains(string(r.stderr), "/dev/kvm") || strings.Contains(string(r.stderr), "panic") {
		t.Errorf("stderr shows a run or a panic")
	}
	if t.Failed() {
		t.Logf("stderr:\n%s", clip(r.stderr))
	}
}

// TestExitStatusUsage: usage errors exit 125, as timeout(1) and env(1)
// do (2 is a guest's own status), before nsvm opens /dev/kvm. PROG is a
// valid program that would exit 7: accepting a row would show as 7 (or
// as nsvm's message about KVM where it is missing).
func TestExitStatusUsage(t *testing.T) {
	bin := statusProg(t)
	prog := []string{bin, "exit", "7"}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	img, err := loader.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	need := guestkernel.MinMem(img)
	below := strconv.FormatUint(need-4096, 10)
	hello, err := loader.Parse(images.Default)
	if err != nil {
		t.Fatal(err)
	}
	helloBelow := strconv.FormatUint(guestkernel.MinMem(hello)-4096, 10)
	with := func(args ...string) []string { return append(args, prog...) }
	rows := []usageRow{
		{[]string{}, "missing command"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"--trace", "run"}, "unknown command"},
		{[]string{"help", "bogus"}, `unknown command "bogus"`},
		{[]string{"help", "run", "extra"}, `"extra"`},
		{[]string{"help", "bench", "junk"}, `"junk"`},
		{with("run", "--bogus"), "-bogus"},
		{with("run", "--timeout", "-1s"), "negative"},
		{with("run", "--timeout", "-1"), "negative"},
		{with("run", "--timeout", "soon"), "duration"},
		{with("run", "--mem", "0"), "-mem"},
		{with("run", "--mem", "12Q"), "-mem"},
		{with("run", "--mem", "100000G"), "too large"},
		{with("run", "--mem", "1000"), "4 KiB"},
		{with("run", "--mem", "4M"), "too small"},
		{with("run", "--mem", below), "too small"},
		{[]string{"run", "--mem", helloBelow}, "too small for " + images.DefaultName},
		{with("run", "--fail-prob", "101"), "-fail-prob"},
		{with("run", "--fail-syscall", "bogus", "--fail-nth", "1"), `"bogus"`},
		{with("run", "--fail-syscall", "clone:0", "--fail-nth", "1"), "K >= 1"},
		{with("run", "--fail-syscall", "clone"), "--fail-nth"},
		{with("ns", "--format", "xml"), "text, dot, svg"},
		{with("ns", "--mem", below), "too small"},
		{with("ns", "--timeout", "-1s"), "negative"},
		{[]string{"ns"}, "which program"},
		{with("inject", "--format", "xml"), "table, json"},
		{with("inject", "--syscall", "bogus"), `"bogus"`},
		{with("inject", "--syscall", "clone:x"), "K >= 1"},
		{with("inject", "--timeout", "-1s"), "negative"},
		{with("inject", "--mem", below), "too small"},
		{with("inject", "--prob", "200"), "-prob"},
		{with("inject", "--runs", "0"), "--runs"},
		{with("inject", "--max", "0"), "--max"},
		{[]string{"inject"}, "which program"},
		{[]string{"info", "junk"}, `"junk"`},
		{[]string{"info", "--verbose"}, "-verbose"},
		{[]string{"bench"}, "which benchmark"},
		{[]string{"bench", "junk"}, `"junk"`},
		{[]string{"bench", "fork", "junk"}, `"junk"`},
		{[]string{"bench", "fork", "--samples", "-1"}, "--samples"},
		{[]string{"bench", "fork", "--bogus"}, "-bogus"},
	}
	for _, r := range rows {
		name := strings.ReplaceAll(strings.Join(r.args, " "), bin, "PROG")
		t.Run(name, func(t *testing.T) {
			checkUsageError(t, runNSVM(t, r.args...), r.keyword)
		})
	}
}

// TestExitStatusMemBoundary: the least --mem accepted for a program is
// enough to run it; a page less is refused (TestExitStatusUsage).
func TestExitStatusMemBoundary(t *testing.T) {
	for _, tc := range []struct {
		name string
		prog []string
		want int
	}{
		{"status", []string{statusProg(t), "exit", "7"}, 7},
		{"hello", []string{filepath.Join(imageDir(t), "hello")}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(tc.prog[0])
			if err != nil {
				t.Fatal(err)
			}
			img, err := loader.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			requireKVM(t)
			need := strconv.FormatUint(guestkernel.MinMem(img), 10)
			r := runNSVM(t, append([]string{"run", "--mem", need}, tc.prog...)...)
			if r.status != tc.want {
				t.Errorf("--mem %s: status %d, want %d\nstderr:\n%s", need, r.status, tc.want, clip(r.stderr))
			}
		})
	}
}

// TestExitStatusCannotExecute: 127 when PROG does not exist, 126 when
// it exists but cannot be executed (as execve(2) refuses it with EACCES,
// or nsvm cannot run it), and every command that takes PROG agrees.
func TestExitStatusCannotExecute(t *testing.T) {
	bin := statusProg(t)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	noX := filepath.Join(dir, "no-x-bit")
	if err := os.WriteFile(noX, data, 0o644); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "text")
	if err := os.WriteFile(text, []byte("#!/bin/sh\necho a script\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rows := []struct {
		name, prog string
		status     int
		keyword    string
	}{
		{"missing", filepath.Join(dir, "no-such-program"), 127, "no such file"},
		{"missing_dir", filepath.Join(dir, "no-such-dir", "prog"), 127, "no such file"},
		{"empty_name", "", 127, "no such file"},
		{"not_a_dir", filepath.Join(noX, "prog"), 126, "not a directory"},
		{"directory", dir, 126, "is a directory"},
		{"dot_directory", "./testdata", 126, "is a directory"},
		{"no_execute_bit", noX, 126, "permission denied"},
		{"device", os.DevNull, 126, "not a regular file"},
		{"script", text, 126, "not an ELF"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			// With valid flags of every kind, so that a flag check
			// that refused them would show here.
			for _, cmd := range [][]string{
				{"run"}, {"ns"}, {"inject"},
				{"run", "--trace", "--mem", "1G", "--timeout", "1.5", "--fail-nth", "2", "--fail-syscall", "unshare:3"},
				{"ns", "--format", "svg", "--timeout", "10s"},
				{"inject", "--format", "json", "--syscall", "clone3:2", "--prob", "100", "--mem", "64M"},
			} {
				vm := runNSVM(t, append(cmd, r.prog, "exit", "7")...)
				t.Run(strings.Join(cmd, "_"), func(t *testing.T) { checkRefusal(t, vm, r.status, r.keyword) })
			}
		})
	}
}

// TestExitStatusHelp: --help (and -h, and nsvm help COMMAND) prints the
// usage on stdout and exits 0, for nsvm and every command.
func TestExitStatusHelp(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"},
		{"run", "--help"}, {"run", "-h"}, {"help", "run"},
		{"ns", "--help"}, {"help", "ns"},
		{"inject", "--help"}, {"help", "inject"},
		{"bench", "--help"}, {"bench", "fork", "--help"}, {"bench", "fork", "-h"}, {"help", "bench", "fork"},
		{"info", "--help"}, {"help", "info"},
		// Flags before --help are parsed; the program is not run.
		{"run", "--trace", "--help"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runNSVM(t, args...)
			if r.status != 0 || !strings.HasPrefix(string(r.stdout), "usage: nsvm") || len(r.stderr) != 0 {
				t.Errorf("status %d (want 0)\nstdout:\n%s\nstderr:\n%s", r.status, clip(r.stdout), clip(r.stderr))
			}
		})
	}
	// The help of run names every status of the table.
	r := runNSVM(t, "run", "--help")
	for _, want := range []string{"0-255", "128+N", "124", "125", "126", "127"} {
		if !strings.Contains(string(r.stdout), want) {
			t.Errorf("nsvm run --help does not mention exit status %s", want)
		}
	}
}
