package fs

import "golang.org/x/sys/unix"

// FSStruct is struct fs_struct: a task's root, working directory and
// umask, shared by tasks cloned with CLONE_FS and copied otherwise
// (copy_fs). root and pwd are guarded by VFS.mu; Umask and users by it
// too (the fs->lock of Linux).
type FSStruct struct {
	vfs   *VFS
	users int
	root  Path
	pwd   Path
	umask uint32
}

// NewFSStruct makes the first fs_struct (init_fs) with root and cwd at
// root, taking its own references.
func (v *VFS) NewFSStruct(root Path, umask uint32) (*FSStruct, error) {
	if err := v.Alloc(SiteFSStruct, KindFSStruct); err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return &FSStruct{vfs: v, users: 1, root: root.get(), pwd: root.get(), umask: umask}, nil
}

// Copy is copy_fs_struct: a private copy (clone without CLONE_FS,
// unshare(CLONE_FS)).
func (fs *FSStruct) Copy() (*FSStruct, error) {
	v := fs.vfs
	if err := v.Alloc(SiteFSStruct, KindFSStruct); err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return &FSStruct{vfs: v, users: 1, root: fs.root.get(), pwd: fs.pwd.get(), umask: fs.umask}, nil
}

// Share takes another user (clone with CLONE_FS).
func (fs *FSStruct) Share() *FSStruct {
	fs.vfs.mu.Lock()
	defer fs.vfs.mu.Unlock()
	fs.users++
	return fs
}

// Put drops a user (exit_fs); the last one frees the struct.
func (fs *FSStruct) Put() {
	v := fs.vfs
	v.mu.Lock()
	defer v.mu.Unlock()
	fs.users--
	if fs.users > 0 {
		return
	}
	fs.root.put()
	fs.pwd.put()
	fs.root, fs.pwd = Path{}, Path{}
	v.Free(KindFSStruct)
}

// Users returns how many tasks share the struct.
func (fs *FSStruct) Users() int {
	fs.vfs.mu.Lock()
	defer fs.vfs.mu.Unlock()
	return fs.users
}

// Root returns the root with references (get_fs_root).
func (fs *FSStruct) Root() Path {
	fs.vfs.mu.Lock()
	defer fs.vfs.mu.Unlock()
	return fs.root.get()
}

// Pwd returns the working directory with references (get_fs_pwd).
func (fs *FSStruct) Pwd() Path {
	fs.vfs.mu.Lock()
	defer fs.vfs.mu.Unlock()
	return fs.pwd.get()
}

// Umask returns the umask.
func (fs *FSStruct) Umask() uint32 {
	fs.vfs.mu.Lock()
	defer fs.vfs.mu.Unlock()
	return fs.umask
}

// SetUmask is umask(2): it sets mask&0777 and returns the old one.
func (fs *FSStruct) SetUmask(mask uint32) uint32 {
	fs.vfs.mu.Lock()
	defer fs.vfs.mu.Unlock()
	old := fs.umask
	fs.umask = mask & 0o777
	return old
}

// setRoot and setPwd replace root or pwd with p, taking a reference
// (set_fs_root, set_fs_pwd). VFS.mu held.
func (fs *FSStruct) setRoot(p Path) {
	old := fs.root
	fs.root = p.get()
	old.put()
}

func (fs *FSStruct) setPwd(p Path) {
	old := fs.pwd
	fs.pwd = p.get()
	old.put()
}

// SetRootPwd sets both (setns into a mount namespace, pivot_root's
// chroot_fs_refs for one task), taking its own references.
func (fs *FSStruct) SetRootPwd(root, pwd Path) {
	fs.vfs.mu.Lock()
	defer fs.vfs.mu.Unlock()
	fs.setRoot(root)
	fs.setPwd(pwd)
}

// Chdir is chdir(2): the path must be a directory the caller may
// search.
func (v *VFS) Chdir(ctx *Ctx, name string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	p, err := v.pathLookupat(ctx, nil, name, LookupFollow|LookupDirectory)
	if err != nil {
		return err
	}
	defer p.put()
	if err := InodePermission(ctx.Cred, p.Dentry.inode, MayExec|MayChdir); err != nil {
		return err
	}
	ctx.FS.setPwd(p)
	return nil
}

// Fchdir is fchdir(2) (an O_PATH descriptor works too).
func (v *VFS) Fchdir(ctx *Ctx, f *File) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !f.path.Dentry.isDir() {
		return unix.ENOTDIR
	}
	if err := InodePermission(ctx.Cred, f.path.Dentry.inode, MayExec|MayChdir); err != nil {
		return err
	}
	ctx.FS.setPwd(f.path)
	return nil
}

// Chroot is chroot(2). The capability (CAP_SYS_CHROOT in the caller's
// user namespace) is the caller's to check, after the lookup and the
// permission check, where ksys_chroot checks it.
func (v *VFS) Chroot(ctx *Ctx, name string, capable func() bool) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	p, err := v.pathLookupat(ctx, nil, name, LookupFollow|LookupDirectory)
	if err != nil {
		return err
	}
	defer p.put()
	if err := InodePermission(ctx.Cred, p.Dentry.inode, MayExec|MayChdir); err != nil {
		return err
	}
	if !capable() {
		return unix.EPERM
	}
	ctx.FS.setRoot(p)
	return nil
}

// Getcwd is getcwd(2): the cwd as seen from the root; ENOENT if it was
// removed, and "(unreachable)" prefixed when it is outside the root.
func (v *VFS) Getcwd(ctx *Ctx) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	pwd, root := ctx.FS.pwd, ctx.FS.root
	if pwd.Dentry.unlinked() {
		return "", unix.ENOENT
	}
	s, ok := dpath(pwd, root)
	if !ok {
		s = "(unreachable)" + s
	}
	return s, nil
}

// DPath is d_path: p as seen from the caller's root, with " (deleted)"
// for a removed file (what /proc/<pid>/fd/N and cwd read as).
func (v *VFS) DPath(ctx *Ctx, p Path) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	s, ok := dpath(p, ctx.FS.root)
	if !ok && !p.Dentry.unlinked() {
		return s // Linux prints a path outside the root as is.
	}
	if p.Dentry.unlinked() {
		s += " (deleted)"
	}
	return s
}
