// Package tmpfs is an in-memory file system for nsvm's VFS, modelled on
// Linux's shmem (mm/shmem.c) and libfs's simple_* directory code
// (fs/libfs.c): regular files, directories, symbolic links, hard links,
// and FIFO, device and socket inodes (opened through the VFS's special
// opener, not here).
//
// Regular files are sparse: their data is a map from page index to a
// Page from the file system's PageAllocator, and only pages that were
// written (or faulted in through GetPage, for mmap) exist. A read of a
// hole reads zeros and allocates nothing; truncation frees whole pages
// past the new end and zeroes the tail of the last one. Nothing is ever
// allocated in proportion to a size or offset a caller passes, only per
// page actually touched. The size= limit counts pages (ENOSPC), the
// nr_inodes= limit inodes; every page allocation is the fault-injection
// site shmem_alloc_page.
//
// Directories keep their entries with stable readdir cookies (the
// simple_offset scheme of Linux 6.6): each entry gets the next cookie of
// its directory when it is added and keeps it until it is removed, so
// that a getdents64 loop resumes correctly across concurrent creates and
// unlinks; a renamed entry gets a fresh cookie in its new place.
//
// Timestamps come from a clock callback (current_time), so that tests
// and the guest kernel's time namespace decide what "now" is.
//
// Locking: the VFS calls the directory operations with its own lock
// held; tmpfs changes an inode's attributes and data under that inode's
// lock (Inode.Lock), and its own counters under FS.mu.
package tmpfs

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/nsvm/nsvm/fs"
)

// Magic is TMPFS_MAGIC, statfs's f_type.
const Magic = 0x01021994

// bogoDirentSize is BOGO_DIRENT_SIZE: what each entry adds to a
// directory's st_size.
const bogoDirentSize = 20

// Options are a tmpfs instance's mount options.
type Options struct {
	// MaxPages is size= in pages (0: unlimited).
	MaxPages int64
	// MaxInodes is nr_inodes= (0: unlimited).
	MaxInodes int64
	// Mode, UID and GID are the root directory's (mode=, uid=, gid=);
	// Mode 0 means 01777.
	Mode     uint32
	UID, GID uint32
}

// Config is what every tmpfs of one kernel shares.
type Config struct {
	// Pages allocates file data (nil: the heap).
	Pages fs.PageAllocator
	// Clock is current_time (nil: time stands still at 0).
	Clock func() fs.Timespec
	// TotalRAM is the memory size= percentages are of, in bytes.
	TotalRAM int64
}

// FS is one tmpfs instance (struct shmem_sb_info).
type FS struct {
	cfg  Config
	opts Options
	sb   *fs.SuperBlock
	root *fs.Inode

	// mu guards the counters.
	mu     sync.Mutex
	pages  int64
	inodes int64
}

// inode is tmpfs's per-inode data (struct shmem_inode_info), in
// fs.Inode.Private and guarded by that inode's lock.
type inode struct {
	// Directories.
	entries    map[string]*dirent
	order      []*dirent // by cookie
	nextCookie int64
	// Regular files.
	pages map[int64]fs.Page
	// Symbolic links.
	target string
}

// dirent is one directory entry, holding a reference to its inode.
type dirent struct {
	name   string
	ino    *fs.Inode
	cookie int64
}

// Type returns the "tmpfs" file system type for mount(2).
func Type(cfg Config) *fs.FileSystemType {
	t := &fs.FileSystemType{Name: "tmpfs", NoDev: true, UsernsMount: true}
	t.GetTree = func(v *fs.VFS, source string, flags uint64, data string) (*fs.SuperBlock, error) {
		opts, err := ParseOptions(data, cfg.TotalRAM)
		if err != nil {
			return nil, err
		}
		f, err := New(v, t, cfg, source, opts)
		if err != nil {
			return nil, err
		}
		return f.sb, nil
	}
	return t
}

