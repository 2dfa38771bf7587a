package guestkernel

// wait4 and waitid (kernel/exit.c do_wait): choose the eligible children,
// report a zombie (and reap it), a stopped or a continued child, or sleep
// until one changes state. Spec §1.7.

import (
	"golang.org/x/sys/unix"
)

const (
	wNoHang    = 0x1
	wUntraced  = 0x2 // WSTOPPED for waitid
	wExited    = 0x4
	wContinued = 0x8
	wNoWait    = 0x01000000
	wNoThread  = 0x20000000
	wAll       = 0x40000000
	wClone     = 0x80000000
)

// waitOpts is struct wait_opts.
type waitOpts struct {
	idtype  int // pALL, pPID, pPGID
	id      int
	options uint64
}

const (
	pAll   = 0
	pPID   = 1
	pPGID  = 2
	pPIDFD = 3
)

// waitResult is what a successful wait reports.
type waitResult struct {
	child  *Task
	pid    int
	status int // wait4's status word
	code   int // waitid's si_code
	data   int // waitid's si_status
	uid    uint32
}

// eligible is eligible_child: the id selection and the __WCLONE/__WALL
// rule (a "clone child" is one whose exit signal is not SIGCHLD).
func (k *Kernel) eligible(w *Task, o *waitOpts, c *Task) bool {
	switch o.idtype {
	case pPID:
		if k.pidInNS(w, c) != o.id {
			return false
		}
	case pPGID:
		if c.tg.pgid != o.id {
			return false
		}
	}
	if o.options&wAll != 0 {
		return true
	}
	cloneChild := c.exitSignal != int(unix.SIGCHLD)
	return cloneChild == (o.options&wClone != 0)
}

// doWait looks for a child to report. It returns the result, or found =
// false with hasChildren telling ECHILD from "sleep".
func (k *Kernel) doWait(w *Task, o *waitOpts) (res waitResult, found, hasChildren bool) {
	waiters := []*Task{w}
	if o.options&wNoThread == 0 {
		waiters = w.tg.threads
	}
	for _, th := range waiters {
		for _, c := range th.children {
			if !c.isLeader() || !k.eligible(w, o, c) {
				continue
			}
			hasChildren = true
			tg := c.tg
			switch {
			case c.state == taskZombie && len(tg.threads) == 0 && o.options&wExited != 0:
				res = waitResult{child: c, pid: k.pidInNS(w, c), status: c.exitStatus, uid: c.cred.uid}
				if wifsignaled(c.exitStatus) {
					res.code, res.data = cldKilled, c.exitStatus&0x7f
				} else {
					res.code, res.data = cldExited, c.exitStatus>>8&0xff
				}
				if o.options&wNoWait == 0 {
					k.releaseTask(c)
				}
				return res, true, true
			case tg.stopped && !tg.stopReported && o.options&wUntraced != 0:
				res = waitResult{child: c, pid: k.pidInNS(w, c), status: stoppedStatus(tg.stopSig), code: cldStopped, data: tg.stopSig, uid: c.cred.uid}
				if o.options&wNoWait == 0 {
					tg.stopReported = true
				}
				return res, true, true
			case tg.continued && o.options&wContinued != 0:
				res = waitResult{child: c, pid: k.pidInNS(w, c), status: 0xffff, code: cldContinued, data: int(unix.SIGCONT), uid: c.cred.uid}
				if o.options&wNoWait == 0 {
					tg.continued = false
				}
				return res, true, true
			}
		}
	}
	return res, false, hasChildren
}

// waitReq is a sleeping wait4/waitid call, finished by the kernel when a
// child changes state (so the waiter needs no second syscall exit).
type waitReq struct {
	opts                  waitOpts
	status, rusage, infop uint64
	waitid                bool
}

// wakeWaiters lets the threads of tg sleeping in wait look again; those
// that find a child complete their call now.
func (k *Kernel) wakeWaiters(tg *threadGroup) {
	for _, th := range append([]*Task(nil), tg.threads...) {
		if th.state != taskBlocked || th.wait.kind != waitChild {
			continue
		}
		req := th.wait.obj.(*waitReq)
		res, found, has := k.doWait(th, &req.opts)
		switch {
		case found:
			k.wake(th, th.reportWait(req, res, true))
		case !has:
			k.wake(th, errno(unix.ECHILD))
		}
	}
}

