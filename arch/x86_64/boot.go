package x86

import (
	"fmt"

	"github.com/bobuhiro11/gokvm/kvm"
	"nsvm/vm"
)

// Boot configures a vCPU for 64-bit long mode with nsvm's kernel area:
// CPUID and XCR0 (so user code can use the host's AVX/AVX-512), the
// SYSCALL MSRs, and control registers. It does not pick a task; call
// EnterUser for that.
func Boot(c *vm.VCPU, supported []vm.CPUIDEntry, xcr0Limit uint64) (GuestFeatures, error) {
	f := ComposeCPUID(supported, xcr0Limit)
	if err := c.SetCPUID(f.CPUID); err != nil {
		return f, err
	}
	s := BaseSregs()
	s.CR3 = 0 // set by EnterUser
	if err := c.SetSregs(&s); err != nil {
		return f, err
	}
	if err := c.SetXCR0(f.XCR0); err != nil {
		return f, err
	}
	err := c.SetMSRs(
		vm.MSR{Index: MSRSTAR, Value: uint64(SelUser32CS)<<48 | uint64(SelKernelCS)<<32},
		vm.MSR{Index: MSRLSTAR, Value: SyscallEntry},
		vm.MSR{Index: MSRCSTAR, Value: SyscallEntry},
		// Linux's mask: TF DF IF IOPL AC NT are cleared on entry.
		vm.MSR{Index: MSRSyscallMask, Value: FlagTF | FlagDF | FlagIF | FlagIOPL | FlagAC | FlagNT},
		vm.MSR{Index: MSRKernelGSBase, Value: 0},
	)
	if err != nil {
		return f, fmt.Errorf("syscall MSRs: %w", err)
	}
	return f, nil
}

// BaseSregs returns long-mode special registers with user code/data
// segments loaded (CPL3), the kernel GDT/IDT/TSS, paging on.
func BaseSregs() kvm.Sregs {
	var s kvm.Sregs
	s.CS = UserCS()
	s.SS = UserDS()
	s.DS, s.ES = UserDS(), UserDS()
	s.DS.Selector, s.ES.Selector = 0, 0 // Linux starts processes with null DS/ES
	s.FS = kvm.Segment{Typ: 3, Present: 1, DPL: 3, S: 1, DB: 1, G: 1, Limit: 0xffffffff}
	s.GS = s.FS
	s.TR = kvm.Segment{Base: KernelBase + PhysTSS, Limit: tssLimit, Selector: SelTSS, Typ: 11, Present: 1}
	s.LDT = kvm.Segment{Typ: 2, Present: 1, Unusable: 1}
	s.GDT = kvm.Descriptor{Base: KernelBase + PhysGDT, Limit: 0x4f}
	s.IDT = kvm.Descriptor{Base: KernelBase + PhysIDT, Limit: NumVectors*16 - 1}
	s.CR0 = CR0PE | CR0MP | CR0ET | CR0NE | CR0WP | CR0PG
	s.CR4 = CR4PAE | CR4OSFXSR | CR4OSXMMEXCPT | CR4OSXSAVE
	s.EFER = EFERSCE | EFERLME | EFERLMA | EFERNXE
	return s
}

// UserCS is the 64-bit user code segment (0x33).
func UserCS() kvm.Segment {
	return kvm.Segment{Limit: 0xffffffff, Selector: SelUserCS, Typ: 11, Present: 1, DPL: 3, S: 1, L: 1, G: 1}
}

// UserDS is the user data/stack segment (0x2b).
func UserDS() kvm.Segment {
	return kvm.Segment{Limit: 0xffffffff, Selector: SelUserDS, Typ: 3, Present: 1, DPL: 3, S: 1, DB: 1, G: 1}
}

// CPL is the current privilege level in a synced register file.
func CPL(s *kvm.Sregs) int { return int(s.CS.DPL) }

// IsSyscallExit reports whether an exit on SyscallPort came from the entry
// stub. VMX reports RIP at the out instruction (KVM skips it on the next
// entry unless RIP was changed); PVM has already advanced it. The port is
// open in the TSS I/O bitmap, so user code could `out` to it from
// anywhere: only the stub's address counts.
func IsSyscallExit(r *kvm.Regs) bool { return r.RIP == SyscallEntry || r.RIP == SysretAddr }

// SyscallReturn finishes a syscall: it returns to user mode at the address
// SYSCALL saved in RCX, with RFLAGS from R11, RAX already holding the
// result. The way back depends on where the entry ran, read from the live
// CS at this exit rather than guessed once:
//   - CPL0 (VMX/SVM: SYSCALL switched to ring 0): resume at the stub's
//     sysretq, which does exactly that in hardware;
//   - CPL3 (PVM: SYSCALL stayed in ring 3 and sysretq would #GP): set
//     RIP and RFLAGS here, which is what sysretq would have done.
//
// It returns the KVM sync mask to mark dirty (regs only).
func SyscallReturn(r *kvm.Regs, s *kvm.Sregs) uint64 {
	if CPL(s) == 0 {
		r.RIP = SysretAddr
	} else {
		r.RIP = r.RCX
		r.RFLAGS = r.R11&FlagsUser | FlagReserved
	}
	return vm.SyncRegs
}

// EnterUser loads a complete user context into the sync area: the general
// registers, user CS/SS at CPL3, FS/GS bases and CR3. Used at exec, for a
// task switch and to leave an exception frame without iretq. It returns
// the sync mask to mark dirty.
func EnterUser(r *kvm.Regs, s *kvm.Sregs, regs *kvm.Regs, fsBase, gsBase, cr3 uint64) uint64 {
	*r = *regs
	r.RFLAGS = regs.RFLAGS&FlagsUser | FlagReserved
	s.CS = UserCS()
	s.SS = UserDS()
	s.FS.Base = fsBase
	s.GS.Base = gsBase
	s.CR3 = cr3
	return vm.SyncRegs | vm.SyncSregs
}
