package guestkernel

// The scheduler: many tasks share the vCPU.
//
// nsvm runs every task on one vCPU (see README: more vCPUs would not make
// a fork faster here, where each costs an exit either way, and one vCPU
// keeps the kernel model single-threaded and lock-free). A task runs until
// it blocks, exits, or is preempted by the tick; the run queue is FIFO.
// The tick runs only while it has work (updateTick): a lone task with no
// timeout pending takes no tick exits at all.
//
// The switch. Every exit nsvm handles leaves the vCPU in a ring-0 stub
// with an iretq frame on the kernel stack (the syscall stub's, an
// exception stub's, or one the VMM builds when it interrupted ring 3).
// To resume a different task the VMM writes that task's general
// registers into the sync area and its RIP/RSP/RFLAGS into the frame, and
// points the vCPU at a stub that iretqs. When the address space changes
// too, the stub is the shootdown stub, which loads the new CR3 from the
// guest itself: a CR3 written through KVM_SET_SREGS would make KVM reset
// its MMU context on every switch. The FS/GS bases go through the sync
// area's sregs, only when they differ. The XSAVE image moves only when
// the FPU changes hands (k.fpuOwner): KVM_GET_XSAVE2 of the old owner,
// KVM_SET_XSAVE of the new one, as Linux's switch_fpu does lazily.

import (
	"errors"
	"fmt"
	"time"

	"github.com/bobuhiro11/gokvm/kvm"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
	"github.com/nsvm/nsvm/vm"
)

// Wait kinds, for blocked tasks.
const (
	waitNone = iota
	waitChild
	waitPipeRead
	waitPipeWrite
	waitFutex
	waitSleep
	waitVfork
	waitPause
)

// waitState describes why a task sleeps and how it resumes.
type waitState struct {
	kind     int
	obj      any       // the pipe, futex key, ...
	deadline time.Time // zero: no timeout
	// restart: re-execute the syscall when woken (the task resumes at
	// the SYSCALL instruction with RAX = the syscall number, as Linux
	// restarts with ERESTARTNOINTR). Otherwise the syscall is finished
	// and result goes into RAX.
	restart bool
	result  int64
	nr      uint64 // the syscall, for --trace's "resumed" line
}

// Internal syscall results that never reach the guest.
const (
	// errRestart: the task blocked; rerun the syscall when it wakes.
	errRestart = -512
	// errBlocked: the task blocked; its result is delivered at wake.
	errBlocked = -513
	// errYield: the syscall returned 0 and the task goes to the back of
	// the run queue (sched_yield).
	errYield = -514
)

// blockRestart puts t to sleep and makes its syscall run again on wake.
func (t *Task) blockRestart(kind int, obj any) int64 {
	t.state = taskBlocked
	t.wait = waitState{kind: kind, obj: obj, restart: true}
	return errRestart
}

// blockResult puts t to sleep; the waker (or the timeout) sets the
// syscall's result.
func (t *Task) blockResult(kind int, obj any, deadline time.Time, result int64) int64 {
	t.state = taskBlocked
	t.wait = waitState{kind: kind, obj: obj, deadline: deadline, result: result}
	return errBlocked
}

// wake makes a blocked task runnable. For a task whose syscall finished
// while it slept, result is its return value.
func (k *Kernel) wake(t *Task, result int64) {
	if t.state != taskBlocked {
		return
	}
	if !t.wait.restart {
		t.ctx.regs.RAX = uint64(result)
		if k.cfg.Trace != nil {
			k.traceResumed(t, t.wait.nr, result)
		}
	}
	t.wait = waitState{}
	t.state = taskRunnable
	k.runq = append(k.runq, t)
}

// makeRunnable puts a new or continued task on the run queue.
func (k *Kernel) makeRunnable(t *Task) {
	t.state = taskRunnable
	k.runq = append(k.runq, t)
}

// dequeue removes t from the run queue (it died or stopped while queued).
func (k *Kernel) dequeue(t *Task) {
	for i, q := range k.runq {
		if q == t {
			k.runq = append(k.runq[:i], k.runq[i+1:]...)
			return
		}
	}
}

// errDeadlock ends a run in which every task sleeps with nothing that
// could wake it.
var errDeadlock = errors.New("deadlock: every guest task is blocked and nothing can wake them")

// pickNext chooses the task to run: the current one while it can run,
// else the head of the run queue. With nothing runnable it sleeps on the
// host until the earliest timeout. It returns nil when no task is left.
func (k *Kernel) pickNext(c *vm.VCPU) (*Task, error) {
	for {
		if cur := k.current; cur != nil && cur.state == taskRunnable && cur.onCPU {
			return cur, nil
		}
		if len(k.runq) > 0 {
			t := k.runq[0]
			k.runq = k.runq[1:]
			return t, nil
		}
		if k.liveTasks() == 0 {
			return nil, nil
		}
		// Idle: sleep until the first timeout, checking for a stop
		// request (timeout) now and then.
		var first time.Time
		for _, t := range k.tasks {
			if t.state == taskBlocked && !t.wait.deadline.IsZero() && (first.IsZero() || t.wait.deadline.Before(first)) {
				first = t.wait.deadline
			}
		}
		if first.IsZero() {
			return nil, errDeadlock
		}
		for d := time.Until(first); d > 0; d = time.Until(first) {
			if err := c.StopRequested(); err != nil {
				return nil, err
			}
			time.Sleep(min(d, 20*time.Millisecond))
		}
		k.expireTimers()
	}
}

