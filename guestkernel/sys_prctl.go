package guestkernel

import (
	"golang.org/x/sys/unix"
)

// prctl(2): the options nsvm models. The "dumpable" flag is kept and
// reported, the task name is comm, the parent-death signal and keepcaps
// are recorded.

// sysPrctl: prctl(option, arg2, ...).
func sysPrctl(t *Task, a *args) int64 {
	switch a[0] {
	case unix.PR_SET_DUMPABLE:
		if a[1] > 1 {
			return errno(unix.EINVAL)
		}
		t.tg.dumpable = a[1] == 1
		t.tg.dumpableSet = true
		return 0
	case unix.PR_GET_DUMPABLE:
		if t.tg.dumpableSet && !t.tg.dumpable {
			return 0
		}
		return 1
	case unix.PR_SET_NAME:
		// strncpy_from_user(comm, arg2, sizeof(comm) - 1): at most
		// 15 bytes are read, a longer name is cut.
		name, e := t.mm.strncpy(a[1], 15)
		if e != 0 {
			return errno(e)
		}
		t.comm = name
		return 0
	case unix.PR_GET_NAME:
		var b [16]byte
		copy(b[:], t.comm)
		return errno(t.mm.copyOut(a[1], b[:]))
	case unix.PR_SET_PDEATHSIG:
		if a[1] > nsig {
			return errno(unix.EINVAL)
		}
		t.pdeathSig = int(a[1])
		return 0
	case unix.PR_GET_PDEATHSIG:
		return errno(t.mm.writeU32(a[1], uint32(t.pdeathSig)))
	case unix.PR_SET_KEEPCAPS:
		if a[1] > 1 {
			return errno(unix.EINVAL)
		}
		t.keepCaps = a[1] == 1
		return 0
	case unix.PR_GET_KEEPCAPS:
		if t.keepCaps {
			return 1
		}
		return 0
	}
	return errno(unix.EINVAL)
}