// ParseOptions parses tmpfs's mount data: size=N[kmg%], nr_inodes=N[kmg],
// mode=OCTAL, uid=N, gid=N (shmem_parse_one). Anything else is EINVAL.
func ParseOptions(data string, totalRAM int64) (Options, error) {
	var o Options
	if data == "" {
		return o, nil
	}
	for _, kv := range strings.Split(data, ",") {
		if kv == "" {
			continue
		}
		k, val, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "size":
			var n int64
			if strings.HasSuffix(val, "%") {
				var pct int64
				pct, err = strconv.ParseInt(strings.TrimSuffix(val, "%"), 10, 64)
				n = totalRAM / 100 * pct
			} else {
				n, err = parseSize(val)
			}
			o.MaxPages = (n + fs.PageSize - 1) / fs.PageSize
		case "nr_inodes":
			o.MaxInodes, err = parseSize(val)
		case "mode":
			var m uint64
			m, err = strconv.ParseUint(val, 8, 32)
			o.Mode = uint32(m) & 0o7777
		case "uid", "gid":
			var id uint64
			id, err = strconv.ParseUint(val, 10, 32)
			if k == "uid" {
				o.UID = uint32(id)
			} else {
				o.GID = uint32(id)
			}
		case "inode64", "inode32", "huge", "mpol":
			// Accepted and ignored.
		default:
			err = unix.EINVAL
		}
		if err != nil {
			return o, unix.EINVAL
		}
	}
	return o, nil
}

// parseSize is memparse: a number with an optional k, m or g suffix.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		}
		if mult != 1 {
			s = s[:n-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, unix.EINVAL
	}
	return n * mult, nil
}

// New makes a tmpfs instance (shmem_fill_super) with its root directory.
func New(v *fs.VFS, t *fs.FileSystemType, cfg Config, source string, opts Options) (*FS, error) {
	if cfg.Pages == nil {
		cfg.Pages = fs.HeapPages{}
	}
	if opts.Mode == 0 {
		opts.Mode = 0o1777
	}
	f := &FS{cfg: cfg, opts: opts}
	sb, err := v.NewSuper(t, source, f)
	if err != nil {
		return nil, err
	}
	f.sb = sb
	sb.Now = f.now
	root, err := f.newInode(fs.Owner{UID: opts.UID, GID: opts.GID, Mode: unix.S_IFDIR | opts.Mode})
	if err != nil {
		sb.DestroySuper()
		return nil, err
	}
	// The super block holds the root as a directory entry holds any
	// inode; the reference NewInode gave goes to the root dentry.
	f.root = root
	root.Get()
	if err := sb.SetRoot(root); err != nil {
		root.Put()
		sb.DestroySuper()
		return nil, err
	}
	return f, nil
}

// SB returns the super block.
func (f *FS) SB() *fs.SuperBlock { return f.sb }

func (f *FS) now() fs.Timespec {
	if f.cfg.Clock == nil {
		return fs.Timespec{}
	}
	return f.cfg.Clock()
}

func priv(ino *fs.Inode) *inode { return ino.Private.(*inode) }

// newInode is shmem_get_inode: an inode of o's type and owner, counted
// against nr_inodes.
func (f *FS) newInode(o fs.Owner) (*fs.Inode, error) {
	f.mu.Lock()
	if f.opts.MaxInodes != 0 && f.inodes >= f.opts.MaxInodes {
		f.mu.Unlock()
		return nil, unix.ENOSPC
	}
	f.inodes++
	f.mu.Unlock()
	ino, err := f.sb.NewInode(o)
	if err != nil {
		f.mu.Lock()
		f.inodes--
		f.mu.Unlock()
		return nil, err
	}
	now := f.now()
	ino.Atime, ino.Mtime, ino.Ctime, ino.Btime = now, now, now, now
	p := &inode{}
	switch o.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		p.entries = map[string]*dirent{}
		p.nextCookie = 2
		ino.Nlink = 2
		ino.Size = 2 * bogoDirentSize
	case unix.S_IFREG:
		p.pages = map[int64]fs.Page{}
	}
	ino.Private = p
	return ino, nil
}

