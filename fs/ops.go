package fs

import (
	"golang.org/x/sys/unix"
)

// The namespace operations of fs/namei.c (mkdirat, mknodat, unlinkat,
// renameat2, linkat, symlinkat, readlinkat) and fs/stat.c, fs/open.c,
// fs/attr.c (stat, chmod, chown, truncate, utimes, access, statfs), each
// with Linux's checks in Linux's order. All take VFS.mu for the whole
// operation.

// filenameCreate is filename_create: walk to the parent of name and
// return it with a negative dentry for the new entry. The last
// component must be a normal name (EEXIST for ".", ".." and "/"); a
// trailing slash is only allowed when creating a directory (ENOENT when
// the name is free, EEXIST when it is not). EROFS comes after EEXIST.
func (v *VFS) filenameCreate(ctx *Ctx, dirf *File, name string, wantDir bool) (parent, *Dentry, error) {
	p, err := v.filenameParentat(ctx, dirf, name, 0)
	if err != nil {
		return parent{}, nil, err
	}
	if p.lastType != lastNorm {
		p.put()
		return parent{}, nil, unix.EEXIST
	}
	errWrite := mntWantWrite(p.Mnt)
	d, err := v.lookupOne(p.Dentry, p.last)
	if err != nil {
		p.put()
		return parent{}, nil, err
	}
	fail := func(err error) (parent, *Dentry, error) {
		d.put()
		p.put()
		return parent{}, nil, err
	}
	if d.inode != nil {
		return fail(unix.EEXIST)
	}
	if p.lastSlash && !wantDir {
		return fail(unix.ENOENT)
	}
	if errWrite != nil {
		return fail(errWrite)
	}
	return p, d, nil
}

// Mkdirat is mkdirat(2).
func (v *VFS) Mkdirat(ctx *Ctx, dirf *File, name string, mode uint32) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	p, d, err := v.filenameCreate(ctx, dirf, name, true)
	if err != nil {
		return err
	}
	defer p.put()
	defer d.put()
	// vfs_mkdir
	dir := p.Dentry.inode
	if err := mayCreate(ctx.Cred, dir, d); err != nil {
		return err
	}
	o := inodeInitOwner(ctx.Cred, dir, unix.S_IFDIR|mode&(sIALLUGO&^unix.S_ISUID&^unix.S_ISGID|unix.S_ISVTX), ctx.FS.umask)
	ino, err := dir.sb.Ops.Mkdir(dir, d.name, o)
	if err != nil {
		return err
	}
	d.instantiate(ino)
	return nil
}

// Mknodat is mknodat(2): regular files, devices, FIFOs and sockets
// (a zero type means a regular file). Devices need CAP_MKNOD in the
// initial user namespace.
func (v *VFS) Mknodat(ctx *Ctx, dirf *File, name string, mode uint32, dev uint64) error {
	// may_mknod
	switch mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO, unix.S_IFSOCK:
	case 0:
		mode |= unix.S_IFREG
	case unix.S_IFDIR:
		return unix.EPERM
	default:
		return unix.EINVAL
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	p, d, err := v.filenameCreate(ctx, dirf, name, false)
	if err != nil {
		return err
	}
	defer p.put()
	defer d.put()
	dir := p.Dentry.inode
	if err := mayCreate(ctx.Cred, dir, d); err != nil {
		return err
	}
	o := inodeInitOwner(ctx.Cred, dir, mode, ctx.FS.umask)
	var ino *Inode
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		ino, err = dir.sb.Ops.Create(dir, d.name, o)
	case unix.S_IFCHR, unix.S_IFBLK:
		if !ctx.Cred.NSCapable(nil, CapMknod) {
			return unix.EPERM
		}
		o.Rdev = dev
		ino, err = dir.sb.Ops.Mknod(dir, d.name, o)
	default:
		ino, err = dir.sb.Ops.Mknod(dir, d.name, o)
	}
	if err != nil {
		return err
	}
	d.instantiate(ino)
	return nil
}

// Symlinkat is symlinkat(2).
func (v *VFS) Symlinkat(ctx *Ctx, target string, dirf *File, name string) error {
	if err := getname(target, 0); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	p, d, err := v.filenameCreate(ctx, dirf, name, false)
	if err != nil {
		return err
	}
	defer p.put()
	defer d.put()
	dir := p.Dentry.inode
	if err := mayCreate(ctx.Cred, dir, d); err != nil {
		return err
	}
	o := inodeInitOwner(ctx.Cred, dir, unix.S_IFLNK|0o777, 0)
	ino, err := dir.sb.Ops.Symlink(dir, d.name, target, o)
	if err != nil {
		return err
	}
	d.instantiate(ino)
	return nil
}

