package guestkernel

// Signals: generation (kill, tgkill, tkill, faults, SIGPIPE, SIGCHLD),
// blocking and pending sets, and the default actions (terminate, dump
// core, ignore, stop, continue). Signals with a handler are delivered on
// the way back to user mode (sigframe.go).

import (
	"golang.org/x/sys/unix"
)

const (
	sigDfl = 0
	sigIgn = 1

	nsig = 64

	saNoCldStop = 0x1
	saNoCldWait = 0x2
)

func sigBit(sig int) uint64 { return 1 << (sig - 1) }

// Default actions (the table in signal(7)).
const (
	actTerm = iota
	actCore
	actIgnore
	actStop
	actCont
)

func defaultAction(sig int) int {
	switch unix.Signal(sig) {
	case unix.SIGQUIT, unix.SIGILL, unix.SIGTRAP, unix.SIGABRT, unix.SIGBUS, unix.SIGFPE,
		unix.SIGSEGV, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGSYS:
		return actCore
	case unix.SIGCHLD, unix.SIGURG, unix.SIGWINCH:
		return actIgnore
	case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		return actStop
	case unix.SIGCONT:
		return actCont
	}
	return actTerm
}

func validSignal(sig int) bool { return sig >= 1 && sig <= nsig }

// sendSignal sends sig to one thread (tkill, a fault, SIGPIPE); sender
// is the task that sent it, nil for the kernel.
func (k *Kernel) sendSignal(t *Task, sig int, sender *Task) {
	if !t.alive() || k.initIgnores(t.tg, sig, sender) {
		return
	}
	t.sigInfo[sig-1] = k.userInfo(t, sig, sender, siTkill)
	t.pending |= sigBit(sig)
	k.deliver(t, sig)
}

// sendGroupSignal sends sig to a process (kill): any thread may take it.
func (k *Kernel) sendGroupSignal(tg *threadGroup, sig int, sender *Task) {
	if tg.leader == nil || len(tg.threads) == 0 || k.initIgnores(tg, sig, sender) {
		return
	}
	for _, th := range tg.threads {
		th.sigInfo[sig-1] = k.userInfo(th, sig, sender, siUser)
	}
	tg.pending |= sigBit(sig)
	k.deliver(tg.threads[0], sig)
}

// userInfo is the siginfo of a signal sent by a task (kill: SI_USER,
// tkill: SI_TKILL) or by the kernel (SI_KERNEL), as the receiver sees the
// sender's pid and uid.
func (k *Kernel) userInfo(to *Task, sig int, sender *Task, code int32) siginfo {
	if sender == nil {
		return siginfo{signo: int32(sig), code: siKernel}
	}
	return siginfo{signo: int32(sig), code: code, pid: uint32(sender.tg.leader.nrIn(to.activePIDNS())),
		uid: to.viewUID(sender.cred.uid)}
}

// initIgnores is SIGNAL_UNKILLABLE (spec §3.1.4): a pid-namespace init
// gets the signals it installed a handler for from anywhere; otherwise it
// drops signals sent from inside its namespace, and from an ancestor
// namespace takes only SIGKILL and SIGSTOP.
func (k *Kernel) initIgnores(tg *threadGroup, sig int, sender *Task) bool {
	if sender == nil || !tg.unkillable() {
		return false
	}
	if sig != int(unix.SIGKILL) && sig != int(unix.SIGSTOP) && tg.leader.hasHandler(sig) {
		return false
	}
	inside := sender.nrIn(tg.leader.activePIDNS()) != 0
	if inside {
		return true
	}
	return sig != int(unix.SIGKILL) && sig != int(unix.SIGSTOP)
}

// deliver acts on a pending signal unless it is blocked: SIGKILL and
// SIGCONT take effect even while blocked... (SIGKILL cannot be blocked;
// SIGCONT's continue happens at generation, as in Linux).
func (k *Kernel) deliver(t *Task, sig int) {
	tg := t.tg
	if sig == int(unix.SIGCONT) || sig == int(unix.SIGKILL) {
		k.continueGroup(tg)
	}
	if sig != int(unix.SIGKILL) && sig != int(unix.SIGSTOP) && t.sigmask&sigBit(sig) != 0 {
		// Blocked: stays pending until unblocked. A group signal can
		// go to another thread that does not block it.
		if tg.pending&sigBit(sig) != 0 {
			for _, th := range tg.threads {
				if th.alive() && th.sigmask&sigBit(sig) == 0 {
					k.deliver(th, sig)
					return
				}
			}
		}
		return
	}
	act := t.sighand.actions[sig-1]
	if sig != int(unix.SIGKILL) && sig != int(unix.SIGSTOP) {
		switch act.handler {
		case sigIgn:
			t.pending &^= sigBit(sig)
			tg.pending &^= sigBit(sig)
			if k.cfg.Trace != nil {
				k.traceIgnored(t, sig)
			}
			return
		case sigDfl:
		default:
			// A handler: the signal stays pending for this thread
			// and is delivered on its way back to user mode (a
			// sleeping syscall is interrupted first).
			if tg.pending&sigBit(sig) != 0 {
				tg.pending &^= sigBit(sig)
				t.pending |= sigBit(sig)
			}
			k.interruptSleep(t, sig)
			return
		}
	}
	t.pending &^= sigBit(sig)
	tg.pending &^= sigBit(sig)
	switch defaultAction(sig) {
	case actIgnore, actCont:
		if k.cfg.Trace != nil {
			k.traceIgnored(t, sig)
		}
		return
	case actStop:
		if k.cfg.Trace != nil {
			k.traceStop(t, sig)
		}
		k.stopGroup(tg, sig)
	case actTerm:
		k.exitGroup(tg, sig)
	case actCore:
		// No core file is written, so the "core dumped" bit stays 0.
		k.exitGroup(tg, sig)
	}
}