// addEntry links ino into dir under name, taking the entry's reference.
// dir's lock is taken here.
func (f *FS) addEntry(dir *fs.Inode, name string, ino *fs.Inode, now fs.Timespec) {
	ino.Get()
	dir.Lock()
	d := priv(dir)
	e := &dirent{name: name, ino: ino, cookie: d.nextCookie}
	d.nextCookie++
	d.entries[name] = e
	d.order = append(d.order, e)
	dir.Size += bogoDirentSize
	dir.Mtime, dir.Ctime = now, now
	if ino.IsDir() {
		dir.Nlink++
	}
	dir.Unlock()
}

// removeEntry unlinks name from dir and returns the entry (whose
// reference the caller drops).
func (f *FS) removeEntry(dir *fs.Inode, name string, now fs.Timespec) *dirent {
	dir.Lock()
	defer dir.Unlock()
	d := priv(dir)
	e := d.entries[name]
	delete(d.entries, name)
	i := sort.Search(len(d.order), func(i int) bool { return d.order[i].cookie >= e.cookie })
	d.order = append(d.order[:i], d.order[i+1:]...)
	dir.Size -= bogoDirentSize
	dir.Mtime, dir.Ctime = now, now
	if e.ino.IsDir() {
		dir.Nlink--
	}
	return e
}

// Lookup is simple_lookup over the entries.
func (f *FS) Lookup(dir *fs.Inode, name string) (*fs.Inode, error) {
	dir.Lock()
	e := priv(dir).entries[name]
	dir.Unlock()
	if e == nil {
		return nil, unix.ENOENT
	}
	e.ino.Get()
	return e.ino, nil
}

// mknod is shmem_mknod: every create goes through it.
func (f *FS) mknod(dir *fs.Inode, name string, o fs.Owner, target string) (*fs.Inode, error) {
	ino, err := f.newInode(o)
	if err != nil {
		return nil, err
	}
	if target != "" {
		priv(ino).target = target
		ino.Size = int64(len(target))
	}
	f.addEntry(dir, name, ino, ino.Ctime)
	return ino, nil
}

// Create makes a regular file.
func (f *FS) Create(dir *fs.Inode, name string, o fs.Owner) (*fs.Inode, error) {
	return f.mknod(dir, name, o, "")
}

// Mknod makes a device, FIFO or socket inode.
func (f *FS) Mknod(dir *fs.Inode, name string, o fs.Owner) (*fs.Inode, error) {
	return f.mknod(dir, name, o, "")
}

// Mkdir makes a directory.
func (f *FS) Mkdir(dir *fs.Inode, name string, o fs.Owner) (*fs.Inode, error) {
	return f.mknod(dir, name, o, "")
}

// Symlink makes a symbolic link (shmem_symlink: a target longer than a
// page is ENAMETOOLONG).
func (f *FS) Symlink(dir *fs.Inode, name, target string, o fs.Owner) (*fs.Inode, error) {
	if len(target)+1 > fs.PageSize {
		return nil, unix.ENAMETOOLONG
	}
	return f.mknod(dir, name, o, target)
}

// Link is shmem_link.
func (f *FS) Link(old *fs.Inode, dir *fs.Inode, name string) error {
	now := f.now()
	old.Lock()
	old.Nlink++
	old.Ctime = now
	old.Unlock()
	f.addEntry(dir, name, old, now)
	return nil
}

// dropLink is drop_nlink plus the entry's reference.
func (f *FS) dropLink(e *dirent, now fs.Timespec) {
	ino := e.ino
	ino.Lock()
	if ino.IsDir() {
		ino.Nlink = 0
	} else if ino.Nlink > 0 {
		ino.Nlink--
	}
	ino.Ctime = now
	ino.Unlock()
	ino.Put()
}

// Unlink is shmem_unlink.
func (f *FS) Unlink(dir *fs.Inode, name string, victim *fs.Inode) error {
	now := f.now()
	f.dropLink(f.removeEntry(dir, name, now), now)
	return nil
}

// empty is simple_empty.
func empty(dir *fs.Inode) bool {
	dir.Lock()
	defer dir.Unlock()
	return len(priv(dir).entries) == 0
}

// Rmdir is simple_rmdir.
func (f *FS) Rmdir(dir *fs.Inode, name string, victim *fs.Inode) error {
	if !empty(victim) {
		return unix.ENOTEMPTY
	}
	now := f.now()
	f.dropLink(f.removeEntry(dir, name, now), now)
	return nil
}

