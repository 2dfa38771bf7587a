package guestkernel

import (
	"golang.org/x/sys/unix"
)

const (
	archSetGS    = 0x1001
	archSetFS    = 0x1002
	archGetFS    = 0x1003
	archGetGS    = 0x1004
	archGetCPUID = 0x1011
)

// sysArchPrctl: arch_prctl(2). The FS/GS bases are loaded into the vCPU's
// segment registers on the way back to user mode.
func sysArchPrctl(t *Task, a *args) int64 {
	code, addr := a[0], a[1]
	switch code {
	case archSetFS, archSetGS:
		if addr >= taskSize {
			return errno(unix.EPERM)
		}
		t.ctx.fsBase, t.ctx.gsBase = t.k.sregs.FS.Base, t.k.sregs.GS.Base
		if code == archSetFS {
			t.ctx.fsBase = addr
		} else {
			t.ctx.gsBase = addr
		}
		t.sregsDirty = true
		return 0
	case archGetFS:
		return errno(t.mm.writeU64(addr, t.k.sregs.FS.Base))
	case archGetGS:
		return errno(t.mm.writeU64(addr, t.k.sregs.GS.Base))
	case archGetCPUID:
		return 1 // CPUID is not faulting
	}
	return errno(unix.EINVAL)
}

// sysSetTidAddress: set_tid_address(2) records clear_child_tid.
func sysSetTidAddress(t *Task, a *args) int64 {
	t.clearChildTID = a[0]
	return int64(t.tid)
}

const robustListHeadLen = 24

// sysSetRobustList: set_robust_list(2) records the head.
func sysSetRobustList(t *Task, a *args) int64 {
	if a[1] != robustListHeadLen {
		return errno(unix.EINVAL)
	}
	t.robustList, t.robustLen = a[0], a[1]
	return 0
}

// sysRseq: restartable sequences are not modelled. glibc treats ENOSYS as
// "rseq unavailable" and carries on, so this is a deliberate answer, not
// an unknown syscall.
func sysRseq(t *Task, a *args) int64 { return errno(unix.ENOSYS) }
