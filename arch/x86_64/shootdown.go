package x86

import (
	"encoding/binary"
)

// Shootdown: making the vCPU forget page-table entries the VMM changed.
//
// The VMM edits guest page tables from the host. Under EPT that only
// needs a guest TLB flush. Under shadow paging (KVM's PVM, or VMX with
// ept=0) it is worse: KVM keeps shadow copies of the guest page tables and
// learns of changes only by trapping guest writes to them, so an entry
// the host rewrote stays live in the shadow (measured: a page made
// read-only by mprotect stayed writable; reloading CR3 or INVLPG did not
// help, deleting and re-adding the memory slot did, at ~2 ms a time).
//
// The cheap way to tell KVM is to let the guest itself write one byte
// into each changed page-table page: KVM traps the write to a shadowed
// page, sees a write narrower than an entry ("misaligned") and zaps the
// page's shadow, which is rebuilt from the new contents on next use. The
// shootdown stub does exactly that, through the direct map, for a list of
// page-table pages the VMM fills in, then loads CR3 (a full TLB flush of
// non-global entries on any platform, and the way a task switch changes
// address space). Under EPT the writes are harmless plain stores.
//
// Every removal, downgrade or replacement of a present entry, and every
// page-table page freed (its shadow must not outlive it), goes through a
// shootdown before the guest runs again. Adding an entry where none was
// present needs none: nothing was cached for it.

const (
	shootdownPages = 8
	// ShootdownMax is how many page-table pages one shootdown covers;
	// beyond that the caller must invalidate everything another way.
	ShootdownMax = shootdownPages*PageSize/8 - 2
	// ShootdownStub is the stub's address (RSP must point at an iretq
	// frame when the VMM resumes the guest there).
	ShootdownStub = StubBase + 0x300
)

// shootdownCode assembles the stub:
//
//	push %rax; push %rcx; push %rdx; push %r8
//	movabs $list, %rcx
//	mov (%rcx), %rdx            # count
//	1: test %rdx,%rdx; jz 2f
//	add $8, %rcx
//	mov 8(%rcx), %rax           # a byte inside a page-table page
//	mov (%rax), %r8b; mov %r8b, (%rax)
//	dec %rdx; jmp 1b
//	2: movabs $list+8, %rax; mov (%rax), %rax; mov %rax, %cr3
//	pop %r8; pop %rdx; pop %rcx; pop %rax
//	iretq
func shootdownCode() []byte {
	list := uint64(KernelBase + PhysShootdown)
	c := []byte{0x50, 0x51, 0x52, 0x41, 0x50, 0x48, 0xb9}
	c = binary.LittleEndian.AppendUint64(c, list)
	c = append(c,
		0x48, 0x8b, 0x11, // mov (%rcx),%rdx
		0x48, 0x85, 0xd2, // test %rdx,%rdx
		0x74, 0x13, // je +0x13
		0x48, 0x83, 0xc1, 0x08, // add $8,%rcx
		0x48, 0x8b, 0x41, 0x08, // mov 8(%rcx),%rax
		0x44, 0x8a, 0x00, // mov (%rax),%r8b
		0x44, 0x88, 0x00, // mov %r8b,(%rax)
		0x48, 0xff, 0xca, // dec %rdx
		0xeb, 0xe8, // jmp back to test
		0x48, 0xb8)
	c = binary.LittleEndian.AppendUint64(c, list+8)
	c = append(c,
		0x48, 0x8b, 0x00, // mov (%rax),%rax
		0x0f, 0x22, 0xd8, // mov %rax,%cr3
		0x41, 0x58, 0x5a, 0x59, 0x58, // pop %r8 %rdx %rcx %rax
		0x48, 0xcf) // iretq
	return c
}

// Shootdown collects the page-table pages to invalidate before the guest
// next runs.
type Shootdown struct {
	pages    []uint64 // physical addresses of page-table pages
	seen     map[uint64]struct{}
	Overflow bool // more than ShootdownMax: invalidate everything
}

// Add records a page-table page (its physical address).
func (s *Shootdown) Add(pa uint64) {
	pa &^= PageSize - 1
	if s.seen == nil {
		s.seen = make(map[uint64]struct{})
	}
	if _, ok := s.seen[pa]; ok {
		return
	}
	if len(s.pages) >= ShootdownMax {
		s.Overflow = true
		return
	}
	s.seen[pa] = struct{}{}
	s.pages = append(s.pages, pa)
}

// Pending reports whether anything was recorded.
func (s *Shootdown) Pending() bool { return len(s.pages) > 0 || s.Overflow }

// Len is the number of page-table pages recorded.
func (s *Shootdown) Len() int { return len(s.pages) }

// Commit writes the list and the CR3 to load into the shootdown page and
// resets s. The guest must then be resumed at ShootdownStub.
func (s *Shootdown) Commit(mem []byte, cr3 uint64) {
	le := binary.LittleEndian
	list := mem[PhysShootdown:]
	le.PutUint64(list[0:], uint64(len(s.pages)))
	le.PutUint64(list[8:], cr3)
	for i, pa := range s.pages {
		// Byte 1 of the page's first entry: a one-byte write that is
		// not at an entry's start counts as misaligned for KVM.
		le.PutUint64(list[16+i*8:], DirectMap+pa+1)
	}
	s.pages = s.pages[:0]
	clear(s.seen)
	s.Overflow = false
}
