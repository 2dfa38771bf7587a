package guestkernel

import (
	"crypto/rand"
	"time"

	"golang.org/x/sys/unix"
)

func sysGetpid(t *Task, a *args) int64  { return int64(t.pid()) }
func sysGettid(t *Task, a *args) int64  { return int64(t.k.tidInNS(t, t)) }
func sysGetppid(t *Task, a *args) int64 { return int64(t.ppid()) }

const (
	grndNonblock = 1
	grndRandom   = 2
	grndInsecure = 4
)

// sysGetrandom: getrandom(2) from the host's CSPRNG.
func sysGetrandom(t *Task, a *args) int64 {
	buf, n, flags := a[0], a[1], a[2]
	if flags&^uint64(grndNonblock|grndRandom|grndInsecure) != 0 ||
		flags&(grndRandom|grndInsecure) == grndRandom|grndInsecure {
		return errno(unix.EINVAL)
	}
	n = min(n, maxRWCount)
	if !accessOK(buf, n) {
		return errno(unix.EFAULT)
	}
	b := t.k.buf(min(n, 1<<20))
	rand.Read(b)
	if e := t.mm.copyOut(buf, b); e != 0 {
		return errno(e)
	}
	return int64(len(b))
}

// Resource limits (include/uapi/asm-generic/resource.h).
const rlimNlimits = 16

type rlimit struct{ cur, max uint64 }

// initRlimits starts from the host process's limits, so getrlimit in the
// guest matches the native run.
func (tg *threadGroup) initRlimits() {
	for r := 0; r < rlimNlimits; r++ {
		var l unix.Rlimit
		if err := unix.Getrlimit(r, &l); err == nil {
			tg.rlimits[r] = rlimit{l.Cur, l.Max}
		} else {
			tg.rlimits[r] = rlimit{unix.RLIM_INFINITY, unix.RLIM_INFINITY}
		}
	}
}

// sysPrlimit64: prlimit64(2) for the calling process (pid 0 or its own).
func sysPrlimit64(t *Task, a *args) int64 {
	pid, res, newp, oldp := int64(int32(a[0])), a[1], a[2], a[3]
	if res >= rlimNlimits {
		return errno(unix.EINVAL)
	}
	target := t.tg
	if pid != 0 && pid != int64(t.pid()) {
		p := t.k.findProcess(t, int(pid))
		if p == nil || !p.alive() {
			return errno(unix.ESRCH)
		}
		target = p.tg
	}
	var nl rlimit
	if newp != 0 {
		var b [16]byte
		if e := t.mm.copyIn(b[:], newp); e != 0 {
			return errno(e)
		}
		nl = rlimit{le.Uint64(b[:]), le.Uint64(b[8:])}
		if nl.cur > nl.max {
			return errno(unix.EINVAL)
		}
		// Raising the hard limit needs CAP_SYS_RESOURCE.
		if nl.max > target.rlimits[res].max && t.cred.euid != 0 {
			return errno(unix.EPERM)
		}
	}
	if oldp != 0 {
		var b [16]byte
		le.PutUint64(b[:], target.rlimits[res].cur)
		le.PutUint64(b[8:], target.rlimits[res].max)
		if e := t.mm.copyOut(oldp, b[:]); e != 0 {
			return errno(e)
		}
	}
	if newp != 0 {
		target.rlimits[res] = nl
	}
	return 0
}

// sysGetrlimit: getrlimit(2).
func sysGetrlimit(t *Task, a *args) int64 {
	return sysPrlimit64(t, &args{0, a[0], 0, a[1]})
}

// sysSysinfo: sysinfo(2) describes the guest: its memory and tasks.
func sysSysinfo(t *Task, a *args) int64 {
	k := t.k
	var b [112]byte
	le.PutUint64(b[0:], uint64(time.Since(k.boot).Seconds()))
	le.PutUint64(b[32:], uint64(len(k.mem)))                 // totalram
	le.PutUint64(b[40:], uint64(k.pages.Free())*pageSize)    // freeram
	le.PutUint16(b[80:], uint16(min(k.liveTasks(), 0xffff))) // procs
	le.PutUint32(b[104:], 1)                                 // mem_unit
	return errno(t.mm.copyOut(a[0], b[:]))
}
