package guestkernel

import (
	"fmt"
	"sort"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
	"github.com/nsvm/nsvm/guestkernel/loader"
)

const (
	pageSize = x86.PageSize
	// taskSize is TASK_SIZE for 4-level paging: the top of user space.
	taskSize = loader.MaxUserAddr
	// stackTop is where the initial stack ends (Linux with ASLR off
	// places it right below TASK_SIZE).
	stackTop = taskSize
	// stackMax is RLIMIT_STACK's default, the reach of the stack VMA.
	stackMax = 8 << 20
	// mmapTop is where top-down mmap starts: below the stack and a gap,
	// as Linux's mmap_base() computes without randomization.
	mmapTop = stackTop - stackMax - 128<<20
	// mmapMinAddr is vm.mmap_min_addr's default: nothing is mapped
	// below it, so NULL dereferences always fault.
	mmapMinAddr = 64 << 10
	// etDynBase is where a static-pie is loaded (ELF_ET_DYN_BASE with
	// ASLR off).
	etDynBase = 0x555555554000
)

func pageDown(v uint64) uint64 { return v &^ (pageSize - 1) }
func pageUp(v uint64) uint64   { return (v + pageSize - 1) &^ (pageSize - 1) }

// VMA kinds, for /proc-style listings and the brk/stack special cases.
const (
	vmaAnon = iota
	vmaELF
	vmaBrk
	vmaStack
)

// vma is a vm_area_struct: a page-aligned range with one set of rights.
type vma struct {
	start, end uint64
	prot       loader.Prot
	kind       int
	shared     bool
}

func (v *vma) String() string {
	return fmt.Sprintf("%x-%x %s", v.start, v.end, v.prot)
}

// MM is a task's address space, Linux's mm_struct: the VMAs and the page
// tables the vCPU walks.
type MM struct {
	k        *Kernel
	pt       *x86.PageTables
	vmas     []vma // sorted, non-overlapping
	brkStart uint64
	brk      uint64
	users    int // mm_users
	pages    int // resident user pages
	// vmaSlots is how many VMAs are charged to kernel memory (kmem.go).
	vmaSlots int
}

// maxMapCount is vm.max_map_count's default: the most VMAs an address
// space may have.
const maxMapCount = 65530

// reserveVMAs makes sure n more VMAs than mm has now are charged to
// kernel memory (vm_area_alloc): false when it has run out (ENOMEM).
func (mm *MM) reserveVMAs(n int) bool {
	need := len(mm.vmas) + n
	if need <= mm.vmaSlots {
		return true
	}
	need = (need + kmemVMAChunk - 1) / kmemVMAChunk * kmemVMAChunk
	if !mm.k.kmemCharge((need - mm.vmaSlots) * kmemVMA) {
		return false
	}
	mm.vmaSlots = need
	return true
}

// hole reports whether [start,end) lies strictly inside one VMA, so that
// unmapping it leaves one VMA more.
func (mm *MM) hole(start, end uint64) bool {
	i := mm.find(start)
	return i >= 0 && mm.vmas[i].start < start && end < mm.vmas[i].end
}

// splits counts the VMAs that cutting out [start,end) adds: one per
// boundary that falls inside a VMA.
func (mm *MM) splits(start, end uint64) int {
	n := 0
	for _, a := range []uint64{start, end} {
		if i := mm.find(a); i >= 0 && mm.vmas[i].start != a {
			n++
		}
	}
	return n
}

func (k *Kernel) newMM() (*MM, error) {
	pt, err := x86.NewPageTables(k.mem, k.pages.alloc, k.pages.release, &k.shoot)
	if err != nil {
		return nil, err
	}
	return &MM{k: k, pt: pt, users: 1}, nil
}

// release frees every page and table of the address space (exit_mmap).
func (mm *MM) release() {
	mm.pt.Range(0, taskSize, func(va, pte uint64) {
		mm.k.pages.release(pte & x86.PTEAddr)
	})
	mm.pt.FreeTables()
	mm.vmas = nil
	mm.pages = 0
	mm.k.kmemUncharge(mm.vmaSlots * kmemVMA)
	mm.vmaSlots = 0
}

// find returns the index of the VMA containing va, or -1.
func (mm *MM) find(va uint64) int {
	i := sort.Search(len(mm.vmas), func(i int) bool { return mm.vmas[i].end > va })
	if i < len(mm.vmas) && mm.vmas[i].start <= va {
		return i
	}
	return -1
}