// Rename is shmem_rename2: replace (or exchange with) whatever newName
// names.
func (f *FS) Rename(oldDir *fs.Inode, oldName string, newDir *fs.Inode, newName string, target *fs.Inode, flags uint32) error {
	now := f.now()
	if flags&unix.RENAME_EXCHANGE != 0 {
		oldDir.Lock()
		if newDir != oldDir {
			newDir.Lock()
		}
		oe := priv(oldDir).entries[oldName]
		ne := priv(newDir).entries[newName]
		oe.ino, ne.ino = ne.ino, oe.ino
		if newDir != oldDir {
			newDir.Unlock()
		}
		oldDir.Unlock()
		if oldDir != newDir && oe.ino.IsDir() != ne.ino.IsDir() {
			// A directory moved between parents moves a link.
			d, n := 1, -1
			if ne.ino.IsDir() {
				d, n = -1, 1
			}
			oldDir.Lock()
			oldDir.Nlink = uint32(int(oldDir.Nlink) + d)
			oldDir.Unlock()
			newDir.Lock()
			newDir.Nlink = uint32(int(newDir.Nlink) + n)
			newDir.Unlock()
		}
		for _, i := range []*fs.Inode{oldDir, newDir, oe.ino, ne.ino} {
			i.Lock()
			i.Ctime = now
			if i == oldDir || i == newDir {
				i.Mtime = now
			}
			i.Unlock()
		}
		return nil
	}
	if target != nil {
		if target.IsDir() && !empty(target) {
			return unix.ENOTEMPTY
		}
		f.dropLink(f.removeEntry(newDir, newName, now), now)
	}
	e := f.removeEntry(oldDir, oldName, now)
	f.addEntry(newDir, newName, e.ino, now)
	e.ino.Lock()
	e.ino.Ctime = now
	e.ino.Unlock()
	e.ino.Put() // addEntry took the new entry's reference
	return nil
}

// Readlink returns the target.
func (f *FS) Readlink(ino *fs.Inode) (string, error) {
	ino.Lock()
	defer ino.Unlock()
	return priv(ino).target, nil
}

// Setattr is shmem_setattr: the VFS has checked permission; a size
// change truncates or extends the file.
func (f *FS) Setattr(ino *fs.Inode, a *fs.SetAttr) error {
	now := f.now()
	ino.Lock()
	defer ino.Unlock()
	if a.Valid&fs.AttrSize != 0 && ino.IsReg() && a.Size != ino.Size {
		f.truncateLocked(ino, a.Size)
		ino.Mtime, ino.Ctime = now, now
	}
	if a.Valid&fs.AttrMode != 0 {
		ino.Mode = ino.Mode&unix.S_IFMT | a.Mode&0o7777
	}
	if a.Valid&fs.AttrUID != 0 {
		ino.UID = a.UID
	}
	if a.Valid&fs.AttrGID != 0 {
		ino.GID = a.GID
	}
	if a.Valid&fs.AttrAtime != 0 {
		if a.Valid&fs.AttrAtimeSet != 0 {
			ino.Atime = a.Atime
		} else {
			ino.Atime = now
		}
	}
	if a.Valid&fs.AttrMtime != 0 {
		if a.Valid&fs.AttrMtimeSet != 0 {
			ino.Mtime = a.Mtime
		} else {
			ino.Mtime = now
		}
	}
	if a.Valid&fs.AttrCtime != 0 {
		ino.Ctime = now
	}
	return nil
}

// truncateLocked is shmem_truncate_range from size on: free the pages
// wholly past the new end and zero the rest of the last page, so that
// extending the file again reads zeros there (through read or a
// mapping).
func (f *FS) truncateLocked(ino *fs.Inode, size int64) {
	p := priv(ino)
	if size < ino.Size {
		first := (size + fs.PageSize - 1) / fs.PageSize
		var freed int64
		for idx, pg := range p.pages {
			if idx >= first {
				delete(p.pages, idx)
				f.freePage(pg)
				freed++
			}
		}
		if off := size % fs.PageSize; off != 0 {
			if pg, ok := p.pages[size/fs.PageSize]; ok {
				clear(pg.Data[off:])
			}
		}
		ino.Blocks = int64(len(p.pages)) * (fs.PageSize / 512)
	}
	ino.Size = size
}