// expireTimers wakes the sleepers whose deadline passed.
func (k *Kernel) expireTimers() {
	now := time.Now()
	any := false
	for _, t := range k.tasks {
		if t.state == taskBlocked && !t.wait.deadline.IsZero() && !now.Before(t.wait.deadline) {
			any = true
			break
		}
	}
	if !any {
		return // the common tick: nothing to wake, nothing allocated
	}
	for _, t := range k.sortedTasks() {
		if t.state == taskBlocked && !t.wait.deadline.IsZero() && !now.Before(t.wait.deadline) {
			k.timeout(t)
		}
	}
}

// timeout ends a timed sleep: nanosleep returns 0, a futex wait
// ETIMEDOUT.
func (k *Kernel) timeout(t *Task) {
	res := int64(0)
	if t.wait.kind == waitFutex {
		res = errno(etimedout)
		k.futexDequeue(t)
	}
	k.wake(t, res)
}

func (k *Kernel) liveTasks() int {
	n := 0
	for _, t := range k.tasks {
		if t.alive() {
			n++
		}
	}
	return n
}

// exitFrame says where the interrupted context sits at an exit.
type exitFrame struct {
	at uint64 // kernel RSP at the iretq frame (when ok)
	ok bool   // false: the vCPU was interrupted in ring 3
}

func (k *Kernel) frameWords(at uint64) []byte { return k.mem[at-x86.KernelBase:] }

// liveCtx reads the interrupted user context of the task on the vCPU.
func (k *Kernel) liveCtx(r *kvm.Regs, s *kvm.Sregs, fr exitFrame) uctx {
	u := uctx{regs: *r, fsBase: s.FS.Base, gsBase: s.GS.Base}
	if fr.ok {
		w := k.frameWords(fr.at)
		u.regs.RIP = le.Uint64(w[0:])
		u.regs.RFLAGS = le.Uint64(w[16:])
		u.regs.RSP = le.Uint64(w[24:])
	}
	return u
}

// switchTo finishes an exit: it resumes next on the vCPU, saving the
// context of the task that was there if it is switched out, and applying
// any pending shootdown. It returns the sync mask to mark dirty.
func (k *Kernel) switchTo(c *vm.VCPU, next *Task, r *kvm.Regs, s *kvm.Sregs, fr exitFrame) (uint64, error) {
	prev := k.current
	var dirty uint64
	if next == prev && prev.onCPU {
		if prev.sregsDirty {
			// arch_prctl changed a base (ctx holds both).
			prev.sregsDirty = false
			s.FS.Base, s.GS.Base = prev.ctx.fsBase, prev.ctx.gsBase
			dirty |= vm.SyncSregs | vm.SyncRegs
		}
		if !k.shoot.Pending() {
			return dirty, nil
		}
		if !fr.ok {
			// Interrupted in ring 3 with PTEs to shoot down: build
			// a frame so that the stub can return to user mode.
			dirty |= k.enterRing0(r, s, &fr)
		}
		if err := k.shootdown(r, s, fr.at, s.CR3); err != nil {
			return 0, err
		}
		return dirty | vm.SyncRegs, nil
	}

	if prev != nil && prev.onCPU {
		if prev.alive() {
			prev.ctx = k.liveCtx(r, s, fr)
		}
		prev.onCPU = false
	}
	k.Stats.Switches++
	if !fr.ok {
		dirty |= k.enterRing0(r, s, &fr)
	}
	// General registers, then the iretq frame.
	*r = next.ctx.regs
	w := k.frameWords(fr.at)
	le.PutUint64(w[0:], next.ctx.regs.RIP)
	le.PutUint64(w[8:], x86.SelUserCS)
	le.PutUint64(w[16:], next.ctx.regs.RFLAGS&x86.FlagsUser|x86.FlagReserved)
	le.PutUint64(w[24:], next.ctx.regs.RSP)
	le.PutUint64(w[32:], x86.SelUserDS)
	r.RSP = fr.at
	r.RIP = x86.IretStub
	dirty |= vm.SyncRegs
	if s.FS.Base != next.ctx.fsBase || s.GS.Base != next.ctx.gsBase {
		s.FS.Base, s.GS.Base = next.ctx.fsBase, next.ctx.gsBase
		dirty |= vm.SyncSregs
	}
	next.sregsDirty = false
	if err := k.switchFPU(c, next); err != nil {
		return 0, err
	}
	if root := next.mm.pt.Root; root != s.CR3 || k.shoot.Pending() {
		if err := k.shootdown(r, s, fr.at, root); err != nil {
			return 0, err
		}
	}
	next.onCPU = true
	k.current = next
	if k.cfg.Trace != nil {
		k.traceRun(next)
	}
	return dirty, nil
}

