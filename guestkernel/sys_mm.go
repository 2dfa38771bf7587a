package guestkernel

import (
	"golang.org/x/sys/unix"

	"github.com/nsvm/nsvm/guestkernel/loader"
)

const (
	protMask       = unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC
	protGrows      = unix.PROT_GROWSDOWN | unix.PROT_GROWSUP
	mapTypeMask    = 0x0f
	mapFixedNoRepl = 0x100000
)

func toProt(p uint64) loader.Prot {
	var r loader.Prot
	if p&unix.PROT_READ != 0 {
		r |= loader.ProtRead
	}
	if p&unix.PROT_WRITE != 0 {
		r |= loader.ProtWrite
	}
	if p&unix.PROT_EXEC != 0 {
		r |= loader.ProtExec
	}
	return r
}

// sysBrk: brk(2), following mm/mmap.c's brk: a request below the start or
// one that would collide with another mapping leaves brk unchanged, and
// the (unaligned) current value is returned either way.
func sysBrk(t *Task, a *args) int64 {
	mm := t.mm
	want := a[0]
	if want < mm.brkStart || want > taskSize {
		return int64(mm.brk)
	}
	newEnd, oldEnd := pageUp(want), pageUp(mm.brk)
	switch {
	case newEnd < oldEnd:
		if mm.hole(newEnd, oldEnd) && (len(mm.vmas) >= maxMapCount || !mm.reserveVMAs(1)) {
			return int64(mm.brk)
		}
		mm.unmapRange(newEnd, oldEnd)
	case newEnd > oldEnd:
		// Keep a guard page's distance from the next mapping, as
		// check_brk_limits / find_vma_intersection do.
		if !mm.free(oldEnd, newEnd+pageSize) {
			return int64(mm.brk)
		}
		// do_brk_flags: map_count, then vm_area_alloc.
		if len(mm.vmas) > maxMapCount || !mm.reserveVMAs(1) {
			return int64(mm.brk)
		}
		mm.insert(vma{start: oldEnd, end: newEnd, prot: loader.ProtRead | loader.ProtWrite, kind: vmaBrk})
		mm.populate(oldEnd, newEnd, loader.ProtRead|loader.ProtWrite)
	}
	mm.brk = want
	return int64(want)
}

// sysMmap: anonymous private (and shared) mappings, with mmap(2)'s
// argument checks in do_mmap's order. File mappings are refused: the only
// files are the stdio streams, which cannot be mapped (ENODEV).
func sysMmap(t *Task, a *args) int64 {
	addr, length, prot, flags, fd, off := a[0], a[1], a[2], a[3], a[4], a[5]
	if off&(pageSize-1) != 0 {
		return errno(unix.EINVAL)
	}
	switch flags & mapTypeMask {
	case unix.MAP_SHARED, unix.MAP_PRIVATE, unix.MAP_SHARED_VALIDATE:
	default:
		return errno(unix.EINVAL)
	}
	if flags&unix.MAP_ANONYMOUS == 0 {
		if _, e := t.files.get(fd); e != 0 {
			return errno(e)
		}
	}
	if length == 0 {
		return errno(unix.EINVAL)
	}
	if flags&unix.MAP_ANONYMOUS == 0 {
		return errno(unix.ENODEV) // no stream here has an mmap method
	}
	// Unknown prot bits are ignored, as calc_vm_prot_bits does.
	n := pageUp(length)
	if n == 0 || n > taskSize {
		return errno(unix.ENOMEM)
	}
	mm := t.mm
	// do_mmap: too many mappings already (vm.max_map_count); the new
	// VMA, and the splits a fixed mapping's unmap may make, are kernel
	// memory.
	if len(mm.vmas) > maxMapCount || !mm.reserveVMAs(2) {
		return errno(unix.ENOMEM)
	}
	fixed := flags&(unix.MAP_FIXED|mapFixedNoRepl) != 0
	if fixed {
		if addr&(pageSize-1) != 0 {
			return errno(unix.EINVAL)
		}
		if addr+n > taskSize || addr+n < addr {
			return errno(unix.ENOMEM)
		}
		if !mm.free(addr, addr+n) {
			if flags&mapFixedNoRepl != 0 {
				return errno(unix.EEXIST)
			}
			if mm.hole(addr, addr+n) && len(mm.vmas) >= maxMapCount {
				return errno(unix.ENOMEM)
			}
			mm.unmapRange(addr, addr+n)
		}
	} else {
		// A hint below mmap_min_addr is raised to it (round_hint_to_min).
		hint := max(pageDown(addr), mmapMinAddr)
		if addr == 0 || hint+n > taskSize || hint+n < hint || !mm.free(hint, hint+n) {
			var ok bool
			if hint, ok = mm.unmappedArea(n); !ok {
				return errno(unix.ENOMEM)
			}
		}
		addr = hint
	}
	mm.insert(vma{start: addr, end: addr + n, prot: toProt(prot), kind: vmaAnon, shared: flags&mapTypeMask != unix.MAP_PRIVATE})
	mm.populate(addr, addr+n, toProt(prot))
	return int64(addr)
}

// sysMunmap: munmap(2).
func sysMunmap(t *Task, a *args) int64 {
	addr, length := a[0], a[1]
	if addr&(pageSize-1) != 0 || length == 0 {
		return errno(unix.EINVAL)
	}
	n := pageUp(length)
	if n == 0 || addr+n > taskSize || addr+n < addr {
		return errno(unix.EINVAL)
	}
	// do_vmi_align_munmap: a hole in the middle of a VMA makes one
	// more, past vm.max_map_count or out of kernel memory ENOMEM.
	if mm := t.mm; mm.hole(addr, addr+n) && (len(mm.vmas) >= maxMapCount || !mm.reserveVMAs(1)) {
		return errno(unix.ENOMEM)
	}
	t.mm.unmapRange(addr, addr+n)
	return 0
}

// sysMprotect: mprotect(2): EINVAL for a misaligned start or unknown bits,
// ENOMEM when part of the range is not mapped.
func sysMprotect(t *Task, a *args) int64 {
	addr, length, prot := a[0], a[1], a[2]
	if addr&(pageSize-1) != 0 || prot&^uint64(protMask|protGrows) != 0 {
		return errno(unix.EINVAL)
	}
	if length == 0 {
		return 0
	}
	n := pageUp(length)
	if n == 0 || addr+n < addr {
		return errno(unix.ENOMEM)
	}
	if !t.mm.mapped(addr, addr+n) {
		return errno(unix.ENOMEM)
	}
	// split_vma: vm.max_map_count, then kernel memory.
	if mm, n := t.mm, t.mm.splits(addr, addr+n); n > 0 && (len(mm.vmas) >= maxMapCount || !mm.reserveVMAs(n)) {
		return errno(unix.ENOMEM)
	}
	t.mm.protectRange(addr, addr+n, toProt(prot))
	return 0
}

// sysMadvise: MADV_DONTNEED drops the pages of private anonymous memory
// (the next touch sees zeros); other advice is accepted and ignored, as
// hints may be.
func sysMadvise(t *Task, a *args) int64 {
	addr, length, advice := a[0], a[1], a[2]
	if addr&(pageSize-1) != 0 {
		return errno(unix.EINVAL)
	}
	n := pageUp(length)
	if addr+n < addr {
		return errno(unix.EINVAL)
	}
	if n == 0 {
		return 0
	}
	if !t.mm.mapped(addr, addr+n) {
		return errno(unix.ENOMEM)
	}
	if advice == unix.MADV_DONTNEED {
		t.mm.dropPages(addr, addr+n)
	}
	return 0
}