// allocPage is shmem_alloc_page, charged against size= (ENOSPC) and the
// fault injector.
func (f *FS) allocPage() (fs.Page, error) {
	f.mu.Lock()
	if f.opts.MaxPages != 0 && f.pages >= f.opts.MaxPages {
		f.mu.Unlock()
		return fs.Page{}, unix.ENOSPC
	}
	f.pages++
	f.mu.Unlock()
	v := f.sb.VFS()
	undo := func() {
		f.mu.Lock()
		f.pages--
		f.mu.Unlock()
	}
	if err := v.Alloc(fs.SitePage, fs.KindPage); err != nil {
		undo()
		return fs.Page{}, err
	}
	pg, err := f.cfg.Pages.AllocPage()
	if err != nil {
		v.Free(fs.KindPage)
		undo()
		return fs.Page{}, unix.ENOMEM
	}
	return pg, nil
}

func (f *FS) freePage(pg fs.Page) {
	f.cfg.Pages.FreePage(pg)
	f.sb.VFS().Free(fs.KindPage)
	f.mu.Lock()
	f.pages--
	f.mu.Unlock()
}

// pageLocked returns page idx of a regular file, allocating a hole.
func (f *FS) pageLocked(ino *fs.Inode, idx int64) (fs.Page, error) {
	p := priv(ino)
	if pg, ok := p.pages[idx]; ok {
		return pg, nil
	}
	pg, err := f.allocPage()
	if err != nil {
		return pg, err
	}
	p.pages[idx] = pg
	ino.Blocks += fs.PageSize / 512
	return pg, nil
}

// GetPage is the page-cache side of mmap (shmem_fault): page index of
// ino, allocated if it is a hole; ENXIO past the end of file (SIGBUS).
func (f *FS) GetPage(ino *fs.Inode, index int64) (fs.Page, error) {
	if !ino.IsReg() {
		return fs.Page{}, unix.ENODEV
	}
	ino.Lock()
	defer ino.Unlock()
	if index < 0 || index >= (ino.Size+fs.PageSize-1)/fs.PageSize {
		return fs.Page{}, unix.ENXIO
	}
	return f.pageLocked(ino, index)
}

// Pages returns how many pages the instance uses (for statfs and tests).
func (f *FS) Pages() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pages
}

// Evict frees a dead inode's pages and its nr_inodes slot.
func (f *FS) Evict(ino *fs.Inode) {
	ino.Lock()
	if p, ok := ino.Private.(*inode); ok {
		for idx, pg := range p.pages {
			delete(p.pages, idx)
			f.freePage(pg)
		}
	}
	ino.Unlock()
	f.mu.Lock()
	f.inodes--
	f.mu.Unlock()
}

// Kill drops every entry's reference, depth first, and the super block's
// reference to the root (kill_litter_super).
func (f *FS) Kill(sb *fs.SuperBlock) {
	var kill func(dir *fs.Inode)
	kill = func(dir *fs.Inode) {
		dir.Lock()
		d := priv(dir)
		order := d.order
		d.order, d.entries = nil, map[string]*dirent{}
		dir.Unlock()
		for _, e := range order {
			if e.ino.IsDir() {
				kill(e.ino)
			}
			e.ino.Put()
		}
	}
	kill(f.root)
	f.root.Put()
}

// Statfs is shmem_statfs.
func (f *FS) Statfs(sb *fs.SuperBlock) (fs.Statfs, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := fs.Statfs{Type: Magic, Bsize: fs.PageSize, Frsize: fs.PageSize, Namelen: fs.NameMax}
	if f.opts.MaxPages != 0 {
		st.Blocks = uint64(f.opts.MaxPages)
		st.Bfree = uint64(f.opts.MaxPages - f.pages)
		st.Bavail = st.Bfree
	}
	if f.opts.MaxInodes != 0 {
		st.Files = uint64(f.opts.MaxInodes)
		st.Ffree = uint64(f.opts.MaxInodes - f.inodes)
	}
	return st, nil
}

