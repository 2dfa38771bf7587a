// Package x86 is nsvm's x86-64 architecture layer: 64-bit long mode set up
// directly (page tables, GDT/IDT/TSS, MSRs, CR/EFER), the guest CPUID and
// XCR0, the XSAVE layout, the syscall and exception entry stubs, FPU state
// duplication for fork, and decoding of guest code for crash reports.
//
// The guest "kernel" here is tiny: a handful of ring-0 pages holding the
// descriptor tables, a kernel stack for exception frames and a few stub
// instructions. The guest enters the VMM only with an `out` from ring 0,
// on a port that says what it is (the exit-floor benchmark's ring-3 `out`
// to BenchPort aside). A syscall goes SYSCALL → `int3` at LSTAR (in ring 0
// on VMX/SVM, still in ring 3 on PVM) → #BP through a DPL-3 gate on the
// IST1 stack → the ring-0 stub `out %al,$SyscallPort; iretq`; the VMM
// writes the result and rewrites the iretq frame to SYSCALL's return
// context (SyscallFrame.SyscallReturn). An exception goes through its own
// stub, `push $vector; out %al,$ExceptionPort`. The TSS I/O bitmap opens
// only BenchPort; no other port is open to user code.
// Everything a kernel does lives in Go (package guestkernel).
//
// It knows nothing of processes or namespaces.
package x86

// Guest physical layout of the kernel area (the first 2 MiB), mapped at
// KernelBase in every address space.
const (
	PhysGDT       = 0x1000
	PhysIDT       = 0x2000
	PhysTSS       = 0x3000
	PhysEntry     = 0x4000 // syscall entry page: user-accessible, read+exec
	PhysStubs     = 0x5000 // exception stubs: supervisor only
	PhysKStack    = 0x6000 // kernel stack, 4 pages
	PhysKStackTop = 0xA000
	PhysKPDPT     = 0x10000 // kernel half page tables
	PhysKPD       = 0x11000
	PhysKPT       = 0x12000
	PhysDMPDPT    = 0x13000 // direct map: PDPT, then one PD per GiB
	PhysDMPD      = 0x20000
	PhysShootdown = 0x14000 // shootdown list, shootdownPages pages

	// DirectMap is where all of guest physical memory is mapped for
	// ring 0 (PML4 slot 273, Linux's direct map), supervisor-only, with
	// 2 MiB pages. Only the shootdown stub uses it.
	DirectMap     = 0xffff888000000000
	directMapSlot = 273
	// MaxGuestMem is what the direct map's page tables can cover.
	MaxGuestMem = 64 << 30

	// KernelAreaSize is the physical memory reserved for the above; the
	// page allocator hands out memory from here up.
	KernelAreaSize = 2 << 20

	// KernelBase is where physical 0 of the kernel area appears
	// (PML4 slot 511, PDPT slot 510), as in Linux's __START_KERNEL_map.
	KernelBase = 0xffffffff80000000

	// SyscallEntry is MSR_LSTAR: `int3`.
	SyscallEntry = KernelBase + PhysEntry
	// SyscallEntryNext is the address the int3 pushes as its return RIP.
	SyscallEntryNext = SyscallEntry + 1
	// StubBase is the first exception stub; vector v is at StubBase+16*v.
	StubBase = KernelBase + PhysStubs
	// SyscallStub is the ring-0 handler of #BP:
	// `out %al,$SyscallPort; iretq`.
	SyscallStub = StubBase + 0x200
	// IretStub is the syscall stub's iretq, where the VMM resumes a
	// task whose frame it wrote.
	IretStub   = SyscallStub + 2
	KStackTop  = KernelBase + PhysKStackTop
	stubStride = 16

	// BenchOutAddr is a user-callable `out %al,$BenchPort; ret` used only
	// by the exit-floor benchmark.
	BenchOutAddr = SyscallEntry + 0x40
)

// SyscallVector is the exception the SYSCALL entry raises to reach ring 0:
// #BP, from a one-byte int3 at LSTAR (see SetupKernelArea).
const SyscallVector = VecBP

// Ports the stubs use to reach the VMM.
const (
	SyscallPort   = 0xE8
	ExceptionPort = 0xE9
	BenchPort     = 0xEA
)

// Segment selectors, in Linux's GDT order so that the guest sees the same
// CS/SS values as on Linux (__USER_CS=0x33, __USER_DS=0x2b).
const (
	SelKernelCS = 0x10
	SelKernelDS = 0x18
	SelUser32CS = 0x23
	SelUserDS   = 0x2b
	SelUserCS   = 0x33
	SelTSS      = 0x40
)

// MSRs.
const (
	MSREFER         = 0xc0000080
	MSRSTAR         = 0xc0000081
	MSRLSTAR        = 0xc0000082
	MSRCSTAR        = 0xc0000083
	MSRSyscallMask  = 0xc0000084
	MSRFSBase       = 0xc0000100
	MSRGSBase       = 0xc0000101
	MSRKernelGSBase = 0xc0000102
)

// Control register and EFER bits.
const (
	CR0PE = 1 << 0
	CR0MP = 1 << 1
	CR0ET = 1 << 4
	CR0NE = 1 << 5
	CR0WP = 1 << 16
	CR0AM = 1 << 18
	CR0PG = 1 << 31

	CR4PAE        = 1 << 5
	CR4PGE        = 1 << 7
	CR4OSFXSR     = 1 << 9
	CR4OSXMMEXCPT = 1 << 10
	CR4OSXSAVE    = 1 << 18

	EFERSCE = 1 << 0
	EFERLME = 1 << 8
	EFERLMA = 1 << 10
	EFERNXE = 1 << 11
)

// RFLAGS bits.
const (
	FlagCF       = 1 << 0
	FlagReserved = 1 << 1
	FlagTF       = 1 << 8
	FlagIF       = 1 << 9
	FlagDF       = 1 << 10
	FlagIOPL     = 3 << 12
	FlagNT       = 1 << 14
	FlagRF       = 1 << 16
	FlagAC       = 1 << 18
	// FlagsUser is what user code may hold in RFLAGS (Linux's
	// FLAG_MASK-like set); the rest is forced on return to user.
	FlagsUser = 0x3f7fd5 &^ (FlagIOPL | FlagNT | FlagRF | (1 << 17))
)

// PageSize is the base page size.
const PageSize = 4096
