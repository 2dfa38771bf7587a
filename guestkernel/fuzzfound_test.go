package guestkernel

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Readable regressions for what FuzzSyscalls found (the raw inputs are in
// testdata/fuzz/FuzzSyscalls too).

// A program that stops itself (kill(0, SIGSTOP), raise(SIGSTOP)) has
// nsvm's init as its parent, which runs no guest code and has no signal
// handlers: the stop notification went to init's nil sighand.
func TestStopSelfParentIsInit(t *testing.T) {
	for _, pid := range []uint64{0, 2} {
		e := newTestEnv(t)
		if e.t.parent != e.k.init {
			t.Fatal("the program's parent is not nsvm's init")
		}
		if r := sysKill(e.t, &args{pid, uint64(unix.SIGSTOP)}); r != 0 {
			t.Fatalf("kill(%d, SIGSTOP) = %s", pid, errnoOf(r))
		}
		if e.t.state != taskStopped {
			t.Errorf("kill(%d, SIGSTOP): the task is %s, want stopped", pid, stateName(e.t.state))
		}
		if r := sysKill(e.t, &args{pid, uint64(unix.SIGCONT)}); r != 0 {
			t.Fatalf("kill(%d, SIGCONT) = %s", pid, errnoOf(r))
		}
		if e.t.state != taskRunnable {
			t.Errorf("kill(%d, SIGCONT): the task is %s, want runnable", pid, stateName(e.t.state))
		}
	}
}

// --trace of rt_sigprocmask with a sigsetsize over 8 (EINVAL, but strace
// still prints the set): bits past signal 64 print as numbers; slicing
// "SIG" off "65" panicked.
func TestTraceSigsetPastSignal64(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	e := newFuzzEnv(t, fzTrace, 0, null)
	var trace bytes.Buffer
	e.k.cfg.Trace = &trace
	set := make([]byte, 48)
	set[8] = 1 // signal 65
	e.k.current.mm.copyOutKernel(fzData, set)
	e.syscall(t, e.k.current, 14, args{unix.SIG_BLOCK, fzData, 0, 48})
	if r := int64(e.cpu.regs.RAX); r != errno(unix.EINVAL) {
		t.Errorf("rt_sigprocmask with sigsetsize 48 = %s, want EINVAL", errnoOf(r))
	}
	if !strings.Contains(trace.String(), "[65]") {
		t.Errorf("trace %q does not show signal 65 by number", trace.String())
	}
}
