package fs

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Open flags Linux has that x/sys does not spell for amd64 as the
// kernel sees them.
const (
	oLargefile = 0x8000
	oTmpfile   = 0x400000 // __O_TMPFILE (unix.O_TMPFILE includes O_DIRECTORY)
	oSync      = 0x101000 // __O_SYNC | O_DSYNC
	// resolveCached is RESOLVE_CACHED (Linux 5.12).
	resolveCached = 0x20
	fasync        = 0x2000

	validOpenFlags = unix.O_RDONLY | unix.O_WRONLY | unix.O_RDWR | unix.O_CREAT | unix.O_EXCL |
		unix.O_NOCTTY | unix.O_TRUNC | unix.O_APPEND | unix.O_NONBLOCK | oSync | unix.O_DSYNC |
		fasync | unix.O_DIRECT | oLargefile | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_NOATIME |
		unix.O_CLOEXEC | unix.O_PATH | oTmpfile
	oPathFlags     = unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_PATH | unix.O_CLOEXEC
	validResolve   = unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_BENEATH | unix.RESOLVE_IN_ROOT | resolveCached
	sIALLUGO       = 0o7777
	setflMask      = unix.O_APPEND | unix.O_NONBLOCK | fasync | unix.O_DIRECT | unix.O_NOATIME
	relatimeWindow = 24 * 60 * 60
)

// FMode is a file's f_mode.
type FMode uint32

// File modes (FMODE_*).
const (
	FmodeRead    FMode = 1 << 0
	FmodeWrite   FMode = 1 << 1
	FmodePath    FMode = 1 << 14
	FmodeOpened  FMode = 1 << 19
	FmodeCreated FMode = 1 << 20
)

// File is struct file: an open file description, shared by every fd
// that refers to it (dup, fork). It holds its path; the file system's
// per-open state is in Private.
type File struct {
	vfs   *VFS
	path  Path
	inode *Inode
	mode  FMode
	ops   FileOperations
	refs  atomic.Int64

	// mu is f_pos_lock: it guards flags and pos.
	mu    sync.Mutex
	flags int
	pos   int64

	Private any
}

// allocEmptyFile is alloc_empty_file: a file with one reference and no
// path yet.
func (v *VFS) allocEmptyFile(flags int) (*File, error) {
	if err := v.Alloc(SiteFile, KindFile); err != nil {
		return nil, err
	}
	f := &File{vfs: v, flags: flags}
	f.refs.Store(1)
	return f, nil
}

// Get takes a reference (get_file).
func (f *File) Get() *File {
	f.refs.Add(1)
	return f
}

// Put drops a reference (fput); the last one releases the file (__fput):
// the file system's release, then the path.
func (f *File) Put() {
	n := f.refs.Add(-1)
	if n > 0 {
		return
	}
	if n < 0 {
		panic("fs: fput of a free file")
	}
	v := f.vfs
	v.mu.Lock()
	defer v.mu.Unlock()
	f.release()
}

// release is __fput, with VFS.mu held.
func (f *File) release() {
	if f.ops != nil {
		f.ops.Release(f)
	}
	if !f.path.IsZero() {
		f.path.put()
		f.path = Path{}
	}
	f.vfs.Free(KindFile)
}

// Path returns the file's path (without a new reference: valid while the
// caller holds the file).
func (f *File) Path() Path { return f.path }

// Inode returns the file's inode.
func (f *File) Inode() *Inode { return f.inode }

// Mode returns f_mode.
func (f *File) Mode() FMode { return f.mode }

// Flags returns f_flags: the access mode and the status flags
// (F_GETFL).
func (f *File) Flags() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.flags
}

