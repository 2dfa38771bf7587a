package x86

import "encoding/binary"

// Exception vectors.
const (
	VecDE  = 0 // divide error
	VecDB  = 1 // debug
	VecNMI = 2
	VecBP  = 3 // int3
	VecOF  = 4
	VecBR  = 5
	VecUD  = 6 // invalid opcode
	VecNM  = 7
	VecDF  = 8
	VecTS  = 10
	VecNP  = 11
	VecSS  = 12
	VecGP  = 13
	VecPF  = 14
	VecMF  = 16
	VecAC  = 17
	VecMC  = 18
	VecXM  = 19
	VecVE  = 20
	VecCP  = 21

	// NumVectors is how many IDT gates nsvm installs (the exceptions).
	NumVectors = 32
)

var vecNames = [NumVectors]string{
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD error", "#VE virtualization",
	"#CP control protection",
}

// VectorName names an exception vector ("#PF page fault").
func VectorName(v int) string {
	if v >= 0 && v < NumVectors && vecNames[v] != "" {
		return vecNames[v]
	}
	return "vector " + itoa(v)
}

// HasErrorCode reports whether the CPU pushes an error code for vector v.
func HasErrorCode(v int) bool {
	switch v {
	case VecDF, VecTS, VecNP, VecSS, VecGP, VecPF, VecAC, VecCP, 29, 30:
		return true
	}
	return false
}

// Page-fault error code bits.
const (
	PFPresent = 1 << 0
	PFWrite   = 1 << 1
	PFUser    = 1 << 2
	PFRsvd    = 1 << 3
	PFInstr   = 1 << 4
	PFPK      = 1 << 5
)

