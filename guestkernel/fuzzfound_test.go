package guestkernel

import (
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
