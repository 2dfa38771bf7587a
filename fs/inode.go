package fs

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Timespec is a timestamp (struct timespec64).
type Timespec struct {
	Sec  int64
	Nsec int64
}

// Before reports whether t is earlier than u.
func (t Timespec) Before(u Timespec) bool {
	return t.Sec < u.Sec || t.Sec == u.Sec && t.Nsec < u.Nsec
}

// Inode is struct inode: one file system object. The VFS keeps the
// attributes here, the file system keeps its data in Private. An inode is
// created by its file system (NewInode), referenced by every dentry that
// names it and by whatever the file system itself holds (tmpfs: one
// reference per link), and evicted (SuperOperations.Evict) when the last
// reference goes.
type Inode struct {
	sb  *SuperBlock
	Ino uint64
	// typ is the S_IFMT bits, which never change: reading them needs
	// no lock.
	typ uint32

	// refs is i_count; guarded by VFS.mu.
	refs int

	// mu is i_rwsem: it guards the attributes below and whatever the
	// file system keeps for the inode (its pages, its directory
	// entries). File systems lock it with Lock/Unlock when they change
	// either.
	mu    sync.Mutex
	Mode  uint32 // S_IFMT | permission bits
	UID   uint32 // kuid
	GID   uint32 // kgid
	Nlink uint32
	Size  int64
	// Blocks is st_blocks, in 512-byte units.
	Blocks int64
	Rdev   uint64
	Atime  Timespec
	Mtime  Timespec
	Ctime  Timespec
	Btime  Timespec
	// Dead is S_DEAD: a removed directory, in which nothing may be
	// created (IS_DEADDIR → ENOENT).
	Dead bool

	// Private is the file system's own data.
	Private any
}

// SB returns the inode's super block.
func (i *Inode) SB() *SuperBlock { return i.sb }

// Lock takes the inode's mutex (inode_lock).
func (i *Inode) Lock() { i.mu.Lock() }

// Unlock releases it.
func (i *Inode) Unlock() { i.mu.Unlock() }

// IsDir reports S_ISDIR; the type never changes, so no lock.
func (i *Inode) IsDir() bool { return i.typ == unix.S_IFDIR }

// IsReg reports S_ISREG.
func (i *Inode) IsReg() bool { return i.typ == unix.S_IFREG }

// IsSymlink reports S_ISLNK.
func (i *Inode) IsSymlink() bool { return i.typ == unix.S_IFLNK }

// Type returns the S_IFMT bits.
func (i *Inode) Type() uint32 { return i.typ }

// Get takes a reference (ihold). The caller holds VFS.mu: file systems
// call it from their operations, which the VFS calls with it held.
func (i *Inode) Get() { i.refs++ }

// Put drops a reference (iput); the last one evicts the inode.
// Called with VFS.mu held.
func (i *Inode) Put() {
	i.refs--
	if i.refs > 0 {
		return
	}
	if i.refs < 0 {
		panic("fs: iput of a free inode")
	}
	i.sb.Ops.Evict(i)
	i.Private = nil
	i.sb.vfs.Free(KindInode)
}

// Refs returns i_count (for tests and the auditor).
func (i *Inode) Refs() int {
	i.sb.vfs.mu.Lock()
	defer i.sb.vfs.mu.Unlock()
	return i.refs
}

// Stat is the VFS's struct kstat, the common part of stat and statx.
type Stat struct {
	Dev     uint64
	Ino     uint64
	Mode    uint32
	Nlink   uint32
	UID     uint32
	GID     uint32
	Rdev    uint64
	Size    int64
	Blksize int64
	Blocks  int64
	Atime   Timespec
	Mtime   Timespec
	Ctime   Timespec
	Btime   Timespec
	MntID   int
}

// attr snapshots the inode's attributes (generic_fillattr).
func (i *Inode) attr() Stat {
	i.mu.Lock()
	defer i.mu.Unlock()
	return Stat{Dev: i.sb.Dev, Ino: i.Ino, Mode: i.Mode, Nlink: i.Nlink, UID: i.UID, GID: i.GID, Rdev: i.Rdev,
		Size: i.Size, Blksize: PageSize, Blocks: i.Blocks, Atime: i.Atime, Mtime: i.Mtime, Ctime: i.Ctime, Btime: i.Btime}
}

// owner returns the inode's mode, uid and gid under its lock.
func (i *Inode) owner() (mode, uid, gid uint32) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.Mode, i.UID, i.GID
}

// PageSize is the page size of file data and st_blksize.
const PageSize = 4096

// Owner is who a new inode belongs to and its final mode, as the VFS
// computed them (inode_init_owner: the fsuid, the fsgid or the
// directory's group under a set-group-ID directory, the umask applied).
type Owner struct {
	UID, GID uint32
	Mode     uint32 // S_IFMT | permission bits
	Rdev     uint64
}