// free reports whether [start,end) touches no VMA.
func (mm *MM) free(start, end uint64) bool {
	i := sort.Search(len(mm.vmas), func(i int) bool { return mm.vmas[i].end > start })
	return i == len(mm.vmas) || mm.vmas[i].start >= end
}

// insert adds a VMA over a free range.
func (mm *MM) insert(v vma) {
	i := sort.Search(len(mm.vmas), func(i int) bool { return mm.vmas[i].start >= v.end })
	// Merge with neighbours that continue it exactly (vma_merge).
	if i > 0 && mm.vmas[i-1].end == v.start && same(&mm.vmas[i-1], &v) {
		mm.vmas[i-1].end = v.end
		if i < len(mm.vmas) && mm.vmas[i].start == v.end && same(&mm.vmas[i], &v) {
			mm.vmas[i-1].end = mm.vmas[i].end
			mm.vmas = append(mm.vmas[:i], mm.vmas[i+1:]...)
		}
		return
	}
	if i < len(mm.vmas) && mm.vmas[i].start == v.end && same(&mm.vmas[i], &v) {
		mm.vmas[i].start = v.start
		return
	}
	mm.vmas = append(mm.vmas, vma{})
	copy(mm.vmas[i+1:], mm.vmas[i:])
	mm.vmas[i] = v
}

func same(a, b *vma) bool { return a.prot == b.prot && a.kind == b.kind && a.shared == b.shared }

// split makes a VMA boundary at va if one straddles it.
func (mm *MM) split(va uint64) {
	i := mm.find(va)
	if i < 0 || mm.vmas[i].start == va {
		return
	}
	a := mm.vmas[i]
	b := a
	a.end, b.start = va, va
	mm.vmas[i] = a
	mm.vmas = append(mm.vmas, vma{})
	copy(mm.vmas[i+2:], mm.vmas[i+1:])
	mm.vmas[i+1] = b
}

// unmapRange removes [start,end) from the VMAs and frees its pages
// (do_munmap). It reports whether a flush is needed.
func (mm *MM) unmapRange(start, end uint64) bool {
	mm.split(start)
	mm.split(end)
	out := mm.vmas[:0]
	for _, v := range mm.vmas {
		if v.start >= start && v.end <= end {
			continue
		}
		out = append(out, v)
	}
	mm.vmas = out
	return mm.dropPages(start, end)
}

// protectRange changes the rights of [start,end), which must be fully
// mapped (mprotect_fixup). It reports whether a flush is needed.
func (mm *MM) protectRange(start, end uint64, prot loader.Prot) bool {
	mm.split(start)
	mm.split(end)
	for i := range mm.vmas {
		if mm.vmas[i].start >= start && mm.vmas[i].end <= end {
			mm.vmas[i].prot = prot
		}
	}
	flags := pteFlags(prot)
	flush := false
	mm.pt.Range(start, end, func(va, pte uint64) {
		npte := pte&x86.PTEAddr | flags | x86.PTEPresent
		if pte&x86.PTECOW != 0 {
			// Still shared: writable only after the COW fault.
			npte = npte&^x86.PTEWrite | x86.PTECOW
		}
		if npte != pte {
			mm.pt.SetPTE(va, npte)
			flush = true
		}
	})
	return flush
}

// mapped reports whether [start,end) is entirely covered by VMAs.
func (mm *MM) mapped(start, end uint64) bool {
	for a := start; a < end; {
		i := mm.find(a)
		if i < 0 {
			return false
		}
		a = mm.vmas[i].end
	}
	return true
}

// unmappedArea finds a free range of length n, top-down below mmapTop
// (arch_get_unmapped_area_topdown).
func (mm *MM) unmappedArea(n uint64) (uint64, bool) {
	hi := uint64(mmapTop)
	for i := len(mm.vmas) - 1; i >= -1; i-- {
		lo := uint64(mmapMinAddr)
		if i >= 0 {
			lo = mm.vmas[i].end
			if lo >= hi {
				if mm.vmas[i].start < hi {
					hi = mm.vmas[i].start
				}
				continue
			}
		}
		if hi >= lo+n {
			return hi - n, true
		}
		if i >= 0 && mm.vmas[i].start < hi {
			hi = mm.vmas[i].start
		}
	}
	return 0, false
}

