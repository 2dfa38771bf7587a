package guestkernel

import (
	"fmt"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"

	x86 "nsvm/arch/x86_64"
	"nsvm/vm"
)

// args are a syscall's six arguments in x86-64 order: rdi rsi rdx r10 r8 r9.
type args [6]uint64

// sysFunc implements one syscall: it returns the value for RAX, a
// negative errno on failure, as a kernel's sys_* function does.
type sysFunc func(t *Task, a *args) int64

// syscallEntry is one row of the table: the handler and how --trace
// prints its arguments (see trace.go for the letters).
type syscallEntry struct {
	fn  sysFunc
	fmt string
}

func errno(e unix.Errno) int64 { return -int64(e) }

// syscall dispatches the syscall in r (SYSCALL's frame: RAX number, RCX
// return address, R11 flags) and sets up the return to user mode.
func (k *Kernel) syscall(t *Task, r *kvm.Regs, s *kvm.Sregs, f x86.SyscallFrame) uint64 {
	k.Stats.Syscalls++
	nr := r.RAX
	a := args{r.RDI, r.RSI, r.RDX, r.R10, r.R8, r.R9}
	var e *syscallEntry
	if nr < uint64(len(syscallTable)) && syscallTable[nr].fn != nil {
		e = &syscallTable[nr]
	}
	if k.cfg.Trace != nil {
		k.traceEnter(t, nr, e, &a)
	}
	var ret int64
	if e == nil {
		ret = k.unknownSyscall(nr)
	} else {
		ret = e.fn(t, &a)
	}
	if k.cfg.Trace != nil {
		k.traceExit(t, nr, e, &a, ret)
	}
	if k.done || t.state != taskRunning {
		return 0
	}
	r.RAX = uint64(ret)
	f.SyscallReturn(r)
	dirty := uint64(vm.SyncRegs)
	if t.sregsDirty {
		t.sregsDirty = false
		s.FS.Base, s.GS.Base = t.fsBase, t.gsBase
		dirty |= vm.SyncSregs
	}
	return dirty
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

func sysName(nr uint64) string {
	if nr < uint64(len(sysNames)) && sysNames[nr] != "" {
		return sysNames[nr]
	}
	return fmt.Sprintf("syscall_%d", nr)
}