// redeliver acts on pending signals that just became unblocked.
func (k *Kernel) redeliver(t *Task) {
	for sig := 1; sig <= nsig && t.alive(); sig++ {
		if (t.pending|t.tg.pending)&sigBit(sig) != 0 && t.sigmask&sigBit(sig) == 0 {
			k.deliver(t, sig)
		}
	}
}

// stopGroup stops every thread of a process (SIGSTOP and friends) and
// tells the parent (WUNTRACED, SIGCHLD unless SA_NOCLDSTOP).
func (k *Kernel) stopGroup(tg *threadGroup, sig int) {
	if tg.stopped {
		return
	}
	tg.stopped, tg.stopReported, tg.stopSig, tg.continued = true, false, sig, false
	for _, th := range tg.threads {
		if th.state == taskRunnable {
			th.state = taskStopped
			k.dequeue(th)
			if th.onCPU {
				th.onCPU = false
			}
		}
	}
	k.notifyParentStop(tg, false)
}

// continueGroup resumes a stopped process (SIGCONT, SIGKILL).
func (k *Kernel) continueGroup(tg *threadGroup) {
	if !tg.stopped {
		return
	}
	tg.stopped, tg.continued = false, true
	for _, th := range tg.threads {
		if th.state == taskStopped {
			k.makeRunnable(th)
		}
	}
	k.notifyParentStop(tg, true)
}

func (k *Kernel) notifyParentStop(tg *threadGroup, cont bool) {
	parent := tg.leader.parent
	// nsvm's init runs no guest code and has no signal handlers: there
	// is no one to tell (a program that stops itself, raise(SIGSTOP)).
	if parent == nil || !parent.alive() || parent == k.init {
		return
	}
	act := parent.sighand.actions[unix.SIGCHLD-1]
	if act.flags&saNoCldStop == 0 {
		k.sendGroupSignal(parent.tg, int(unix.SIGCHLD), nil)
	}
	k.wakeWaiters(parent.tg)
}

// Permission to signal (kill_ok_by_cred): root, or matching ids.
func canSignal(from, to *Task) bool {
	c, t := from.cred, to.cred
	return c.euid == 0 || c.euid == t.suid || c.euid == t.uid || c.uid == t.suid || c.uid == t.uid
}

// sysKill: kill(pid, sig).
func sysKill(t *Task, a *args) int64 {
	pid, sig := int32(a[0]), int(int32(a[1]))
	if sig < 0 || sig > nsig {
		return errno(unix.EINVAL)
	}
	k := t.k
	var targets []*threadGroup
	switch {
	case pid > 0:
		p := k.findProcess(t, int(pid))
		if p == nil {
			return errno(unix.ESRCH)
		}
		targets = append(targets, p.tg)
	case pid == -1:
		for _, p := range k.sortedTasks() {
			if p.isLeader() && p.alive() && p.tg != t.tg && p.pid() != 1 && k.visible(t, p) {
				targets = append(targets, p.tg)
			}
		}
	default:
		pgid := t.tg.pgid
		if pid != 0 {
			g := k.findProcess(t, int(-pid))
			if g == nil {
				return errno(unix.ESRCH)
			}
			pgid = g.tid
		}
		for _, p := range k.sortedTasks() {
			if p.isLeader() && p.alive() && p.tg.pgid == pgid && k.visible(t, p) {
				targets = append(targets, p.tg)
			}
		}
	}
	if len(targets) == 0 {
		return errno(unix.ESRCH)
	}
	sent := false
	var e unix.Errno = unix.EPERM
	for _, tg := range targets {
		if !canSignal(t, tg.leader) {
			continue
		}
		sent = true
		if sig != 0 {
			k.sendGroupSignal(tg, sig, t)
		}
	}
	if !sent {
		return errno(e)
	}
	return 0
}

// sysTgkill: tgkill(tgid, tid, sig).
func sysTgkill(t *Task, a *args) int64 {
	tgid, tid, sig := int32(a[0]), int32(a[1]), int(int32(a[2]))
	if tgid <= 0 || tid <= 0 {
		return errno(unix.EINVAL)
	}
	return t.tkill(int(tid), int(tgid), sig)
}

// sysTkill: tkill(tid, sig).
func sysTkill(t *Task, a *args) int64 {
	tid := int32(a[0])
	if tid <= 0 {
		return errno(unix.EINVAL)
	}
	return t.tkill(int(tid), 0, int(int32(a[1])))
}

func (t *Task) tkill(tid, tgid, sig int) int64 {
	if sig < 0 || sig > nsig {
		return errno(unix.EINVAL)
	}
	p := t.k.findThread(t, tid)
	if p == nil || tgid != 0 && p.pid() != tgid {
		return errno(unix.ESRCH)
	}
	if !canSignal(t, p) {
		return errno(unix.EPERM)
	}
	if sig != 0 {
		t.k.sendSignal(p, sig, t)
	}
	return 0
}

// sysPause: pause() sleeps until a signal runs a handler (EINTR) or ends
// the process.
func sysPause(t *Task, a *args) int64 {
	return t.blockResult(waitPause, nil, zeroTime, errno(unix.EINTR))
}