// pteFlags gives the leaf flags for a VMA's rights. PROT_NONE pages stay
// present but lose the U bit, so user access faults while the page (and
// its contents) survive a later mprotect, like Linux's _PAGE_PROTNONE.
func pteFlags(p loader.Prot) uint64 {
	if p&(loader.ProtRead|loader.ProtWrite|loader.ProtExec) == 0 {
		return x86.PTEAccessed | x86.PTENX
	}
	return x86.PTEFlags(p&loader.ProtRead != 0, p&loader.ProtWrite != 0, p&loader.ProtExec != 0)
}

// Population policy. A page-fault round trip through the guest IDT costs
// about 100 µs on PVM (the exception is delivered to emulated ring 0,
// exits, and returns with an emulated iretq), against a few µs for KVM's
// own shadow fault on a page that is already mapped. So, unlike Linux,
// nsvm maps anonymous memory eagerly when it is created, up to
// populateMax per mapping, and a demand fault maps faultAround pages at
// once. The difference is visible only in residency (RSS, mincore), which
// nsvm does not report.
const (
	populateMax = 8 << 20
	faultAround = 16
)

// populate maps zero pages over [start,end) of one VMA where none is
// mapped yet, stopping quietly when guest memory runs short (the rest is
// then demand-faulted).
func (mm *MM) populate(start, end uint64, prot loader.Prot) {
	if prot&(loader.ProtRead|loader.ProtWrite|loader.ProtExec) == 0 {
		return
	}
	end = min(end, start+populateMax)
	flags := pteFlags(prot)
	for page := start; page < end; page += pageSize {
		if mm.pt.Lookup(page)&x86.PTEPresent != 0 {
			continue
		}
		if mm.k.pages.Free() < 1024 {
			return
		}
		pa, err := mm.k.pages.alloc()
		if err != nil {
			return
		}
		if err := mm.pt.Map(page, pa, flags); err != nil {
			mm.k.pages.release(pa)
			return
		}
		mm.pages++
	}
}

// faultIn makes the page at va present for an access (handle_mm_fault for
// anonymous memory: a zero page on first touch). It returns false when the
// VMA forbids the access, which becomes SIGSEGV or EFAULT.
func (mm *MM) faultIn(va uint64, write, exec bool) (bool, error) {
	i := mm.find(va)
	if i < 0 {
		return false, nil
	}
	v := &mm.vmas[i]
	if write && v.prot&loader.ProtWrite == 0 || exec && v.prot&loader.ProtExec == 0 ||
		v.prot&(loader.ProtRead|loader.ProtWrite|loader.ProtExec) == 0 {
		return false, nil
	}
	page := pageDown(va)
	pte := mm.pt.Lookup(page)
	if pte&x86.PTEPresent != 0 {
		if write && pte&x86.PTEWrite == 0 && pte&x86.PTECOW != 0 {
			if err := mm.breakCOW(page, pte, v); err != nil {
				return false, err
			}
			return true, nil
		}
		// Present and allowed by the VMA: a stale TLB entry after a
		// rights upgrade. Nothing to do; the retry succeeds.
		return true, nil
	}
	pa, err := mm.k.pages.alloc()
	if err != nil {
		return false, err
	}
	if err := mm.pt.Map(page, pa, pteFlags(v.prot)); err != nil {
		mm.k.pages.release(pa)
		return false, err
	}
	mm.pages++
	// Fault-around: the neighbours in the same VMA, aligned to a
	// faultAround-page window.
	lo := max(v.start, page&^(faultAround*pageSize-1))
	hi := min(v.end, lo+faultAround*pageSize)
	mm.populate(lo, hi, v.prot)
	return true, nil
}

// dropPages frees the pages in [start,end) but keeps the VMAs
// (zap_page_range for MADV_DONTNEED).
func (mm *MM) dropPages(start, end uint64) bool {
	dropped := false
	mm.pt.Range(start, end, func(va, pte uint64) {
		mm.pt.Unmap(va)
		mm.k.pages.release(pte & x86.PTEAddr)
		mm.pages--
		dropped = true
	})
	return dropped
}

// Fork's copy of an address space (dup_mm / dup_mmap / copy_page_range).
//
// Design: a hybrid of eager copy and copy-on-write, chosen per fork.
//   - Read-only private pages (program text, rodata) are never copied:
//     parent and child map the same frame, marked COW so that a later
//     mprotect(PROT_WRITE) + write still copies.
//   - MAP_SHARED pages are shared writable, as they must be.
//   - Writable private pages are copied at once when there are at most
//     eagerCopyMax of them, and shared copy-on-write otherwise.
//
// Why: on PVM a copy-on-write fault is a full exception round trip
// through the guest IDT and the VMM (~100 µs), while copying a page in the
// VMM costs well under a microsecond. A small program's writable set (its
// stack, heap and data: a few dozen pages) is cheaper to copy than to
// fault on, and the child then runs without a single COW fault. Large
// address spaces use COW so that fork stays proportional to the page
// tables, not to the memory. bench/ measures both sides of the threshold.
const eagerCopyMax = 2048 // pages (8 MiB)