// reportWait stores a wait result in the waiter's memory and returns the
// syscall's value.
func (t *Task) reportWait(req *waitReq, res waitResult, found bool) int64 {
	if req.rusage != 0 {
		var ru [144]byte // struct rusage: nsvm does not account CPU time
		if e := t.mm.copyOut(req.rusage, ru[:]); e != 0 {
			return errno(e)
		}
	}
	if req.waitid {
		if req.infop != 0 {
			// siginfo_t (128 bytes): signo, errno, code, then pid,
			// uid, status for SIGCHLD. WNOHANG with nothing to
			// report zeroes the fields.
			var si [128]byte
			if found {
				le.PutUint32(si[0:], uint32(unix.SIGCHLD))
				le.PutUint32(si[8:], uint32(res.code))
				le.PutUint32(si[16:], uint32(res.pid))
				le.PutUint32(si[20:], res.uid)
				le.PutUint32(si[24:], uint32(res.data))
			}
			if e := t.mm.copyOut(req.infop, si[:]); e != 0 {
				return errno(e)
			}
		}
		return 0
	}
	if req.status != 0 {
		if e := t.mm.writeU32(req.status, uint32(res.status)); e != 0 {
			return errno(e)
		}
	}
	return int64(res.pid)
}

// sysWait4: wait4(pid, wstatus, options, rusage).
func sysWait4(t *Task, a *args) int64 {
	upid, statusAddr, options, rusage := int32(a[0]), a[1], a[2], a[3]
	if options&^uint64(wNoHang|wUntraced|wContinued|wNoThread|wAll|wClone) != 0 {
		return errno(unix.EINVAL)
	}
	o := waitOpts{options: options | wExited}
	switch {
	case upid == -2147483648:
		return errno(unix.ESRCH)
	case upid == -1:
		o.idtype = pAll
	case upid < 0:
		o.idtype, o.id = pPGID, -1
		if g := t.k.findProcess(t, int(-upid)); g != nil {
			o.id = g.tid
		}
	case upid == 0:
		o.idtype, o.id = pPGID, t.tg.pgid
	default:
		o.idtype, o.id = pPID, int(upid)
	}
	req := &waitReq{opts: o, status: statusAddr, rusage: rusage}
	res, found, has := t.k.doWait(t, &o)
	if !found {
		if !has {
			return errno(unix.ECHILD)
		}
		if options&wNoHang != 0 {
			return 0
		}
		return t.blockResult(waitChild, req, zeroTime, 0)
	}
	return t.reportWait(req, res, true)
}

// si_code values for SIGCHLD.
const (
	cldExited    = 1
	cldKilled    = 2
	cldDumped    = 3
	cldStopped   = 5
	cldContinued = 6
)

// sysWaitid: waitid(idtype, id, infop, options, rusage).
func sysWaitid(t *Task, a *args) int64 {
	idtype, id, infop, options, rusage := int(a[0]), int32(a[1]), a[2], a[3], a[4]
	if options&^uint64(wNoHang|wNoWait|wExited|wUntraced|wContinued|wNoThread|wAll|wClone) != 0 {
		return errno(unix.EINVAL)
	}
	if options&(wExited|wUntraced|wContinued) == 0 {
		return errno(unix.EINVAL)
	}
	o := waitOpts{options: options}
	switch idtype {
	case pAll:
	case pPID:
		if id <= 0 {
			return errno(unix.EINVAL)
		}
		o.idtype, o.id = pPID, int(id)
	case pPGID:
		if id < 0 {
			return errno(unix.EINVAL)
		}
		o.idtype, o.id = pPGID, t.tg.pgid
		if id != 0 {
			o.id = -1
			if g := t.k.findProcess(t, int(id)); g != nil {
				o.id = g.tid
			}
		}
	case pPIDFD:
		f, e := t.files.get(uint64(id))
		if e != 0 {
			return errno(e)
		}
		if f.kind != filePidfd {
			return errno(unix.EINVAL)
		}
		o.idtype, o.id = pPID, t.k.pidInNS(t, f.pidfd)
	default:
		return errno(unix.EINVAL)
	}
	req := &waitReq{opts: o, rusage: rusage, infop: infop, waitid: true}
	res, found, has := t.k.doWait(t, &o)
	if !found {
		if !has {
			return errno(unix.ECHILD)
		}
		if options&wNoHang == 0 {
			return t.blockResult(waitChild, req, zeroTime, 0)
		}
	}
	return t.reportWait(req, res, found)
}
