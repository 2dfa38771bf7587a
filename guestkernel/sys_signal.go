package guestkernel

import (
	"golang.org/x/sys/unix"
)

// Signal dispositions are recorded so that programs installing handlers
// start and run; delivery to handlers is not modelled yet (a fault kills
// the task with its signal whatever the disposition).

const sigsetSize = 8

const (
	sigKill = 9
	sigStop = 19
)

// sysRtSigaction: rt_sigaction(2).
func sysRtSigaction(t *Task, a *args) int64 {
	sig, act, oact, size := a[0], a[1], a[2], a[3]
	if size != sigsetSize {
		return errno(unix.EINVAL)
	}
	if sig < 1 || sig > 64 || act != 0 && (sig == sigKill || sig == sigStop) {
		return errno(unix.EINVAL)
	}
	var na sigaction
	if act != 0 {
		var b [32]byte
		if e := t.mm.copyIn(b[:], act); e != 0 {
			return errno(e)
		}
		na = sigaction{le.Uint64(b[:]), le.Uint64(b[8:]), le.Uint64(b[16:]), le.Uint64(b[24:])}
		// SIGKILL and SIGSTOP can never be blocked.
		na.mask &^= 1<<(sigKill-1) | 1<<(sigStop-1)
	}
	if oact != 0 {
		o := t.sighand.actions[sig-1]
		var b [32]byte
		le.PutUint64(b[:], o.handler)
		le.PutUint64(b[8:], o.flags)
		le.PutUint64(b[16:], o.restorer)
		le.PutUint64(b[24:], o.mask)
		if e := t.mm.copyOut(oact, b[:]); e != 0 {
			return errno(e)
		}
	}
	if act != 0 {
		t.sighand.actions[sig-1] = na
	}
	return 0
}

// sysRtSigprocmask: rt_sigprocmask(2).
func sysRtSigprocmask(t *Task, a *args) int64 {
	how, set, oset, size := a[0], a[1], a[2], a[3]
	if size != sigsetSize {
		return errno(unix.EINVAL)
	}
	old := t.sigmask
	if set != 0 {
		m, e := t.mm.readU64(set)
		if e != 0 {
			return errno(e)
		}
		m &^= 1<<(sigKill-1) | 1<<(sigStop-1)
		switch how {
		case unix.SIG_BLOCK:
			t.sigmask |= m
		case unix.SIG_UNBLOCK:
			t.sigmask &^= m
		case unix.SIG_SETMASK:
			t.sigmask = m
		default:
			return errno(unix.EINVAL)
		}
	}
	if oset != 0 {
		if e := t.mm.writeU64(oset, old); e != 0 {
			t.sigmask = old
			return errno(e)
		}
	}
	if t.sigmask&^old != t.sigmask || old&^t.sigmask != 0 {
		t.k.redeliver(t) // signals just unblocked take effect now
	}
	return 0
}

// sysRtSigpending: rt_sigpending(set, size): the pending signals that
// are blocked (the others have been delivered).
func sysRtSigpending(t *Task, a *args) int64 {
	if a[1] > sigsetSize {
		return errno(unix.EINVAL)
	}
	return errno(t.mm.writeU64(a[0], (t.pending|t.tg.pending)&t.sigmask))
}