// SetAttr is struct iattr: which attributes a setattr changes.
type SetAttr struct {
	Valid uint32 // Attr* bits
	Mode  uint32
	UID   uint32
	GID   uint32
	Size  int64
	Atime Timespec
	Mtime Timespec
	Ctime Timespec
}

// SetAttr.Valid bits (ATTR_*).
const (
	AttrMode     = 1 << 0
	AttrUID      = 1 << 1
	AttrGID      = 1 << 2
	AttrSize     = 1 << 3
	AttrAtime    = 1 << 4
	AttrMtime    = 1 << 5
	AttrCtime    = 1 << 6
	AttrAtimeSet = 1 << 7 // an explicit atime, not "now"
	AttrMtimeSet = 1 << 8
	AttrTouch    = 1 << 17 // utimes(NULL): owner or write permission
)

// Statfs is struct kstatfs.
type Statfs struct {
	Type    int64
	Bsize   int64
	Blocks  uint64
	Bfree   uint64
	Bavail  uint64
	Files   uint64
	Ffree   uint64
	Fsid    [2]int32
	Namelen int64
	Frsize  int64
	Flags   int64
}

// Dirent is one directory entry as readdir emits it.
type Dirent struct {
	Name string
	Ino  uint64
	Type uint8 // DT_*
	// Next is the cookie that resumes after this entry (the d_off
	// getdents64 reports).
	Next int64
}

// DTType maps a mode to its DT_* value (fs_umode_to_dtype).
func DTType(mode uint32) uint8 { return uint8(mode & unix.S_IFMT >> 12) }

// InodeOperations is what a file system implements for its inodes: the
// union of Linux's inode_operations and super_operations, each method
// given the inode it acts on. The VFS calls them with VFS.mu held, after
// all of its checks (permissions, existence, types, mount flags); an
// operation only does the change, locking the inodes it modifies. Every
// inode an operation returns carries a new reference, which the VFS
// hands to a dentry. An operation a file system does not support returns
// EPERM, as a missing i_op method does.
type InodeOperations interface {
	// Lookup finds name in dir (ENOENT if absent).
	Lookup(dir *Inode, name string) (*Inode, error)
	// Create makes a regular file; Mknod a device, FIFO or socket;
	// Mkdir a directory; Symlink a symbolic link to target.
	Create(dir *Inode, name string, o Owner) (*Inode, error)
	Mknod(dir *Inode, name string, o Owner) (*Inode, error)
	Mkdir(dir *Inode, name string, o Owner) (*Inode, error)
	Symlink(dir *Inode, name, target string, o Owner) (*Inode, error)
	// Link adds name in dir for the existing inode.
	Link(old *Inode, dir *Inode, name string) error
	// Unlink removes name (naming victim) from dir; Rmdir the
	// directory victim, which the file system checks is empty
	// (ENOTEMPTY).
	Unlink(dir *Inode, name string, victim *Inode) error
	Rmdir(dir *Inode, name string, victim *Inode) error
	// Rename moves oldName in oldDir to newName in newDir. target is
	// what newName names now (nil if nothing); it is replaced, or with
	// RENAME_EXCHANGE swapped. A non-empty directory target is
	// ENOTEMPTY.
	Rename(oldDir *Inode, oldName string, newDir *Inode, newName string, target *Inode, flags uint32) error
	// Readlink returns a symbolic link's target.
	Readlink(ino *Inode) (string, error)
	// Setattr applies attributes the VFS has already allowed; a size
	// change truncates or extends.
	Setattr(ino *Inode, a *SetAttr) error
	// Open returns the file operations for a new open file.
	Open(ino *Inode, f *File) (FileOperations, error)
}

// SuperOperations is struct super_operations.
type SuperOperations interface {
	InodeOperations
	// Evict frees the file system's data for an inode whose last
	// reference is gone (evict_inode).
	Evict(ino *Inode)
	// Statfs fills the file system's statistics.
	Statfs(sb *SuperBlock) (Statfs, error)
	// ShowOptions returns the super options mountinfo prints after
	// rw/ro, each with a leading comma (",size=1024k").
	ShowOptions(sb *SuperBlock) string
	// Kill releases everything the file system holds when the last
	// mount of the super block goes (kill_sb): its references to its
	// inodes, so that every one is evicted.
	Kill(sb *SuperBlock)
}

// MagicLinker is implemented by file systems whose symbolic links are
// "magic" (procfs's /proc/<pid>/fd/N, cwd, root, exe): following one
// jumps to a path instead of resolving a string (nd_jump_link). JumpLink
// is called with VFS.mu held; it returns the path with references taken
// by Path.Hold, or a zero Path for an ordinary symlink.
type MagicLinker interface {
	JumpLink(ino *Inode) (Path, error)
}