// dup copies mm for the child p (copy_mm without CLONE_VM).
func (mm *MM) dup(p *Task) (*MM, error) {
	k := mm.k
	if k.shouldFail(p, sitePageTable) {
		return nil, errNoPages
	}
	child, err := k.newMM()
	if err != nil {
		return nil, err
	}
	if !child.reserveVMAs(len(mm.vmas)) {
		child.release()
		return nil, errNoPages
	}
	child.vmas = append([]vma(nil), mm.vmas...)
	child.brkStart, child.brk = mm.brkStart, mm.brk

	writable := 0
	mm.pt.Range(0, taskSize, func(va, pte uint64) {
		if pte&(x86.PTEWrite|x86.PTECOW) != 0 {
			if i := mm.find(va); i >= 0 && !mm.vmas[i].shared {
				writable++
			}
		}
	})
	eager := writable <= eagerCopyMax
	k.Stats.ForkEager = eager
	// The page copies are one fault-injection site per fork (not one
	// per page): any failing page unwinds the same way, and a sweep
	// stays as long as Linux's, whose fork copies no pages.
	if eager && writable > 0 && k.shouldFail(p, sitePage) {
		child.release()
		return nil, errNoPages
	}

	var ferr error
	mm.pt.Range(0, taskSize, func(va, pte uint64) {
		if ferr != nil {
			return
		}
		frame := pte & x86.PTEAddr
		i := mm.find(va)
		shared := i >= 0 && mm.vmas[i].shared
		private := pte&(x86.PTEWrite|x86.PTECOW) != 0 && !shared
		switch {
		case private && (eager || k.pages.refcount(frame) >= maxPageRefs):
			np, err := k.pages.allocDirty()
			if err != nil {
				ferr = err
				return
			}
			copy(k.mem[np:np+pageSize], k.mem[frame:frame+pageSize])
			npte := pte&^(x86.PTEAddr|x86.PTECOW) | np
			if pte&x86.PTECOW != 0 && i >= 0 && mm.vmas[i].prot&loader.ProtWrite != 0 {
				npte |= x86.PTEWrite | x86.PTEDirty
			}
			if err := child.pt.Map(va, np, npte&^x86.PTEAddr); err != nil {
				k.pages.release(np)
				ferr = err
				return
			}
			k.Stats.PagesCopied++
		case private:
			// Copy-on-write: both sides read-only until one writes.
			cow := pte&^x86.PTEWrite | x86.PTECOW
			if cow != pte {
				mm.pt.SetPTE(va, cow)
			}
			if err := child.pt.Map(va, frame, cow&^x86.PTEAddr); err != nil {
				ferr = err
				return
			}
			k.pages.ref(frame)
			k.Stats.PagesShared++
		default:
			// Read-only private (shared, marked COW for a later
			// mprotect) or MAP_SHARED (shared as it is).
			npte := pte
			if !shared && pte&x86.PTECOW == 0 {
				npte |= x86.PTECOW
				mm.pt.SetPTE(va, npte)
			}
			if err := child.pt.Map(va, frame, npte&^x86.PTEAddr); err != nil {
				ferr = err
				return
			}
			k.pages.ref(frame)
			k.Stats.PagesShared++
		}
		child.pages++
	})
	if ferr != nil {
		child.release()
		return nil, ferr
	}
	return child, nil
}

// breakCOW gives mm its own writable copy of the COW page at va
// (do_wp_page): the last user just takes the page back.
func (mm *MM) breakCOW(va, pte uint64, v *vma) error {
	k := mm.k
	frame := pte & x86.PTEAddr
	flags := pteFlags(v.prot)
	if k.pages.refcount(frame) == 1 {
		mm.pt.SetPTE(va, frame|flags|x86.PTEPresent)
		k.Stats.COWReused++
		return nil
	}
	np, err := k.pages.allocDirty()
	if err != nil {
		return err
	}
	copy(k.mem[np:np+pageSize], k.mem[frame:frame+pageSize])
	mm.pt.SetPTE(va, np|flags|x86.PTEPresent)
	k.pages.release(frame)
	k.Stats.COWCopies++
	return nil
}