// enterRing0 turns an exit taken in ring 3 into one at the iretq stub: an
// empty frame at the top of the kernel stack and ring-0 segments. (The
// caller fills the frame.)
func (k *Kernel) enterRing0(r *kvm.Regs, s *kvm.Sregs, fr *exitFrame) uint64 {
	fr.at = x86.KStackTop - 5*8
	fr.ok = true
	w := k.frameWords(fr.at)
	le.PutUint64(w[0:], r.RIP)
	le.PutUint64(w[8:], x86.SelUserCS)
	le.PutUint64(w[16:], r.RFLAGS)
	le.PutUint64(w[24:], r.RSP)
	le.PutUint64(w[32:], x86.SelUserDS)
	s.CS = x86.KernelCS()
	s.SS = x86.KernelDS()
	r.RSP = fr.at
	r.RIP = x86.IretStub
	return vm.SyncRegs | vm.SyncSregs
}

// switchFPU moves the vCPU's FPU to next: the old owner's live registers
// are saved into its buffer (KVM_GET_XSAVE2), next's are loaded
// (KVM_SET_XSAVE). Nothing moves when next already owns it.
func (k *Kernel) switchFPU(c *vm.VCPU, next *Task) error {
	if k.fpuOwner == next {
		return nil
	}
	t0 := time.Now()
	if o := k.fpuOwner; o != nil && o.alive() {
		if err := c.GetXSAVE(o.fpu); err != nil {
			return fmt.Errorf("saving the FPU of task %d: %w", o.tid, err)
		}
		k.Stats.XSAVEGets++
	}
	if err := c.SetXSAVE(next.fpu); err != nil {
		return fmt.Errorf("loading the FPU of task %d: %w", next.tid, err)
	}
	k.Stats.XSAVESets++
	k.Stats.XSAVETime += time.Since(t0)
	if xsaveAudit != nil {
		back := make([]byte, len(next.fpu))
		if err := c.GetXSAVE(back); err == nil {
			xsaveAudit("set", next.fpu, back)
		}
	}
	k.fpuOwner = next
	return nil
}

// tickPeriod is the preemption tick's period (Linux's HZ=100 jiffy).
const tickPeriod = 10 * time.Millisecond

// updateTick arms the tick (Run) while it has work to do, and stops it
// otherwise. It has work while a task waits on the run queue (the one on
// the vCPU is to be preempted) or a sleeper has a timeout (the tick
// expires it while other code runs; with nothing runnable pickNext sleeps
// until it instead). A lone runnable task with no timeout pending runs
// without a single tick exit. Called after every exit that can change
// either; the syscall fast path checks only the run queue, since a task
// that sets a timeout blocks.
func (k *Kernel) updateTick() {
	if k.tick == nil {
		return
	}
	need := len(k.runq) > 0 || k.timerPending()
	if need == k.tickArmed {
		return
	}
	k.tickArmed = need
	if need {
		k.tick.Reset(tickPeriod)
	} else {
		k.tick.Stop()
	}
}

// timerPending reports whether a sleeping task has a timeout.
func (k *Kernel) timerPending() bool {
	for _, t := range k.tasks {
		if t.state == taskBlocked && !t.wait.deadline.IsZero() {
			return true
		}
	}
	return false
}

// HandleInterrupt is the preemption tick (vm.Handler): if the task on the
// vCPU was interrupted in user mode and another task is waiting, switch.
// A SIGQUIT dump request (RequestDump) arrives the same way.
func (k *Kernel) HandleInterrupt(c *vm.VCPU) (stop bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			stop, err = true, k.bug(p)
		}
	}()
	r, s := c.Registers()
	k.maybeDump()
	k.expireTimers()
	cur := k.current
	// Only preempt user code proper: in the LSTAR entry page (which
	// runs at CPL3 on PVM) KVM may hold the entry's #BP pending, and a
	// switch there would lose it.
	if x86.CPL(s) != 3 || r.RIP >= taskSize || len(k.runq) == 0 || cur == nil || !cur.onCPU {
		k.updateTick()
		return false, nil
	}
	k.Stats.Preemptions++
	// Round robin: the current task goes to the back of the queue.
	cur.ctx = k.liveCtx(r, s, exitFrame{})
	cur.onCPU = false
	k.runq = append(k.runq, cur)
	next, err := k.pickNext(c)
	if err != nil || next == nil {
		return true, err
	}
	var dirty uint64
	dirty, err = k.switchTo(c, next, r, s, exitFrame{})
	if err != nil {
		return true, err
	}
	c.MarkDirty(dirty)
	k.updateTick()
	return false, nil
}