// Revalidator is implemented by file systems whose cached dentries may
// go stale behind the VFS's back (d_revalidate): procfs, a host
// overlay. A false result drops the cached dentry and looks again.
type Revalidator interface {
	Revalidate(dir *Inode, name string, ino *Inode) bool
}

// FileOperations is struct file_operations for one open file. Read and
// Write take the offset explicitly (the VFS keeps f_pos); Write with
// appendMode writes at the end of file under the inode's lock and
// returns the offset after the data.
type FileOperations interface {
	Read(f *File, dst []byte, off int64) (int, error)
	Write(f *File, src []byte, off int64, appendMode bool) (n int, end int64, err error)
	// Readdir emits the entries whose cookies are >= cookie (the VFS
	// emits "." and ".." itself, as cookies 0 and 1; a file system's
	// cookies start at 2), stopping when emit returns false.
	Readdir(f *File, cookie int64, emit func(Dirent) bool) error
	// Release is called when the last reference to the file goes,
	// with VFS.mu held.
	Release(f *File)
}

// SuperBlock is struct super_block: one instance of a file system.
type SuperBlock struct {
	vfs    *VFS
	Type   *FileSystemType
	Dev    uint64
	Source string // what mountinfo shows as the mount source
	// Flags are SB_* flags (SbRdonly...); guarded by VFS.mu.
	Flags uint64
	Ops   SuperOperations
	// Root is s_root.
	Root *Dentry
	// UserNS is s_user_ns, the user namespace that owns the super
	// block (opaque to the VFS; nil: the initial one).
	UserNS any
	// MaxBytes is s_maxbytes: past it a size change is EFBIG.
	MaxBytes int64
	// Now is current_time: the file system's clock, which the VFS
	// uses for atime. Nil: no atime updates.
	Now func() Timespec

	// active is s_active: the mounts of this super block; guarded by
	// VFS.mu.
	active  int
	nextIno atomic.Uint64 // get_next_ino

	Private any
}

// Super block flags (SB_*).
const (
	SbRdonly = 1 << 0
)

// VFS returns the VFS the super block belongs to.
func (sb *SuperBlock) VFS() *VFS { return sb.vfs }

// NewSuper allocates a super block (alloc_super) with an anonymous
// device number (get_anon_bdev). The file system fills Ops and then
// calls SetRoot.
func (v *VFS) NewSuper(t *FileSystemType, source string, ops SuperOperations) (*SuperBlock, error) {
	if err := v.Alloc(SiteSuper, KindSuper); err != nil {
		return nil, err
	}
	v.mu.Lock()
	dev := v.allocAnonDev()
	v.mu.Unlock()
	return &SuperBlock{vfs: v, Type: t, Dev: dev, Source: source, Ops: ops, MaxBytes: 1<<63 - 1}, nil
}

// DestroySuper frees a super block that never got a root (a failed
// fill_super): its device number and its count.
func (sb *SuperBlock) DestroySuper() {
	sb.vfs.mu.Lock()
	sb.vfs.freeAnonDev(sb.Dev)
	sb.vfs.mu.Unlock()
	sb.vfs.Free(KindSuper)
}

// NewInode allocates an inode of sb (new_inode + get_next_ino) with one
// reference, owned by the caller. File systems call it from their
// operations, with or without VFS.mu held; it does not take it.
func (sb *SuperBlock) NewInode(o Owner) (*Inode, error) {
	if err := sb.vfs.Alloc(SiteInode, KindInode); err != nil {
		return nil, err
	}
	ino := &Inode{sb: sb, refs: 1, typ: o.Mode & unix.S_IFMT, Mode: o.Mode, UID: o.UID, GID: o.GID, Rdev: o.Rdev, Nlink: 1}
	ino.Ino = sb.nextIno.Add(1)
	return ino, nil
}

// SetRoot makes ino (whose reference it takes) the root of sb
// (d_make_root). It allocates the root dentry, and on failure drops the
// reference to ino.
func (sb *SuperBlock) SetRoot(ino *Inode) error {
	v := sb.vfs
	v.mu.Lock()
	defer v.mu.Unlock()
	d, err := v.dAlloc(nil, "/", sb)
	if err != nil {
		ino.Put()
		return err
	}
	d.inode = ino
	sb.Root = d
	return nil
}

// deactivate drops one active reference (deactivate_super); the last one
// kills the super block. Called with VFS.mu held.
func (sb *SuperBlock) deactivate() {
	sb.active--
	if sb.active > 0 {
		return
	}
	sb.Ops.Kill(sb)
	root := sb.Root
	sb.Root = nil
	root.put()
	sb.vfs.freeAnonDev(sb.Dev)
	sb.vfs.Free(KindSuper)
}
