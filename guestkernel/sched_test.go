package guestkernel

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestTickArmedOnlyWithWork drives the scheduler's tick decision without
// KVM: the tick is armed exactly while another task waits to run or a
// sleeper has a timeout, and stopped for a lone task.
func TestTickArmedOnlyWithWork(t *testing.T) {
	e := newTestEnv(t)
	k := e.k
	k.cpu = newFakeCPU()
	k.maxThreads = 100
	// A ticker that never fires within the test: only its state matters.
	k.tick = time.NewTicker(time.Hour)
	k.tick.Stop()
	defer k.tick.Stop()
	want := func(when string, armed bool) {
		t.Helper()
		k.updateTick()
		if k.tickArmed != armed {
			t.Errorf("%s: tick armed = %v, want %v (runq %d, timer pending %v)", when, k.tickArmed, armed, len(k.runq), k.timerPending())
		}
	}
	want("one task", false)

	fork := func() *Task {
		t.Helper()
		pid := k.kernelClone(e.t, &cloneArgs{exitSignal: int(unix.SIGCHLD)})
		if pid <= 0 {
			t.Fatalf("fork = %d", pid)
		}
		return k.tasks[int(pid)]
	}
	reap := func(c *Task) {
		t.Helper()
		k.dequeue(c)
		k.doExit(c, 0)
		if r := sysWait4(e.t, &args{uint64(c.tid), 0, 0, 0}); r != int64(c.tid) {
			t.Fatalf("wait4 = %d, want %d", r, c.tid)
		}
	}

	c := fork()
	want("a second task runnable", true)
	reap(c)
	want("alone again", false)

	// A sleeper with a timeout needs the tick while another task runs.
	c = fork()
	k.dequeue(c)
	c.blockResult(waitSleep, nil, time.Now().Add(time.Hour), 0)
	want("a sleeper with a timeout", true)
	k.timeout(c)
	want("the sleeper woken", true)
	reap(c)
	want("alone at the end", false)

	// A sleeper without a timeout (pause, wait4) needs no tick.
	c = fork()
	k.dequeue(c)
	c.blockResult(waitPause, nil, zeroTime, 0)
	want("a sleeper without a timeout", false)
	k.cancelWait(c)
	c.state = taskRunnable
	reap(c)
	want("alone after the pause", false)
}
