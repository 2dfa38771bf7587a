package guestkernel

import (
	"fmt"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
)

// args are a syscall's six arguments in x86-64 order: rdi rsi rdx r10 r8 r9.
type args [6]uint64

// sysFunc implements one syscall: it returns the value for RAX, a
// negative errno on failure, as a kernel's sys_* function does.
type sysFunc func(t *Task, a *args) int64

// syscallEntry is one row of the table: the handler.
type syscallEntry struct {
	fn sysFunc
}

// forks reports the process-creating syscalls, which need the caller's
// full user frame (copy_thread): clone, fork, vfork, clone3.
func forks(nr uint64) bool { return nr >= 56 && nr <= 58 || nr == 435 }

func errno(e unix.Errno) int64 { return -int64(e) }

// syscall dispatches the syscall in r (SYSCALL's frame: RAX number, RCX
// return address, R11 flags) and prepares the return to user mode in the
// iretq frame f. It reports true when the calling task simply goes on
// (the fast path: RAX and the frame are set); otherwise the scheduler
// decides what runs next.
func (k *Kernel) syscall(t *Task, r *kvm.Regs, s *kvm.Sregs, f x86.SyscallFrame) bool {
	k.Stats.Syscalls++
	nr := r.RAX
	// The arguments live in the kernel, not on the stack: a pointer
	// passed through the table's function values would make a local
	// escape to the heap on every syscall.
	k.sysArgs = args{r.RDI, r.RSI, r.RDX, r.R10, r.R8, r.R9}
	a := &k.sysArgs
	k.sysUserRSP = f.UserRSP()
	var e *syscallEntry
	if nr < uint64(len(syscallTable)) && syscallTable[nr].fn != nil {
		e = &syscallTable[nr]
	}
	k.sregs = s
	if forks(nr) {
		// copy_thread starts the child from this user frame.
		k.forkFrame = uctx{regs: *r, fsBase: s.FS.Base, gsBase: s.GS.Base}
		k.forkFrame.regs.RIP = r.RCX
		k.forkFrame.regs.RFLAGS = r.R11
		k.forkFrame.regs.RSP = f.UserRSP()
	}
	if k.cfg.Trace != nil {
		k.traceEnter(t, nr, a)
	}
	var armed bool
	var before auditState
	if k.cfg.FailArm != nil {
		armed, before = k.armEntry(t, nr, r, s)
	}
	var ret int64
	if e == nil {
		ret = k.unknownSyscall(nr)
	} else {
		ret = e.fn(t, a)
	}
	if armed {
		res := ret
		if ret == errBlocked {
			res = t.wait.result
		}
		k.armExit(t, res, r, s, before)
	}
	switch ret {
	case errRestart:
		// Sleep, then execute the SYSCALL again (its 2 bytes end at
		// RCX) with the number back in RAX.
		r.RAX = nr
		f.SyscallReturn(r)
		f.SetUserRIP(r.RCX - 2)
		t.wait.nr = nr
		if k.cfg.Trace != nil {
			k.traceSleep(t, nr, true)
		}
	case errBlocked:
		f.SyscallReturn(r)
		t.wait.nr = nr
		if k.cfg.Trace != nil {
			k.traceSleep(t, nr, false)
		}
	case errSigreturn:
		// The context came from the signal frame (t.ctx, off the vCPU):
		// the task goes on first, through a full load.
		k.runq = append([]*Task{t}, k.runq...)
		if k.cfg.Trace != nil {
			k.traceExit(t, nr, int64(t.ctx.regs.RAX))
		}
	case errYield:
		ret = 0
		if k.cfg.Trace != nil {
			k.traceExit(t, nr, ret)
		}
		r.RAX = 0
		f.SyscallReturn(r)
		t.ctx = k.liveCtx(r, s, exitFrame{at: r.RSP, ok: true})
		t.onCPU = false
		k.runq = append(k.runq, t)
	default:
		if k.cfg.Trace != nil {
			k.traceExit(t, nr, ret)
		}
		r.RAX = uint64(ret)
		f.SyscallReturn(r)
	}
	return t.state == taskRunnable && t.onCPU && k.current == t && !k.shoot.Pending() && !t.sregsDirty &&
		(t.pending|t.tg.pending)&^t.sigmask == 0
}

// unknownSyscall returns ENOSYS and reports the number once, with its name.
func (k *Kernel) unknownSyscall(nr uint64) int64 {
	if nr < uint64(len(k.warned)) {
		if !k.warned[nr] {
			k.warned[nr] = true
			fmt.Fprintf(k.cfg.Log, "nsvm: unsupported syscall %d (%s): returning ENOSYS\n", nr, sysName(nr))
		}
	}
	return errno(unix.ENOSYS)
}