// isLocalMountpoint is is_local_mountpoint: something is mounted on d in
// the caller's namespace.
func (v *VFS) isLocalMountpoint(ctx *Ctx, d *Dentry) bool {
	if d.mounted == 0 {
		return false
	}
	for m := range ctx.MntNS.mounts {
		if m.mountpoint == d {
			return true
		}
	}
	return false
}

// detachMounts is detach_mounts: once d is removed, whatever other
// namespaces had mounted on it is unmounted lazily.
func (v *VFS) detachMounts(d *Dentry) {
	d.dontMount = true
	for d.mounted > 0 {
		var victim *Mount
		for k, m := range v.mountHash {
			if k.mp == d {
				victim = m
				break
			}
		}
		if victim == nil {
			return
		}
		v.umountTree(victim)
	}
}

// Unlinkat is unlinkat(2); with AT_REMOVEDIR it is rmdir.
func (v *VFS) Unlinkat(ctx *Ctx, dirf *File, name string, flags int) error {
	if flags&^unix.AT_REMOVEDIR != 0 {
		return unix.EINVAL
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if flags&unix.AT_REMOVEDIR != 0 {
		return v.doRmdir(ctx, dirf, name)
	}
	return v.doUnlinkat(ctx, dirf, name)
}

// doRmdir is do_rmdir.
func (v *VFS) doRmdir(ctx *Ctx, dirf *File, name string) error {
	p, err := v.filenameParentat(ctx, dirf, name, 0)
	if err != nil {
		return err
	}
	defer p.put()
	switch p.lastType {
	case lastDotDot:
		return unix.ENOTEMPTY
	case lastDot:
		return unix.EINVAL
	case lastRoot:
		return unix.EBUSY
	}
	if err := mntWantWrite(p.Mnt); err != nil {
		return err
	}
	d, err := v.lookupOne(p.Dentry, p.last)
	if err != nil {
		return err
	}
	defer d.put()
	if d.inode == nil {
		return unix.ENOENT
	}
	// vfs_rmdir
	dir := p.Dentry.inode
	if err := mayDelete(ctx.Cred, dir, d, true); err != nil {
		return err
	}
	if v.isLocalMountpoint(ctx, d) {
		return unix.EBUSY
	}
	if err := dir.sb.Ops.Rmdir(dir, d.name, d.inode); err != nil {
		return err
	}
	d.inode.mu.Lock()
	d.inode.Dead = true
	d.inode.mu.Unlock()
	v.detachMounts(d)
	d.unhash()
	return nil
}

// doUnlinkat is do_unlinkat.
func (v *VFS) doUnlinkat(ctx *Ctx, dirf *File, name string) error {
	p, err := v.filenameParentat(ctx, dirf, name, 0)
	if err != nil {
		return err
	}
	defer p.put()
	if p.lastType != lastNorm {
		return unix.EISDIR
	}
	if err := mntWantWrite(p.Mnt); err != nil {
		return err
	}
	d, err := v.lookupOne(p.Dentry, p.last)
	if err != nil {
		return err
	}
	defer d.put()
	if d.inode == nil {
		return unix.ENOENT
	}
	if p.lastSlash {
		// Why not before? Because we want the right error.
		if d.isDir() {
			return unix.EISDIR
		}
		return unix.ENOTDIR
	}
	// vfs_unlink
	dir := p.Dentry.inode
	if err := mayDelete(ctx.Cred, dir, d, false); err != nil {
		return err
	}
	if v.isLocalMountpoint(ctx, d) {
		return unix.EBUSY
	}
	if err := dir.sb.Ops.Unlink(dir, d.name, d.inode); err != nil {
		return err
	}
	v.detachMounts(d)
	d.unhash()
	return nil
}

// Linkat is linkat(2). AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH, as
// Linux asks for it (the open-by-the-same-creds exception of 6.10 is
// not modelled).
func (v *VFS) Linkat(ctx *Ctx, olddirf *File, oldname string, newdirf *File, newname string, flags int) error {
	if flags&^(unix.AT_SYMLINK_FOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return unix.EINVAL
	}
	how := 0
	if flags&unix.AT_EMPTY_PATH != 0 {
		if !ctx.Cred.NSCapable(nil, CapDacReadSearch) {
			return unix.ENOENT
		}
		how |= LookupEmpty
	}
	if flags&unix.AT_SYMLINK_FOLLOW != 0 {
		how |= LookupFollow
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	old, err := v.pathLookupat(ctx, olddirf, oldname, how)
	if err != nil {
		return err
	}
	defer old.put()
	p, d, err := v.filenameCreate(ctx, newdirf, newname, false)
	if err != nil {
		return err
	}
	defer p.put()
	defer d.put()
	if old.Mnt != p.Mnt {
		return unix.EXDEV
	}
	// vfs_link
	ino := old.Dentry.inode
	dir := p.Dentry.inode
	if err := mayCreate(ctx.Cred, dir, d); err != nil {
		return err
	}
	if dir.sb != ino.sb {
		return unix.EXDEV
	}
	if ino.IsDir() {
		return unix.EPERM
	}
	ino.mu.Lock()
	nlink := ino.Nlink
	ino.mu.Unlock()
	if nlink == 0 {
		// No hard link to an unlinked file (no O_TMPFILE yet).
		return unix.ENOENT
	}
	if err := dir.sb.Ops.Link(ino, dir, d.name); err != nil {
		return err
	}
	ino.Get()
	d.instantiate(ino)
	return nil
}

// Renameat2 is renameat2(2) with RENAME_NOREPLACE and RENAME_EXCHANGE.
func (v *VFS) Renameat2(ctx *Ctx, olddirf *File, oldname string, newdirf *File, newname string, flags uint32) error {
	if flags&^(unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE|unix.RENAME_WHITEOUT) != 0 {
		return unix.EINVAL
	}
	if flags&(unix.RENAME_NOREPLACE|unix.RENAME_WHITEOUT) != 0 && flags&unix.RENAME_EXCHANGE != 0 {
		return unix.EINVAL
	}
	if flags&unix.RENAME_WHITEOUT != 0 {
		// Whiteouts need CAP_MKNOD and a file system that has
		// them; tmpfs has them on Linux, not yet in nsvm.
		return unix.EINVAL
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	op, err := v.filenameParentat(ctx, olddirf, oldname, 0)
	if err != nil {
		return err
	}
	defer op.put()
	np, err := v.filenameParentat(ctx, newdirf, newname, 0)
	if err != nil {
		return err
	}
	defer np.put()
	if op.Mnt != np.Mnt {
		return unix.EXDEV
	}
	if op.lastType != lastNorm {
		return unix.EBUSY
	}
	if np.lastType != lastNorm {
		if flags&unix.RENAME_NOREPLACE != 0 {
			return unix.EEXIST
		}
		return unix.EBUSY
	}
	if err := mntWantWrite(op.Mnt); err != nil {
		return err
	}
	trap := lockRename(np.Dentry, op.Dentry)
	od, err := v.lookupOne(op.Dentry, op.last)
	if err != nil {
		return err
	}
	defer od.put()
	if od.inode == nil {
		return unix.ENOENT
	}
	nd, err := v.lookupOne(np.Dentry, np.last)
	if err != nil {
		return err
	}
	defer nd.put()
	if flags&unix.RENAME_NOREPLACE != 0 && nd.inode != nil {
		return unix.EEXIST
	}
	if flags&unix.RENAME_EXCHANGE != 0 {
		if nd.inode == nil {
			return unix.ENOENT
		}
		if !nd.isDir() && np.lastSlash {
			return unix.ENOTDIR
		}
	}
	if !od.isDir() {
		if op.lastSlash || flags&unix.RENAME_EXCHANGE == 0 && np.lastSlash {
			return unix.ENOTDIR
		}
	}
	// The source must not be an ancestor of the target...
	if od == trap {
		return unix.EINVAL
	}
	// ... nor the target an ancestor of the source.
	if nd == trap {
		if flags&unix.RENAME_EXCHANGE != 0 {
			return unix.EINVAL
		}
		return unix.ENOTEMPTY
	}
	return v.vfsRename(ctx, op.Dentry, od, np.Dentry, nd, flags)
}

// lockRename is lock_rename's ancestry part: if one directory is an
// ancestor of the other, the child of it on the way to the other (the
// "trap"), else nil.
func lockRename(p1, p2 *Dentry) *Dentry {
	if p1 == p2 {
		return nil
	}
	for d := p2; d.parent != nil; d = d.parent {
		if d.parent == p1 {
			return d
		}
	}
	for d := p1; d.parent != nil; d = d.parent {
		if d.parent == p2 {
			return d
		}
	}
	return nil
}

// vfsRename is vfs_rename.
func (v *VFS) vfsRename(ctx *Ctx, oldDir, od, newDir, nd *Dentry, flags uint32) error {
	source, target := od.inode, nd.inode
	if source == target {
		// Two names of one inode: nothing to do.
		return nil
	}
	isDir := od.isDir()
	newIsDir := false
	if err := mayDelete(ctx.Cred, oldDir.inode, od, isDir); err != nil {
		return err
	}
	if target == nil {
		if err := mayCreate(ctx.Cred, newDir.inode, nd); err != nil {
			return err
		}
	} else {
		newIsDir = nd.isDir()
		check := isDir
		if flags&unix.RENAME_EXCHANGE != 0 {
			check = newIsDir
		}
		if err := mayDelete(ctx.Cred, newDir.inode, nd, check); err != nil {
			return err
		}
	}
	// A directory that changes parent needs write permission on
	// itself, to rewrite its "..".
	if oldDir != newDir {
		if isDir {
			if err := InodePermission(ctx.Cred, source, MayWrite); err != nil {
				return err
			}
		}
		if flags&unix.RENAME_EXCHANGE != 0 && newIsDir {
			if err := InodePermission(ctx.Cred, target, MayWrite); err != nil {
				return err
			}
		}
	}
	if v.isLocalMountpoint(ctx, od) || v.isLocalMountpoint(ctx, nd) {
		return unix.EBUSY
	}
	if err := oldDir.sb.Ops.Rename(oldDir.inode, od.name, newDir.inode, nd.name, target, flags); err != nil {
		return err
	}
	if flags&unix.RENAME_EXCHANGE != 0 {
		exchange(od, nd)
		return nil
	}
	if target != nil {
		if newIsDir {
			target.mu.Lock()
			target.Dead = true
			target.mu.Unlock()
		}
		v.detachMounts(nd)
		nd.unhash()
	}
	od.move(newDir, nd.name)
	return nil
}

// Readlinkat is readlinkat(2): the target of a symlink, EINVAL for
// anything else (ENOENT for an empty name on a non-link).
func (v *VFS) Readlinkat(ctx *Ctx, dirf *File, name string) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	p, err := v.pathLookupat(ctx, dirf, name, LookupEmpty)
	if err != nil {
		return "", err
	}
	defer p.put()
	if !p.Dentry.isSymlink() {
		if name == "" {
			return "", unix.ENOENT
		}
		return "", unix.EINVAL
	}
	return p.Dentry.inode.sb.Ops.Readlink(p.Dentry.inode)
}

// atFlags turns AT_* flags into lookup flags: follow unless
// AT_SYMLINK_NOFOLLOW, accept "" with AT_EMPTY_PATH.
func atFlags(flags int, allowed int) (int, error) {
	if flags&^allowed != 0 {
		return 0, unix.EINVAL
	}
	lf := LookupFollow
	if flags&unix.AT_SYMLINK_NOFOLLOW != 0 {
		lf = 0
	}
	if flags&unix.AT_EMPTY_PATH != 0 {
		lf |= LookupEmpty
	}
	return lf, nil
}

// Statat is newfstatat(2)/statx's lookup and getattr.
func (v *VFS) Statat(ctx *Ctx, dirf *File, name string, flags int) (Stat, error) {
	lf, err := atFlags(flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH|unix.AT_NO_AUTOMOUNT|atStatxSyncType)
	if err != nil {
		return Stat{}, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	p, err := v.pathLookupat(ctx, dirf, name, lf)
	if err != nil {
		return Stat{}, err
	}
	defer p.put()
	st := p.Dentry.inode.attr()
	st.MntID = p.Mnt.id
	return st, nil
}

// notifyChange is notify_change: the permission checks of
// setattrPrepare, then the file system's setattr, for an inode reached
// through mnt.
func notifyChange(cr Credentials, mnt *Mount, ino *Inode, a *SetAttr) error {
	if err := mntWantWrite(mnt); err != nil {
		return err
	}
	if err := setattrPrepare(cr, ino, a); err != nil {
		return err
	}
	return ino.sb.Ops.Setattr(ino, a)
}

// chmodCommon is chmod_common.
func chmodCommon(cr Credentials, p Path, mode uint32) error {
	ino := p.Dentry.inode
	m, _, _ := ino.owner()
	a := &SetAttr{Valid: AttrMode | AttrCtime, Mode: mode&sIALLUGO | m&^sIALLUGO}
	return notifyChange(cr, p.Mnt, ino, a)
}

// Fchmodat is fchmodat2(2) (fchmodat is flags 0; AT_SYMLINK_NOFOLLOW on
// a symlink is EOPNOTSUPP, as symlinks have no mode to change).
func (v *VFS) Fchmodat(ctx *Ctx, dirf *File, name string, mode uint32, flags int) error {
	lf, err := atFlags(flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	p, err := v.pathLookupat(ctx, dirf, name, lf)
	if err != nil {
		return err
	}
	defer p.put()
	if p.Dentry.isSymlink() {
		return unix.EOPNOTSUPP
	}
	return chmodCommon(ctx.Cred, p, mode)
}

// Fchmod is fchmod(2); an O_PATH file is EBADF.
func (v *VFS) Fchmod(ctx *Ctx, f *File, mode uint32) error {
	if f.mode&FmodePath != 0 {
		return unix.EBADF
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return chmodCommon(ctx.Cred, f.path, mode)
}

// NoID is -1 as a uid or gid argument: no change.
const NoID = ^uint32(0)

// chownCommon is chown_common: uid and gid are kuids (the caller maps
// them; an unmapped id is the caller's EINVAL), NoID leaves one alone.
// Changing the owner of a non-directory clears S_ISUID, and S_ISGID
// with group execute.
func chownCommon(cr Credentials, p Path, uid, gid uint32) error {
	ino := p.Dentry.inode
	a := &SetAttr{Valid: AttrCtime}
	if uid != NoID {
		a.Valid |= AttrUID
		a.UID = uid
	}
	if gid != NoID {
		a.Valid |= AttrGID
		a.GID = gid
	}
	if !ino.IsDir() {
		// ATTR_KILL_SUID|ATTR_KILL_SGID, which notify_change turns
		// into a mode change.
		m, _, _ := ino.owner()
		kill := m &^ unix.S_ISUID
		if m&(unix.S_ISGID|unix.S_IXGRP) == unix.S_ISGID|unix.S_IXGRP {
			kill &^= unix.S_ISGID
		}
		if kill != m {
			a.Valid |= AttrMode
			a.Mode = kill
		}
	}
	return notifyChange(cr, p.Mnt, ino, a)
}

// Fchownat is fchownat(2) (chown and lchown with flags).
func (v *VFS) Fchownat(ctx *Ctx, dirf *File, name string, uid, gid uint32, flags int) error {
	lf, err := atFlags(flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	p, err := v.pathLookupat(ctx, dirf, name, lf)
	if err != nil {
		return err
	}
	defer p.put()
	return chownCommon(ctx.Cred, p, uid, gid)
}

// Fchown is fchown(2).
func (v *VFS) Fchown(ctx *Ctx, f *File, uid, gid uint32) error {
	if f.mode&FmodePath != 0 {
		return unix.EBADF
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return chownCommon(ctx.Cred, f.path, uid, gid)
}

// Truncate is truncate(2) (do_sys_truncate / vfs_truncate).
func (v *VFS) Truncate(ctx *Ctx, name string, length int64) error {
	if length < 0 {
		return unix.EINVAL
	}
	v.mu.Lock()
	p, err := v.pathLookupat(ctx, nil, name, LookupFollow)
	if err != nil {
		v.mu.Unlock()
		return err
	}
	ino := p.Dentry.inode
	err = func() error {
		if ino.IsDir() {
			return unix.EISDIR
		}
		if !ino.IsReg() {
			return unix.EINVAL
		}
		if err := mntWantWrite(p.Mnt); err != nil {
			return err
		}
		return InodePermission(ctx.Cred, ino, MayWrite)
	}()
	v.mu.Unlock()
	defer p.Put()
	if err != nil {
		return err
	}
	a := &SetAttr{Valid: AttrSize | AttrMtime | AttrCtime, Size: length}
	if err := setattrPrepare(ctx.Cred, ino, a); err != nil {
		return err
	}
	return ino.sb.Ops.Setattr(ino, a)
}

// Special tv_nsec values of utimensat.
const (
	UtimeNow  = (1 << 30) - 1
	UtimeOmit = (1 << 30) - 2
)

// Utimensat is utimensat(2) for a name (name "" with AT_EMPTY_PATH, or
// dirf with no name: futimens). times nil means both now. Setting
// explicit times needs ownership (or CAP_FOWNER); setting both to now
// needs ownership or write permission.
func (v *VFS) Utimensat(ctx *Ctx, dirf *File, name string, times *[2]Timespec, flags int) error {
	lf, err := atFlags(flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH)
	if err != nil {
		return err
	}
	if times != nil {
		for _, t := range times {
			if t.Nsec != UtimeNow && t.Nsec != UtimeOmit && (t.Nsec < 0 || t.Nsec >= 1e9) {
				return unix.EINVAL
			}
		}
		if times[0].Nsec == UtimeNow && times[1].Nsec == UtimeNow {
			times = nil
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	var p Path
	if dirf != nil && name == "" {
		p = dirf.path.get()
	} else {
		if p, err = v.pathLookupat(ctx, dirf, name, lf); err != nil {
			return err
		}
	}
	defer p.put()
	ino := p.Dentry.inode
	a := &SetAttr{Valid: AttrCtime}
	if times == nil {
		a.Valid |= AttrAtime | AttrMtime | AttrTouch
	} else {
		if times[0].Nsec == UtimeOmit && times[1].Nsec == UtimeOmit {
			return nil
		}
		setOne := func(t Timespec, valid, set uint32, dst *Timespec) {
			switch t.Nsec {
			case UtimeOmit:
			case UtimeNow:
				a.Valid |= valid | AttrTouch
			default:
				a.Valid |= valid | set
				*dst = t
			}
		}
		setOne(times[0], AttrAtime, AttrAtimeSet, &a.Atime)
		setOne(times[1], AttrMtime, AttrMtimeSet, &a.Mtime)
	}
	return notifyChange(ctx.Cred, p.Mnt, ino, a)
}

// Faccessat is faccessat2(2) with the caller's chosen credentials
// (access(2) passes the real ids, AT_EACCESS the effective ones). W_OK
// on a read-only mount is EROFS for files, directories and symlinks.
func (v *VFS) Faccessat(ctx *Ctx, dirf *File, name string, mode uint32, flags int) error {
	if mode&^uint32(unix.R_OK|unix.W_OK|unix.X_OK) != 0 {
		return unix.EINVAL
	}
	lf, err := atFlags(flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH|unix.AT_EACCESS)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	p, err := v.pathLookupat(ctx, dirf, name, lf)
	if err != nil {
		return err
	}
	defer p.put()
	ino := p.Dentry.inode
	mask := int(mode) | MayAccess
	if mode&unix.W_OK != 0 {
		switch ino.Type() {
		case unix.S_IFREG, unix.S_IFDIR, unix.S_IFLNK:
			if p.Mnt.flags&MntReadonly != 0 {
				return unix.EROFS
			}
		}
	}
	return InodePermission(ctx.Cred, ino, mask)
}

// statfsFlags turns mount flags into statfs's f_flags (ST_*).
func statfsFlags(m *Mount) int64 {
	fl := int64(stValid)
	for _, x := range [...]struct {
		mnt uint32
		st  int64
	}{
		{MntReadonly, unix.ST_RDONLY}, {MntNoSUID, unix.ST_NOSUID}, {MntNoDev, unix.ST_NODEV},
		{MntNoExec, unix.ST_NOEXEC}, {MntNoAtime, unix.ST_NOATIME}, {MntNoDiratime, unix.ST_NODIRATIME},
		{MntRelatime, unix.ST_RELATIME}, {MntNoSymfollow, 0x2000},
	} {
		if m.flags&x.mnt != 0 {
			fl |= x.st
		}
	}
	if m.sb.Flags&SbRdonly != 0 {
		fl |= unix.ST_RDONLY
	}
	return fl
}

// Statfs is statfs(2).
func (v *VFS) Statfs(ctx *Ctx, name string) (Statfs, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	p, err := v.pathLookupat(ctx, nil, name, LookupFollow)
	if err != nil {
		return Statfs{}, err
	}
	defer p.put()
	return pathStatfs(p)
}

// Fstatfs is fstatfs(2).
func (v *VFS) Fstatfs(f *File) (Statfs, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return pathStatfs(f.path)
}

func pathStatfs(p Path) (Statfs, error) {
	sb := p.Dentry.sb
	st, err := sb.Ops.Statfs(sb)
	if err != nil {
		return st, err
	}
	st.Flags = statfsFlags(p.Mnt)
	st.Fsid = [2]int32{int32(unix.Major(sb.Dev)<<8 | unix.Minor(sb.Dev)&0xff), 0}
	return st, nil
}

const (
	atStatxSyncType = 0x6000 // AT_STATX_SYNC_TYPE
	stValid         = 0x20   // ST_VALID: f_flags is filled in
)
