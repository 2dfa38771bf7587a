package guestkernel

import (
	"golang.org/x/sys/unix"
)

// Process groups and sessions (setpgid, getpgid, setsid, getsid). The ids
// are kept as global ids (the initial pid namespace's numbers) and
// translated for the caller: a group or session whose leader is not
// visible in the caller's pid namespace reads as 0.

// pgidView translates a global process-group or session id for t.
func (k *Kernel) pgidView(t *Task, global int) int {
	if p := k.tasks[global]; p != nil {
		return p.tg.leader.nrIn(t.activePIDNS())
	}
	return 0
}

// sysSetpgid: setpgid(pid, pgid).
func sysSetpgid(t *Task, a *args) int64 {
	pid, pgid := int(int32(a[0])), int(int32(a[1]))
	if pgid < 0 {
		return errno(unix.EINVAL)
	}
	k := t.k
	p := t.tg.leader
	if pid != 0 && pid != t.pid() {
		p = k.findProcess(t, pid)
		if p == nil || p.parent == nil || p.parent.tg != t.tg {
			return errno(unix.ESRCH)
		}
		if p.tg.sid != t.tg.sid {
			return errno(unix.EPERM)
		}
	}
	if p.tg.sid == p.tid {
		return errno(unix.EPERM) // a session leader cannot move
	}
	global := p.tid
	if pgid != 0 && pgid != k.pidInNS(t, p) {
		q := k.findProcess(t, pgid)
		if q == nil || q.tg.pgid != q.tid || q.tg.sid != t.tg.sid {
			return errno(unix.EPERM)
		}
		global = q.tid
	}
	p.tg.pgid = global
	return 0
}

// sysGetpgid: getpgid(pid).
func sysGetpgid(t *Task, a *args) int64 {
	pid := int(int32(a[0]))
	p := t
	if pid != 0 {
		if p = t.k.findProcess(t, pid); p == nil {
			return errno(unix.ESRCH)
		}
	}
	return int64(t.k.pgidView(t, p.tg.pgid))
}

func sysGetpgrp(t *Task, a *args) int64 { return int64(t.k.pgidView(t, t.tg.pgid)) }

// sysSetsid: setsid() fails for a process group leader.
func sysSetsid(t *Task, a *args) int64 {
	me := t.tg.leader.tid
	for _, q := range t.k.tasks {
		if q.isLeader() && q.alive() && q.tg.pgid == me {
			return errno(unix.EPERM)
		}
	}
	t.tg.sid, t.tg.pgid = me, me
	return int64(t.pid())
}

// sysGetsid: getsid(pid).
func sysGetsid(t *Task, a *args) int64 {
	pid := int(int32(a[0]))
	p := t
	if pid != 0 {
		if p = t.k.findProcess(t, pid); p == nil {
			return errno(unix.ESRCH)
		}
	}
	return int64(t.k.pgidView(t, p.tg.sid))
}
