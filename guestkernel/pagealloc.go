package guestkernel

import (
	"errors"

	"golang.org/x/sys/unix"
)

// errNoPages is returned when guest physical memory is exhausted; the
// syscall layer turns it into ENOMEM, a fault into SIGKILL (Linux's OOM).
var errNoPages = errors.New("guest physical memory exhausted")

// pageAllocator hands out 4 KiB guest-physical pages above the kernel
// area. It models the buddy allocator's contract (alloc_page/__free_page)
// with a bump pointer plus a free stack, which is all a single-node guest
// needs. Pages from the bump region are zero already (fresh anonymous host
// memory); recycled pages are zeroed on allocation.
type pageAllocator struct {
	mem  []byte
	next uint64   // bump pointer
	end  uint64   // end of guest memory
	free []uint64 // recycled pages (dirty)
	live int      // pages handed out and not freed
	refs []uint16 // per page frame: references (mappings, tables)

	// populated is how far the host has backed the bump region; see
	// prefault.
	populated uint64
}

// prefaultChunk is how much host memory one prefault backs.
const prefaultChunk = 2 << 20

// prefault asks the host to back the next chunk of the bump region with
// one madvise(MADV_POPULATE_WRITE). KVM's shadow (or EPT) fault on a guest
// page is several times cheaper when the host page already exists, and
// one batched populate is cheaper than a host fault per page. Failure
// (an old host kernel) only loses the speed-up.
func (a *pageAllocator) prefault() {
	end := min(a.populated+prefaultChunk, a.end)
	if a.populated < a.next {
		a.populated = a.next &^ (prefaultChunk - 1)
		end = min(a.populated+prefaultChunk, a.end)
	}
	unix.Madvise(a.mem[a.populated:end], madvPopulateWrite)
	a.populated = end
}

// madvPopulateWrite is MADV_POPULATE_WRITE (Linux 5.14).
const madvPopulateWrite = 23

func newPageAllocator(mem []byte, start uint64) *pageAllocator {
	return &pageAllocator{mem: mem, next: start, end: uint64(len(mem)), refs: make([]uint16, len(mem)/pageSize)}
}

// maxPageRefs bounds sharing; past it fork copies instead of sharing.
const maxPageRefs = 1<<16 - 1

// ref takes another reference to a page (page_dup_rmap/get_page for a
// page shared by copy-on-write or MAP_SHARED).
func (a *pageAllocator) ref(pa uint64) { a.refs[pa/pageSize]++ }

// refcount is page_count().
func (a *pageAllocator) refcount(pa uint64) int { return int(a.refs[pa/pageSize]) }

// alloc returns a zeroed page.
func (a *pageAllocator) alloc() (uint64, error) {
	if n := len(a.free); n > 0 {
		pa := a.free[n-1]
		a.free = a.free[:n-1]
		clear(a.mem[pa : pa+pageSize])
		a.live++
		a.refs[pa/pageSize] = 1
		return pa, nil
	}
	if a.next+pageSize > a.end {
		return 0, errNoPages
	}
	if a.next >= a.populated {
		a.prefault()
	}
	pa := a.next
	a.next += pageSize
	a.live++
	a.refs[pa/pageSize] = 1
	return pa, nil
}

// allocDirty returns a page whose contents will be overwritten entirely by
// the caller (a copy), skipping the zeroing.
func (a *pageAllocator) allocDirty() (uint64, error) {
	if n := len(a.free); n > 0 {
		pa := a.free[n-1]
		a.free = a.free[:n-1]
		a.live++
		a.refs[pa/pageSize] = 1
		return pa, nil
	}
	return a.alloc()
}

// release drops a reference; the last one frees the page.
func (a *pageAllocator) release(pa uint64) {
	i := pa / pageSize
	if a.refs[i] > 1 {
		a.refs[i]--
		return
	}
	a.refs[i] = 0
	a.free = append(a.free, pa)
	a.live--
}

// Live is the number of pages in use (the audit counter).
func (a *pageAllocator) Live() int { return a.live }

// Free is the number of pages still available.
func (a *pageAllocator) Free() int { return len(a.free) + int((a.end-a.next)/pageSize) }
