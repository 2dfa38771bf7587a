package guestkernel

import (
	"golang.org/x/sys/unix"
)

// Process groups and sessions (setpgid, getpgid, setsid, getsid).

// sysSetpgid: setpgid(pid, pgid).
func sysSetpgid(t *Task, a *args) int64 {
	pid, pgid := int(int32(a[0])), int(int32(a[1]))
	if pgid < 0 {
		return errno(unix.EINVAL)
	}
	p := t.tg.leader
	if pid != 0 && pid != t.pid() {
		p = t.k.findProcess(t, pid)
		if p == nil || p.parent == nil || p.parent.tg != t.tg {
			return errno(unix.ESRCH)
		}
		if p.tg.sid != t.tg.sid {
			return errno(unix.EPERM)
		}
	}
	if p.tg.sid == p.pid() {
		return errno(unix.EPERM) // a session leader cannot move
	}
	if pgid == 0 {
		pgid = p.pid()
	}
	if pgid != p.pid() {
		ok := false
		for _, q := range t.k.tasks {
			if q.isLeader() && q.alive() && q.tg.pgid == pgid && q.tg.sid == t.tg.sid {
				ok = true
				break
			}
		}
		if !ok {
			return errno(unix.EPERM)
		}
	}
	p.tg.pgid = pgid
	return 0
}

// sysGetpgid: getpgid(pid).
func sysGetpgid(t *Task, a *args) int64 {
	pid := int(int32(a[0]))
	if pid == 0 {
		return int64(t.tg.pgid)
	}
	p := t.k.findProcess(t, pid)
	if p == nil {
		return errno(unix.ESRCH)
	}
	return int64(p.tg.pgid)
}

func sysGetpgrp(t *Task, a *args) int64 { return int64(t.tg.pgid) }

// sysSetsid: setsid() fails for a process group leader.
func sysSetsid(t *Task, a *args) int64 {
	for _, q := range t.k.tasks {
		if q.isLeader() && q.alive() && q.tg.pgid == t.pid() {
			return errno(unix.EPERM)
		}
	}
	t.tg.sid, t.tg.pgid = t.pid(), t.pid()
	return int64(t.pid())
}

// sysGetsid: getsid(pid).
func sysGetsid(t *Task, a *args) int64 {
	pid := int(int32(a[0]))
	if pid == 0 {
		return int64(t.tg.sid)
	}
	p := t.k.findProcess(t, pid)
	if p == nil {
		return errno(unix.ESRCH)
	}
	return int64(p.tg.sid)
}