// SetupKernelArea writes the GDT, IDT, TSS, entry stubs and kernel-half
// page tables into guest physical memory. mem is all of guest memory.
func SetupKernelArea(mem []byte) {
	le := binary.LittleEndian
	// GDT, Linux's layout (arch/x86/include/asm/segment.h).
	gdt := mem[PhysGDT:]
	le.PutUint64(gdt[0x08:], 0x00cf9b000000ffff) // kernel 32-bit code
	le.PutUint64(gdt[0x10:], 0x00af9b000000ffff) // kernel 64-bit code
	le.PutUint64(gdt[0x18:], 0x00cf93000000ffff) // kernel data
	le.PutUint64(gdt[0x20:], 0x00cffb000000ffff) // user 32-bit code
	le.PutUint64(gdt[0x28:], 0x00cff3000000ffff) // user data
	le.PutUint64(gdt[0x30:], 0x00affb000000ffff) // user 64-bit code
	putTSSDesc(gdt[SelTSS:], KernelBase+PhysTSS, tssLimit)

	// TSS: RSP0 is the kernel stack used for exception frames from user
	// mode. The I/O permission bitmap covers ports 0-255 and allows only
	// BenchPort, for the exit-floor benchmark's ring-3 `out` (IOPL stays
	// 0). Any other port traps with #GP, and a permitted `out` from
	// anywhere but the benchmark stub is refused by the VMM (it checks
	// RIP).
	tss := mem[PhysTSS : PhysTSS+tssLimit+1]
	le.PutUint64(tss[4:], KStackTop)
	le.PutUint64(tss[0x24:], KStackTop) // IST1, for #BP (the syscall entry)
	le.PutUint16(tss[102:], tssIOMap)
	iomap := tss[tssIOMap:]
	fill(iomap, 0xff)
	for _, p := range []int{BenchPort} {
		iomap[p/8] &^= 1 << (p % 8)
	}

	// Syscall entry, at LSTAR: one int3. SYSCALL lands here in ring 0 on
	// VMX/SVM but stays in ring 3 on PVM; the #BP reaches ring 0 either
	// way, on the IST1 stack (so that on VMX, already in ring 0, it never
	// pushes onto the user stack and its red zone). The #BP stub exits
	// with `out` and returns straight to user mode with iretq, through a
	// frame the VMM rewrote to SYSCALL's return context (RCX, R11, user
	// CS/SS). One path for both platforms, and every exit taken from ring
	// 0, which on PVM costs a fraction of an exit from ring 3 (see
	// bench/README.md). PVM answers `int $n` at the LSTAR landing with
	// #UD, which is why the one-byte int3 is used; a program's own int3
	// arrives at the same stub and is told apart by its return address.
	entry := mem[PhysEntry : PhysEntry+PageSize]
	fill(entry, 0xcc)
	copy(entry, []byte{0xcc, 0x0f, 0x0b})
	// The exit-floor benchmark's user-callable `out; ret`.
	copy(entry[BenchOutAddr-SyscallEntry:], []byte{0xe6, BenchPort, 0xc3})

	// Exception stubs: [push $0 when the CPU pushes no error code]
	// push $vector; out %al,$ExceptionPort; add $16,%rsp; iretq.
	stubs := mem[PhysStubs : PhysStubs+PageSize]
	fill(stubs, 0xcc)
	idt := mem[PhysIDT : PhysIDT+PageSize]
	for v := 0; v < NumVectors; v++ {
		s := stubs[v*stubStride:]
		var code []byte
		if !HasErrorCode(v) {
			code = append(code, 0x6a, 0x00)
		}
		code = append(code, 0x6a, byte(v), 0xe6, ExceptionPort, 0x48, 0x83, 0xc4, 0x10, 0x48, 0xcf)
		copy(s, code)
		dpl := 0
		if v == VecBP || v == VecOF {
			dpl = 3 // int3 and into are allowed from user mode, as on Linux
		}
		putIDTGate(idt[v*16:], StubBase+uint64(v*stubStride), SelKernelCS, dpl, 0)
	}
	copy(stubs[SyscallStub-StubBase:], []byte{0xe6, SyscallPort, 0x48, 0xcf})
	putIDTGate(idt[SyscallVector*16:], SyscallStub, SelKernelCS, 3, 1)

	// Kernel half: PML4[511] -> PDPT[510] -> PD[0] -> PT. Upper levels
	// carry U so that the entry page can be user-accessible (on PVM the
	// LSTAR code runs at CPL3); every other kernel page is supervisor.
	le.PutUint64(mem[PhysKPDPT+510*8:], PhysKPD|PTEPresent|PTEWrite|PTEUser)
	le.PutUint64(mem[PhysKPD:], PhysKPT|PTEPresent|PTEWrite|PTEUser)
	pt := mem[PhysKPT:]
	for _, p := range []uint64{PhysGDT, PhysIDT, PhysTSS} {
		le.PutUint64(pt[p/PageSize*8:], p|PTEPresent|PTEWrite|PTEAccessed|PTEDirty|PTENX)
	}
	le.PutUint64(pt[PhysEntry/PageSize*8:], PhysEntry|PTEPresent|PTEUser|PTEAccessed)
	le.PutUint64(pt[PhysStubs/PageSize*8:], PhysStubs|PTEPresent|PTEAccessed)
	for i := uint64(0); i < shootdownPages; i++ {
		p := PhysShootdown + i*PageSize
		le.PutUint64(pt[p/PageSize*8:], p|PTEPresent|PTEWrite|PTEAccessed|PTEDirty|PTENX)
	}
	copy(stubs[ShootdownStub-StubBase:], shootdownCode())

	// The direct map: every 2 MiB of guest memory, supervisor RW.
	for gib := uint64(0); gib*(1<<30) < uint64(len(mem)); gib++ {
		pd := PhysDMPD + gib*PageSize
		le.PutUint64(mem[PhysDMPDPT+gib*8:], pd|PTEPresent|PTEWrite)
		for i := uint64(0); i < 512; i++ {
			pa := gib<<30 | i<<21
			if pa >= uint64(len(mem)) {
				break
			}
			le.PutUint64(mem[pd+i*8:], pa|PTEPresent|PTEWrite|PTEHuge|PTEAccessed|PTEDirty|PTENX)
		}
	}
	for p := uint64(PhysKStack); p < PhysKStackTop; p += PageSize {
		le.PutUint64(pt[p/PageSize*8:], p|PTEPresent|PTEWrite|PTEAccessed|PTEDirty|PTENX)
	}
}

// The TSS: the 104-byte 64-bit TSS, a 32-byte I/O bitmap for ports
// 0-255, and the all-ones byte the CPU requires after it.
const (
	tssIOMap = 0x68
	tssLimit = tssIOMap + 32
)

// KernelPML4E is the PML4 slot-511 entry every address space carries;
// DirectMapPML4E is slot 273's.
const (
	KernelPML4E    = PhysKPDPT | PTEPresent | PTEWrite | PTEUser
	DirectMapPML4E = PhysDMPDPT | PTEPresent | PTEWrite
)

func putTSSDesc(d []byte, base uint64, limit uint32) {
	le := binary.LittleEndian
	lo := uint64(limit&0xffff) | (base&0xffffff)<<16 | uint64(0x89)<<40 |
		uint64(limit>>16&0xf)<<48 | (base>>24&0xff)<<56
	le.PutUint64(d, lo)
	le.PutUint64(d[8:], base>>32)
}

func putIDTGate(d []byte, handler uint64, sel uint16, dpl, ist int) {
	le := binary.LittleEndian
	le.PutUint16(d[0:], uint16(handler))
	le.PutUint16(d[2:], sel)
	d[4] = byte(ist)
	d[5] = 0x8e | byte(dpl)<<5               // present, 64-bit interrupt gate
	le.PutUint16(d[6:], uint16(handler>>16)) //
	le.PutUint32(d[8:], uint32(handler>>32))
	le.PutUint32(d[12:], 0)
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
