package fs

// Page is one page of file data: the unit of a file system's page cache
// (struct folio of order 0). read(2), write(2) and every mapping of the
// file use the same Page, so a MAP_SHARED mapping and the file stay
// coherent by construction.
type Page struct {
	// Data is the page's PageSize bytes.
	Data []byte
	// Addr is the allocator's name for the page: for the guest
	// kernel's allocator, its guest-physical address, which is what a
	// page table maps. The heap allocator leaves it 0.
	Addr uint64
}

// PageAllocator provides the pages of a page cache. The guest kernel
// hands out guest-physical pages, so that a mapping maps the cache's own
// page; FreePage drops the cache's reference (put_page), and the page
// lives on while a mapping holds its own.
type PageAllocator interface {
	AllocPage() (Page, error)
	FreePage(Page)
}

// HeapPages is a PageAllocator on the Go heap, for tests and for file
// systems that are never mapped into a guest.
type HeapPages struct{}

// AllocPage returns a zeroed page.
func (HeapPages) AllocPage() (Page, error) { return Page{Data: make([]byte, PageSize)}, nil }

// FreePage lets the garbage collector have the page.
func (HeapPages) FreePage(Page) {}

// Mappable is implemented by file systems whose regular files can be
// memory-mapped: GetPage returns page index of the file from its page
// cache (shmem_get_folio / filemap_fault), allocating it (and charging
// the file system's size limit) when it is a hole. An index at or past
// the end of file is ENXIO, which the fault handler turns into SIGBUS.
type Mappable interface {
	GetPage(ino *Inode, index int64) (Page, error)
}

// SpecialOpener opens device, FIFO and socket inodes whatever file
// system they live on (init_special_inode: def_chr_fops, def_blk_fops,
// pipefifo_fops). The guest kernel supplies it: its devices and its
// pipes live there. It is called with VFS.mu held and must not call
// back into the VFS. Without one such opens are ENXIO.
type SpecialOpener func(ino *Inode, f *File) (FileOperations, error)

// SetSpecialOpener installs the opener of special files.
func (v *VFS) SetSpecialOpener(fn SpecialOpener) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.special = fn
}
