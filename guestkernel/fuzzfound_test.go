package guestkernel

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

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

// A timeout past KTIME_MAX (about 292 years) is forever: the Duration
// arithmetic wrapped to a negative one, so nanosleep returned at once and
// a futex wait timed out at once.
func TestHugeTimeoutSleeps(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, pg, protRW, mapAnon|unix.MAP_FIXED)
	e.mm.writeU64(a, 1<<62) // tv_sec
	if r := sysNanosleep(e.t, &args{a, 0}); r != errBlocked {
		t.Errorf("nanosleep({2^62, 0}) = %s, want a sleep", errnoOf(r))
	}
	if d := time.Until(e.t.wait.deadline); d < 200*365*24*time.Hour {
		t.Errorf("nanosleep({2^62, 0}) sleeps until %v from now", d)
	}
	e.t.state, e.t.wait = taskRunnable, waitState{}
	if r := sysFutex(e.t, &args{a + 16, futexWait, 0, a}); r != errBlocked {
		t.Errorf("futex wait with a 2^62 s timeout = %s, want a sleep", errnoOf(r))
	}
}