// SetFlags is F_SETFL: only O_APPEND, O_NONBLOCK, O_ASYNC, O_DIRECT and
// O_NOATIME change; clearing O_APPEND is allowed (nsvm has no
// append-only inodes).
func (f *File) SetFlags(cr Credentials, flags int) error {
	if flags&unix.O_NOATIME != 0 && f.Flags()&unix.O_NOATIME == 0 && !inodeOwnerOrCapable(cr, f.inode) {
		return unix.EPERM
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flags = f.flags&^setflMask | flags&setflMask
	return nil
}

// OpenHow is struct open_how (openat2).
type OpenHow struct {
	Flags   uint64
	Mode    uint64
	Resolve uint64
}

// BuildOpenHow is build_open_how: what open(2) and openat(2) pass on.
// Unknown flags are dropped, O_PATH drops everything it does not allow,
// and the mode only counts when creating.
func BuildOpenHow(flags int, mode uint32) OpenHow {
	how := OpenHow{Flags: uint64(uint32(flags)) & validOpenFlags, Mode: uint64(mode & sIALLUGO)}
	if how.Flags&unix.O_PATH != 0 {
		how.Flags &= oPathFlags
	}
	if how.Flags&(unix.O_CREAT|oTmpfile) == 0 {
		how.Mode = 0
	}
	return how
}

// openFlags is struct open_flags.
type openFlags struct {
	openFlag    int
	mode        uint32
	accMode     int
	intent      int
	lookupFlags int
}

// buildOpenFlags is build_open_flags: validate how and derive the
// access mode and the lookup flags.
func buildOpenFlags(how OpenHow) (openFlags, error) {
	var op openFlags
	flags := how.Flags
	if flags&^validOpenFlags != 0 || how.Resolve&^validResolve != 0 {
		return op, unix.EINVAL
	}
	// Scoping flags are mutually exclusive.
	if how.Resolve&unix.RESOLVE_BENEATH != 0 && how.Resolve&unix.RESOLVE_IN_ROOT != 0 {
		return op, unix.EINVAL
	}
	if flags&(unix.O_CREAT|oTmpfile) != 0 {
		if how.Mode&^sIALLUGO != 0 {
			return op, unix.EINVAL
		}
		op.mode = uint32(how.Mode) | unix.S_IFREG
	} else if how.Mode != 0 {
		return op, unix.EINVAL
	}
	// O_DIRECTORY|O_CREAT once made regular files; Linux 6.4 refuses it.
	if flags&(unix.O_DIRECTORY|unix.O_CREAT) == unix.O_DIRECTORY|unix.O_CREAT {
		return op, unix.EINVAL
	}
	flags &^= unix.O_CLOEXEC // the fd's, not the file's
	var accMode int
	switch {
	case flags&oTmpfile != 0:
		// O_TMPFILE is not modelled yet: Linux returns EOPNOTSUPP
		// for file systems without ->tmpfile, and so does nsvm.
		return op, unix.EOPNOTSUPP
	case flags&unix.O_PATH != 0:
		if flags&^oPathFlags != 0 {
			return op, unix.EINVAL
		}
	default:
		// ACC_MODE: O_RDONLY reads, O_WRONLY writes, O_RDWR and the
		// odd 3 both.
		accMode = MayOpen | [4]int{MayRead, MayWrite, MayRead | MayWrite, MayRead | MayWrite}[flags&unix.O_ACCMODE]
	}
	if flags&unix.O_TRUNC != 0 {
		accMode |= MayWrite
	}
	if flags&unix.O_APPEND != 0 {
		accMode |= MayAppend
	}
	op.openFlag = int(flags)
	op.accMode = accMode
	if flags&unix.O_PATH == 0 {
		op.intent = LookupOpen
	}
	if flags&unix.O_CREAT != 0 {
		op.intent |= LookupCreate
		if flags&unix.O_EXCL != 0 {
			op.intent |= LookupExcl
			flags |= unix.O_NOFOLLOW
		}
	}
	lf := 0
	if flags&unix.O_DIRECTORY != 0 {
		lf |= LookupDirectory
	}
	if flags&unix.O_NOFOLLOW == 0 {
		lf |= LookupFollow
	}
	for _, r := range [...]struct {
		res uint64
		lf  int
	}{
		{unix.RESOLVE_NO_XDEV, LookupNoXdev},
		{unix.RESOLVE_NO_MAGICLINKS, LookupNoMagiclinks},
		{unix.RESOLVE_NO_SYMLINKS, LookupNoSymlinks},
		{unix.RESOLVE_BENEATH, LookupBeneath},
		{unix.RESOLVE_IN_ROOT, LookupInRoot},
	} {
		if how.Resolve&r.res != 0 {
			lf |= r.lf
		}
	}
	if how.Resolve&resolveCached != 0 && flags&(unix.O_TRUNC|unix.O_CREAT|oTmpfile) != 0 {
		// Don't bother even trying for create/truncate.
		return op, unix.EAGAIN
	}
	op.lookupFlags = lf
	return op, nil
}

// Openat is do_sys_openat2 after the fd part: open name relative to dirf
// (nil: the cwd). The caller installs the file in its fd table (and
// keeps O_CLOEXEC there).
func (v *VFS) Openat(ctx *Ctx, dirf *File, name string, how OpenHow) (*File, error) {
	op, err := buildOpenFlags(how)
	if err != nil {
		return nil, err
	}
	if err := getname(name, 0); err != nil {
		return nil, err
	}
	v.mu.Lock()
	f, err := v.pathOpenat(ctx, dirf, name, &op)
	v.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if f.ops != nil && op.openFlag&unix.O_TRUNC != 0 && f.mode&FmodeCreated == 0 && f.inode.IsReg() {
		// handle_truncate, after the lock: the file system's
		// truncation takes the inode's lock.
		if err := f.inode.sb.Ops.Setattr(f.inode, &SetAttr{Valid: AttrSize | AttrMtime | AttrCtime, Size: 0}); err != nil {
			f.Put()
			return nil, err
		}
	}
	return f, nil
}

// pathOpenat is path_openat: allocate the file, walk to the last
// component, look it up or create it (openLastLookups, following
// trailing symlinks), and open it (doOpen).
func (v *VFS) pathOpenat(ctx *Ctx, dirf *File, name string, op *openFlags) (*File, error) {
	f, err := v.allocEmptyFile(op.openFlag)
	if err != nil {
		return nil, err
	}
	if op.openFlag&unix.O_PATH != 0 {
		err = v.doOPath(ctx, dirf, name, op, f)
	} else {
		nd := &nameidata{v: v, ctx: ctx, flags: op.lookupFlags}
		var s string
		s, err = nd.pathInit(name, dirf)
		for err == nil {
			if err = nd.linkPathWalk(s); err != nil {
				break
			}
			var follow bool
			s, follow, err = nd.openLastLookups(f, op)
			if err != nil || !follow || s == "" {
				break
			}
			nd.flags &^= LookupOpen | LookupCreate | LookupExcl
		}
		if err == nil {
			err = nd.doOpen(f, op)
		}
		nd.terminate()
	}
	if err != nil {
		// The file was never shared: release it directly.
		f.release()
		return nil, err
	}
	return f, nil
}

// doOPath is do_o_path: an O_PATH file only records where it points.
func (v *VFS) doOPath(ctx *Ctx, dirf *File, name string, op *openFlags, f *File) error {
	p, err := v.pathLookupat(ctx, dirf, name, op.lookupFlags)
	if err != nil {
		return err
	}
	f.path = p
	f.inode = p.Dentry.inode
	f.mode = FmodePath | FmodeOpened
	return nil
}

// openLastLookups is open_last_lookups: the last component of an open.
// With O_CREAT a trailing slash is EISDIR; without, it demands a
// directory. A created file is the result as is; anything else is
// stepped into like any component, which may return a symlink to
// follow.
func (nd *nameidata) openLastLookups(f *File, op *openFlags) (string, bool, error) {
	nd.flags |= op.intent
	if nd.lastType != lastNorm {
		return "", false, nd.handleDots(nd.lastType)
	}
	if op.openFlag&unix.O_CREAT == 0 {
		if nd.lastSlash {
			nd.flags |= LookupFollow | LookupDirectory
		}
	} else if nd.lastSlash {
		return "", false, unix.EISDIR
	}
	gotWrite := false
	if op.openFlag&(unix.O_CREAT|unix.O_TRUNC|unix.O_WRONLY|unix.O_RDWR) != 0 {
		// Do not fail yet: the lookup may not need to write, or may
		// fail with a different error.
		gotWrite = mntWantWrite(nd.path.Mnt) == nil
	}
	d, err := nd.lookupOpen(f, op, gotWrite)
	if err != nil {
		return "", false, err
	}
	if f.mode&FmodeCreated != 0 {
		nd.setPath(Path{nd.path.Mnt, d}.get())
		d.put()
		return "", false, nil
	}
	return nd.stepInto(walkTrailing, d)
}

// lookupOpen is lookup_open: find the last component; create it if it is
// missing and O_CREAT asks, when the mount is writable and the directory
// permits (may_o_create). A create that cannot happen only fails the
// open if the file does not exist.
func (nd *nameidata) lookupOpen(f *File, op *openFlags, gotWrite bool) (*Dentry, error) {
	dir := nd.path.Dentry
	if dir.inode.Dead {
		return nil, unix.ENOENT
	}
	var createErr error
	openFlag := op.openFlag
	var owner Owner
	if openFlag&unix.O_CREAT != 0 {
		owner = inodeInitOwner(nd.ctx.Cred, dir.inode, op.mode, nd.ctx.FS.umask)
		if gotWrite {
			createErr = InodePermission(nd.ctx.Cred, dir.inode, MayWrite|MayExec)
		} else {
			createErr = unix.EROFS
		}
		if createErr != nil {
			openFlag &^= unix.O_CREAT
		}
	}
	d, err := nd.v.lookupOne(dir, nd.last)
	if err != nil {
		return nil, err
	}
	if d.inode == nil && openFlag&unix.O_CREAT != 0 {
		ino, err := dir.sb.Ops.Create(dir.inode, nd.last, owner)
		if err != nil {
			d.put()
			return nil, err
		}
		d.instantiate(ino)
		f.mode |= FmodeCreated
	}
	if d.inode == nil && createErr != nil {
		d.put()
		return nil, createErr
	}
	return d, nil
}

// doOpen is do_open: the checks on what the walk found, then vfs_open.
func (nd *nameidata) doOpen(f *File, op *openFlags) error {
	p := nd.path
	if op.openFlag&unix.O_CREAT != 0 {
		if op.openFlag&unix.O_EXCL != 0 && f.mode&FmodeCreated == 0 {
			return unix.EEXIST
		}
		if p.Dentry.isDir() {
			return unix.EISDIR
		}
	}
	if nd.flags&LookupDirectory != 0 && !p.Dentry.isDir() {
		return unix.ENOTDIR
	}
	accMode := op.accMode
	openFlag := op.openFlag
	if f.mode&FmodeCreated != 0 {
		// Don't check for write permission, don't truncate.
		openFlag &^= unix.O_TRUNC
		accMode = 0
	} else if p.Dentry.isReg() && openFlag&unix.O_TRUNC != 0 {
		if err := mntWantWrite(p.Mnt); err != nil {
			return err
		}
	}
	if err := mayOpen(nd.ctx.Cred, p, accMode, openFlag); err != nil {
		return err
	}
	return nd.v.vfsOpen(p, f)
}

// vfsOpen is vfs_open / do_dentry_open: bind the file to its path, take
// write access to the mount, and call the file system's open.
func (v *VFS) vfsOpen(p Path, f *File) error {
	f.path = p.get()
	f.inode = p.Dentry.inode
	switch f.flags & unix.O_ACCMODE {
	case unix.O_RDONLY:
		f.mode |= FmodeRead
	case unix.O_WRONLY:
		f.mode |= FmodeWrite
	case unix.O_RDWR:
		f.mode |= FmodeRead | FmodeWrite
	}
	if f.mode&FmodeWrite != 0 && (f.inode.IsReg() || f.inode.IsDir() || f.inode.IsSymlink()) {
		if err := mntWantWrite(p.Mnt); err != nil {
			return err
		}
	}
	var ops FileOperations
	var err error
	switch f.inode.Type() {
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO, unix.S_IFSOCK:
		if v.special == nil || f.inode.Type() == unix.S_IFSOCK {
			// A socket cannot be opened (ENXIO, open(2)).
			return unix.ENXIO
		}
		ops, err = v.special(f.inode, f)
	default:
		ops, err = f.inode.sb.Ops.Open(f.inode, f)
	}
	if err != nil {
		return err
	}
	f.ops = ops
	f.mode |= FmodeOpened
	f.flags &^= unix.O_CREAT | unix.O_EXCL | unix.O_NOCTTY | unix.O_TRUNC
	return nil
}

// --- I/O on an open file (fs/read_write.c) ---

// Read is read(2) at the file position.
func (f *File) Read(dst []byte) (int, error) {
	if f.mode&FmodeRead == 0 {
		return 0, unix.EBADF
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.read(dst, f.pos)
	f.pos += int64(n)
	return n, err
}

// Pread is pread64(2).
func (f *File) Pread(dst []byte, off int64) (int, error) {
	if f.mode&FmodeRead == 0 {
		return 0, unix.EBADF
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	return f.read(dst, off)
}

func (f *File) read(dst []byte, off int64) (int, error) {
	if f.inode.IsDir() {
		return 0, unix.EISDIR
	}
	n, err := f.ops.Read(f, dst, off)
	f.touchAtime()
	return n, err
}

// touchAtime is touch_atime under the mount's atime policy: noatime
// never, relatime only when the atime is not newer than mtime or ctime
// or is a day old, strictatime always.
func (f *File) touchAtime() {
	if f.flags&unix.O_NOATIME != 0 || f.path.Mnt.flags&MntNoAtime != 0 {
		return
	}
	ino := f.inode
	if ino.IsDir() && f.path.Mnt.flags&MntNoDiratime != 0 {
		return
	}
	if ino.sb.Flags&SbRdonly != 0 || f.path.Mnt.flags&MntReadonly != 0 || ino.sb.Now == nil {
		return
	}
	now := ino.sb.Now()
	ino.mu.Lock()
	defer ino.mu.Unlock()
	if f.path.Mnt.flags&MntRelatime != 0 {
		if !ino.Mtime.Before(ino.Atime) || !ino.Ctime.Before(ino.Atime) || now.Sec-ino.Atime.Sec >= relatimeWindow {
			ino.Atime = now
		}
		return
	}
	ino.Atime = now
}

// Write is write(2) at the file position (at the end with O_APPEND). A
// write by a caller without CAP_FSETID clears S_ISUID, and S_ISGID with
// group execute (file_remove_privs).
func (f *File) Write(cr Credentials, src []byte) (int, error) {
	if f.mode&FmodeWrite == 0 {
		return 0, unix.EBADF
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n, end, err := f.write(cr, src, f.pos, f.flags&unix.O_APPEND != 0)
	f.pos = end
	return n, err
}

// Pwrite is pwrite64(2). As on Linux, O_APPEND makes it append anyway.
func (f *File) Pwrite(cr Credentials, src []byte, off int64) (int, error) {
	if f.mode&FmodeWrite == 0 {
		return 0, unix.EBADF
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	n, _, err := f.write(cr, src, off, f.Flags()&unix.O_APPEND != 0)
	return n, err
}

func (f *File) write(cr Credentials, src []byte, off int64, appendMode bool) (int, int64, error) {
	if len(src) == 0 {
		return 0, off, nil
	}
	f.removePrivs(cr)
	return f.ops.Write(f, src, off, appendMode)
}

// removePrivs is file_remove_privs / should_remove_suid.
func (f *File) removePrivs(cr Credentials) {
	ino := f.inode
	if !ino.IsReg() {
		return
	}
	ino.mu.Lock()
	defer ino.mu.Unlock()
	kill := uint32(0)
	if ino.Mode&unix.S_ISUID != 0 {
		kill |= unix.S_ISUID
	}
	if ino.Mode&(unix.S_ISGID|unix.S_IXGRP) == unix.S_ISGID|unix.S_IXGRP {
		kill |= unix.S_ISGID
	}
	if kill == 0 || cr != nil && cr.CapableWrtInode(CapFsetid, ino.UID, ino.GID) {
		return
	}
	ino.Mode &^= kill
}

// Seek is lseek(2). A directory's position is a readdir cookie; SEEK_END
// on a directory is EINVAL. SEEK_DATA and SEEK_HOLE treat the whole file
// as data (what generic_file_llseek does without a file system's help).
func (f *File) Seek(off int64, whence int) (int64, error) {
	if f.mode&FmodePath != 0 {
		return 0, unix.EBADF
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ft := f.inode.Type()
	if ft == unix.S_IFIFO || ft == unix.S_IFSOCK {
		return 0, unix.ESPIPE
	}
	size := f.inode.attr().Size
	var pos int64
	switch whence {
	case unix.SEEK_SET:
		pos = off
	case unix.SEEK_CUR:
		pos = f.pos + off
	case unix.SEEK_END:
		if f.inode.IsDir() {
			return 0, unix.EINVAL
		}
		pos = size + off
	case unix.SEEK_DATA:
		if f.inode.IsDir() || off < 0 || off >= size {
			return 0, unix.ENXIO
		}
		pos = off
	case unix.SEEK_HOLE:
		if f.inode.IsDir() || off < 0 || off >= size {
			return 0, unix.ENXIO
		}
		pos = size
	default:
		return 0, unix.EINVAL
	}
	if pos < 0 {
		return 0, unix.EINVAL
	}
	f.pos = pos
	return pos, nil
}

// Pos returns the file position.
func (f *File) Pos() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pos
}

// Readdir is iterate_dir: emit entries from the position on, "." and
// ".." first (cookies 0 and 1), advancing the position past each entry
// emit accepts. It returns ENOTDIR for a non-directory and ENOENT for a
// removed one (IS_DEADDIR).
func (f *File) Readdir(emit func(Dirent) bool) error {
	if f.mode&FmodePath != 0 {
		return unix.EBADF
	}
	if !f.inode.IsDir() {
		return unix.ENOTDIR
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ino := f.inode
	ino.mu.Lock()
	dead := ino.Dead
	ino.mu.Unlock()
	if dead {
		return unix.ENOENT
	}
	defer f.touchAtime()
	if f.pos == 0 {
		if !emit(Dirent{Name: ".", Ino: ino.Ino, Type: unix.DT_DIR, Next: 1}) {
			return nil
		}
		f.pos = 1
	}
	if f.pos == 1 {
		v := f.vfs
		v.mu.Lock()
		pino := ino.Ino
		if d := f.path.Dentry; d.parent != nil {
			pino = d.parent.inode.Ino
		}
		v.mu.Unlock()
		if !emit(Dirent{Name: "..", Ino: pino, Type: unix.DT_DIR, Next: 2}) {
			return nil
		}
		f.pos = 2
	}
	return f.ops.Readdir(f, f.pos, func(d Dirent) bool {
		if !emit(d) {
			return false
		}
		f.pos = d.Next
		return true
	})
}

// Stat is fstat(2) (an O_PATH file too).
func (f *File) Stat() Stat {
	st := f.inode.attr()
	st.MntID = f.path.Mnt.id
	return st
}

// Truncate is ftruncate(2): a regular file open for writing.
func (f *File) Truncate(cr Credentials, length int64) error {
	if f.mode&FmodePath != 0 {
		return unix.EBADF
	}
	if length < 0 {
		return unix.EINVAL
	}
	if !f.inode.IsReg() || f.mode&FmodeWrite == 0 {
		return unix.EINVAL
	}
	a := &SetAttr{Valid: AttrSize | AttrMtime | AttrCtime, Size: length}
	if err := setattrPrepare(cr, f.inode, a); err != nil {
		return err
	}
	f.removePrivs(cr)
	return f.inode.sb.Ops.Setattr(f.inode, a)
}
