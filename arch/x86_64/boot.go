package x86

import (
	"encoding/binary"
	"fmt"

	"github.com/bobuhiro11/gokvm/kvm"
	"github.com/nsvm/nsvm/vm"
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

// KernelCS is the 64-bit kernel code segment (0x10).
func KernelCS() kvm.Segment {
	return kvm.Segment{Limit: 0xffffffff, Selector: SelKernelCS, Typ: 11, Present: 1, DPL: 0, S: 1, L: 1, G: 1}
}

// KernelDS is the kernel data/stack segment (0x18).
func KernelDS() kvm.Segment {
	return kvm.Segment{Limit: 0xffffffff, Selector: SelKernelDS, Typ: 3, Present: 1, DPL: 0, S: 1, DB: 1, G: 1}
}

// UserDS is the user data/stack segment (0x2b).
func UserDS() kvm.Segment {
	return kvm.Segment{Limit: 0xffffffff, Selector: SelUserDS, Typ: 3, Present: 1, DPL: 3, S: 1, DB: 1, G: 1}
}

// CPL is the current privilege level in a synced register file.
func CPL(s *kvm.Sregs) int { return int(s.CS.DPL) }

// IsSyscallExit reports whether an exit on SyscallPort came from the
// ring-0 syscall stub. VMX reports RIP at the out instruction, PVM just
// past it.
func IsSyscallExit(r *kvm.Regs, s *kvm.Sregs) bool {
	return CPL(s) == 0 && (r.RIP == SyscallStub || r.RIP == SyscallStub+2)
}

// SyscallFrame is the interrupt frame the syscall stub's iretq will pop.
// At the exit it holds the entry's own return context (RIP just after
// the int at LSTAR); SyscallReturn rewrites it to SYSCALL's return
// context.
type SyscallFrame struct {
	mem []byte
	off uint64 // offset of the frame in guest physical memory
}

// Frame locates the syscall stub's interrupt frame from the kernel RSP at
// the exit. ok is false if RSP is not where the IST1 entry puts it.
func Frame(mem []byte, rsp uint64) (SyscallFrame, bool) {
	if rsp != KStackTop-5*8 {
		return SyscallFrame{}, false
	}
	return SyscallFrame{mem: mem, off: rsp - KernelBase}, true
}

func (f SyscallFrame) get(i int) uint64 { return binary.LittleEndian.Uint64(f.mem[f.off+uint64(i)*8:]) }
func (f SyscallFrame) put(i int, v uint64) {
	binary.LittleEndian.PutUint64(f.mem[f.off+uint64(i)*8:], v)
}

// FromEntry reports whether the #BP came from the LSTAR stub's int3, not
// from a program's own int3 (a breakpoint: SIGTRAP).
func (f SyscallFrame) FromEntry() bool { return f.get(0) == SyscallEntryNext }

// UserRIP is the return address the int pushed.
func (f SyscallFrame) UserRIP() uint64 { return f.get(0) }

// UserRFLAGS is the RFLAGS the trap pushed.
func (f SyscallFrame) UserRFLAGS() uint64 { return f.get(2) }

// UserRSP is the user stack pointer at the SYSCALL.
func (f SyscallFrame) UserRSP() uint64 { return f.get(3) }

// SetUserRIP changes the address the syscall returns to.
func (f SyscallFrame) SetUserRIP(v uint64) { f.put(0, v) }

// SetUserRSP changes the stack pointer the syscall returns with.
func (f SyscallFrame) SetUserRSP(v uint64) { f.put(3, v) }

// SyscallReturn prepares the return to user mode, as sysretq would: RIP
// from RCX, RFLAGS from R11, user CS/SS, the user RSP kept. RAX already
// holds the result; mark the registers dirty if RAX changed.
func (f SyscallFrame) SyscallReturn(r *kvm.Regs) {
	f.put(0, r.RCX)
	f.put(1, SelUserCS)
	f.put(2, r.R11&FlagsUser|FlagReserved)
	f.put(4, SelUserDS)
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