// ShowOptions is shmem_show_options.
func (f *FS) ShowOptions(sb *fs.SuperBlock) string {
	var b strings.Builder
	if f.opts.MaxPages != 0 {
		fmt.Fprintf(&b, ",size=%dk", f.opts.MaxPages*fs.PageSize>>10)
	}
	if f.opts.MaxInodes != 0 {
		fmt.Fprintf(&b, ",nr_inodes=%d", f.opts.MaxInodes)
	}
	if f.opts.Mode != 0o1777 {
		fmt.Fprintf(&b, ",mode=%03o", f.opts.Mode)
	}
	if f.opts.UID != 0 {
		fmt.Fprintf(&b, ",uid=%d", f.opts.UID)
	}
	if f.opts.GID != 0 {
		fmt.Fprintf(&b, ",gid=%d", f.opts.GID)
	}
	b.WriteString(",inode64")
	return b.String()
}

// Open returns the file operations of a regular file, directory or
// symlink (O_PATH never gets here).
func (f *FS) Open(ino *fs.Inode, file *fs.File) (fs.FileOperations, error) {
	return fileOps{f}, nil
}

// fileOps is shmem_file_operations plus simple_offset_dir_operations.
type fileOps struct{ f *FS }

// Read is shmem_file_read_iter: page by page, zeros for holes.
func (o fileOps) Read(file *fs.File, dst []byte, off int64) (int, error) {
	ino := file.Inode()
	ino.Lock()
	defer ino.Unlock()
	if off >= ino.Size {
		return 0, nil
	}
	n := int64(len(dst))
	if n > ino.Size-off {
		n = ino.Size - off
	}
	p := priv(ino)
	done := int64(0)
	for done < n {
		pos := off + done
		idx, po := pos/fs.PageSize, pos%fs.PageSize
		chunk := min(fs.PageSize-po, n-done)
		if pg, ok := p.pages[idx]; ok {
			copy(dst[done:done+chunk], pg.Data[po:po+chunk])
		} else {
			clear(dst[done : done+chunk])
		}
		done += chunk
	}
	return int(n), nil
}

// Write is shmem_write_begin/end for each page: allocate what is a hole,
// copy, grow the file. A failure part-way returns what was written.
func (o fileOps) Write(file *fs.File, src []byte, off int64, appendMode bool) (int, int64, error) {
	ino := file.Inode()
	ino.Lock()
	defer ino.Unlock()
	if appendMode {
		off = ino.Size
	}
	if off+int64(len(src)) < off || off+int64(len(src)) > ino.SB().MaxBytes {
		return 0, off, unix.EFBIG
	}
	done := 0
	var err error
	for done < len(src) {
		pos := off + int64(done)
		idx, po := pos/fs.PageSize, pos%fs.PageSize
		var pg fs.Page
		if pg, err = o.f.pageLocked(ino, idx); err != nil {
			break
		}
		done += copy(pg.Data[po:], src[done:])
	}
	if done > 0 {
		if end := off + int64(done); end > ino.Size {
			ino.Size = end
		}
		now := o.f.now()
		ino.Mtime, ino.Ctime = now, now
		err = nil
	}
	return done, off + int64(done), err
}

// Readdir emits the entries with cookies >= cookie.
func (o fileOps) Readdir(file *fs.File, cookie int64, emit func(fs.Dirent) bool) error {
	ino := file.Inode()
	ino.Lock()
	d := priv(ino)
	i := sort.Search(len(d.order), func(i int) bool { return d.order[i].cookie >= cookie })
	ents := make([]dirent, 0, len(d.order)-i)
	for _, e := range d.order[i:] {
		ents = append(ents, *e)
	}
	ino.Unlock()
	for _, e := range ents {
		if !emit(fs.Dirent{Name: e.name, Ino: e.ino.Ino, Type: fs.DTType(e.ino.Type()), Next: e.cookie + 1}) {
			return nil
		}
	}
	return nil
}

// Release has nothing to free.
func (o fileOps) Release(file *fs.File) {}
