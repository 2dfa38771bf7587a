package fs

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// The mount side of fs/namespace.c: mount namespaces (create_mnt_ns,
// copy_mnt_ns, put_mnt_ns) and mount(2)/umount2(2) (path_mount and its
// do_* helpers, path_umount), plus the mountinfo and mounts formatters.

// allocMntNS is alloc_mnt_ns.
func (v *VFS) allocMntNS(owner any) (*MountNamespace, error) {
	if err := v.Alloc(SiteMntNS, KindMntNS); err != nil {
		return nil, err
	}
	ns := &MountNamespace{vfs: v, ID: v.nextNSID, Owner: owner, mounts: map[*Mount]bool{}, refs: 1}
	v.nextNSID++
	return ns, nil
}

// killSuperIfUnused kills a super block that no mount took (a mount(2)
// that failed after its file system's GetTree).
func (sb *SuperBlock) killSuperIfUnused() {
	if sb.active == 0 {
		sb.active = 1
		sb.deactivate()
	}
}

// CreateMntNS is create_mnt_ns: a namespace whose root is a new mount of
// sb (the initial namespace). flags are MNT_* flags; owner is the user
// namespace that owns it. On failure an unused sb is killed.
func (v *VFS) CreateMntNS(sb *SuperBlock, flags uint32, owner any) (*MountNamespace, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	ns, err := v.allocMntNS(owner)
	if err != nil {
		sb.killSuperIfUnused()
		return nil, err
	}
	m, err := v.vfsCreateMount(sb, sb.Source, flags)
	if err != nil {
		v.Free(KindMntNS)
		sb.killSuperIfUnused()
		return nil, err
	}
	ns.root = m
	ns.add(m)
	return ns, nil
}

// Root returns the namespace's root path with references (what init's
// fs_struct starts with, and what setns gives root and cwd).
func (ns *MountNamespace) Root() Path {
	ns.vfs.mu.Lock()
	defer ns.vfs.mu.Unlock()
	return Path{ns.root, ns.root.root}.get()
}

// Get takes a reference (get_mnt_ns).
func (ns *MountNamespace) Get() *MountNamespace {
	ns.vfs.mu.Lock()
	defer ns.vfs.mu.Unlock()
	ns.refs++
	return ns
}

// Put drops a reference (put_mnt_ns); the last one unmounts the whole
// tree lazily, and frees the namespace.
func (ns *MountNamespace) Put() {
	v := ns.vfs
	v.mu.Lock()
	defer v.mu.Unlock()
	ns.refs--
	if ns.refs > 0 {
		return
	}
	v.umountTree(ns.root)
	ns.root = nil
	v.Free(KindMntNS)
}

// Mounts returns the number of mounts in the namespace.
func (ns *MountNamespace) Mounts() int {
	ns.vfs.mu.Lock()
	defer ns.vfs.mu.Unlock()
	return len(ns.mounts)
}

// CopyMntNS is copy_mnt_ns for CLONE_NEWNS: a copy of old's whole tree,
// owned by owner. A copy into a different owner is less privileged: its
// shared mounts become slaves of the originals (so that propagation
// flows in only) and every mount is locked (lock_mnt_tree). If fs is
// non-nil, its root and cwd move to the copies of their mounts. On
// failure nothing is left behind and fs is unchanged.
func (v *VFS) CopyMntNS(old *MountNamespace, owner any, fs *FSStruct) (*MountNamespace, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	ns, err := v.allocMntNS(owner)
	if err != nil {
		return nil, err
	}
	flag := clCopyUnbindable
	if owner != old.Owner {
		flag |= clSharedToSlave
	}
	root, copies, err := v.copyTreeMap(old.root, old.root.root, flag)
	if err != nil {
		v.Free(KindMntNS)
		return nil, err
	}
	if owner != old.Owner {
		lockMntTree(root)
	}
	ns.root = root
	for _, q := range treeMounts(root) {
		ns.add(q)
	}
	if fs != nil {
		if q := copies[fs.root.Mnt]; q != nil {
			fs.setRoot(Path{q, fs.root.Dentry})
		}
		if q := copies[fs.pwd.Mnt]; q != nil {
			fs.setPwd(Path{q, fs.pwd.Dentry})
		}
	}
	return ns, nil
}

// lockMntTree is lock_mnt_tree: the flags of a less privileged copy may
// not be changed, and no mount may be taken off what it covers.
func lockMntTree(root *Mount) {
	for _, p := range treeMounts(root) {
		f := p.flags | MntLockAtime
		if f&MntReadonly != 0 {
			f |= MntLockReadonly
		}
		if f&MntNoDev != 0 {
			f |= MntLockNoDev
		}
		if f&MntNoSUID != 0 {
			f |= MntLockNoSUID
		}
		if f&MntNoExec != 0 {
			f |= MntLockNoExec
		}
		p.flags = f | MntLocked
	}
}

// checkMnt is check_mnt: m belongs to the caller's namespace.
func checkMnt(ctx *Ctx, m *Mount) bool { return m.ns == ctx.MntNS }

// mayMount is may_mount: CAP_SYS_ADMIN over the caller's mount
// namespace.
func mayMount(ctx *Ctx) bool { return ctx.Cred.NSCapable(ctx.MntNS.Owner, CapSysAdmin) }

// lockMount is lock_mount: where a mount on p really goes, on top of
// whatever is already mounted there. The result carries references.
func (v *VFS) lockMount(p Path) (Path, error) {
	for {
		m := v.lookupMnt(p.Mnt, p.Dentry)
		if m == nil {
			break
		}
		p = Path{m, m.root}
	}
	if p.Dentry.dontMount || p.Dentry.unlinked() {
		return Path{}, unix.ENOENT
	}
	return p.get(), nil
}

// Mount is mount(2) after the copy of its arguments (do_mount +
// path_mount): target is looked up, then the flags pick the operation.
func (v *VFS) Mount(ctx *Ctx, source, target, fstype string, flags uint64, data string) error {
	// Discard the old magic number.
	if flags&unix.MS_MGC_MSK == unix.MS_MGC_VAL {
		flags &^= unix.MS_MGC_MSK
	}
	v.mu.Lock()
	p, err := v.pathLookupat(ctx, nil, target, LookupFollow)
	if err != nil {
		v.mu.Unlock()
		return err
	}
	defer p.Put()
	if flags&unix.MS_NOUSER != 0 {
		v.mu.Unlock()
		return unix.EINVAL
	}
	if !mayMount(ctx) {
		v.mu.Unlock()
		return unix.EPERM
	}
	var mntFlags uint32
	// Default to relatime unless overridden.
	if flags&unix.MS_NOATIME == 0 {
		mntFlags |= MntRelatime
	}
	for _, x := range [...]struct {
		ms  uint64
		mnt uint32
	}{
		{unix.MS_NOSUID, MntNoSUID}, {unix.MS_NODEV, MntNoDev}, {unix.MS_NOEXEC, MntNoExec},
		{unix.MS_NOATIME, MntNoAtime}, {unix.MS_NODIRATIME, MntNoDiratime},
		{unix.MS_RDONLY, MntReadonly}, {unix.MS_NOSYMFOLLOW, MntNoSymfollow},
	} {
		if flags&x.ms != 0 {
			mntFlags |= x.mnt
		}
	}
	if flags&unix.MS_STRICTATIME != 0 {
		mntFlags &^= MntRelatime | MntNoAtime
	}
	// The default atime for remount is preservation.
	if flags&unix.MS_REMOUNT != 0 && flags&(unix.MS_NOATIME|unix.MS_NODIRATIME|unix.MS_RELATIME|unix.MS_STRICTATIME) == 0 {
		mntFlags = mntFlags&^mntAtimeMask | p.Mnt.flags&mntAtimeMask
	}
	switch {
	case flags&(unix.MS_REMOUNT|unix.MS_BIND) == unix.MS_REMOUNT|unix.MS_BIND:
		err = v.doReconfigureMnt(ctx, p, mntFlags)
	case flags&unix.MS_REMOUNT != 0:
		err = v.doRemount(ctx, p, flags, mntFlags)
	case flags&unix.MS_BIND != 0:
		err = v.doLoopback(ctx, p, source, flags&unix.MS_REC != 0)
	case flags&(unix.MS_SHARED|unix.MS_PRIVATE|unix.MS_SLAVE|unix.MS_UNBINDABLE) != 0:
		err = v.doChangeType(ctx, p, flags)
	case flags&unix.MS_MOVE != 0:
		err = v.doMoveMount(ctx, p, source)
	default:
		v.mu.Unlock()
		return v.doNewMount(ctx, p, fstype, flags, mntFlags, source, data)
	}
	v.mu.Unlock()
	return err
}

// doNewMount is do_new_mount: make a super block of fstype (without the
// VFS lock: the file system allocates), mount it, add it at p.
func (v *VFS) doNewMount(ctx *Ctx, p Path, fstype string, flags uint64, mntFlags uint32, source, data string) error {
	if fstype == "" {
		return unix.EINVAL
	}
	v.mu.Lock()
	t := v.types[fstype]
	v.mu.Unlock()
	if t == nil {
		return unix.ENODEV
	}
	// mount_capable: a file system not marked FS_USERNS_MOUNT needs
	// CAP_SYS_ADMIN in the initial user namespace.
	if !t.UsernsMount && !ctx.Cred.NSCapable(nil, CapSysAdmin) {
		return unix.EPERM
	}
	sb, err := t.GetTree(v, source, flags, data)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if flags&unix.MS_RDONLY != 0 {
		sb.Flags |= SbRdonly
	}
	m, err := v.vfsCreateMount(sb, source, mntFlags)
	if err != nil {
		sb.killSuperIfUnused()
		return err
	}
	if err := v.doAddMount(ctx, m, p); err != nil {
		m.put()
		return err
	}
	return nil
}

// doAddMount is do_add_mount: attach a new mount at p.
func (v *VFS) doAddMount(ctx *Ctx, m *Mount, p Path) error {
	mp, err := v.lockMount(p)
	if err != nil {
		return err
	}
	defer mp.put()
	if !checkMnt(ctx, mp.Mnt) {
		return unix.EINVAL
	}
	// Refuse the same file system on the same mount point.
	if mp.Mnt.sb == m.sb && mp.Dentry == mp.Mnt.root {
		return unix.EBUSY
	}
	if m.root.isSymlink() {
		return unix.EINVAL
	}
	return v.graftTree(m, mp)
}

// graftTree is graft_tree: a directory goes on a directory, a file on a
// file.
func (v *VFS) graftTree(m *Mount, mp Path) error {
	if mp.Dentry.isDir() != m.root.isDir() {
		return unix.ENOTDIR
	}
	return v.attachRecursiveMnt(m, mp.Mnt, mp.Dentry)
}

// attachRecursiveMnt is attach_recursive_mnt: a tree mounted on a shared
// mount becomes shared itself and is copied to every receiver of that
// mount (propagate_mnt) before anything is attached, so that a failed
// copy leaves the namespace as it was.
func (v *VFS) attachRecursiveMnt(source, dest *Mount, mp *Dentry) error {
	var invented []*Mount
	if dest.share != nil {
		for _, m := range treeMounts(source) {
			if m.share == nil {
				v.setShared(m)
				invented = append(invented, m)
			}
		}
	}
	copies, err := v.propagateMnt(dest, mp, source)
	if err != nil {
		for _, m := range invented {
			v.leavePeers(m)
		}
		return err
	}
	v.attachMnt(source, dest, mp)
	for _, m := range treeMounts(source) {
		dest.ns.add(m)
	}
	for _, c := range copies {
		v.attachMnt(c.m, c.parent, c.mp)
		for _, m := range treeMounts(c.m) {
			c.parent.ns.add(m)
		}
	}
	return nil
}

// hasLockedChildren is has_locked_children: a locked mount below d,
// which a non-recursive bind would reveal the contents under.
func hasLockedChildren(m *Mount, d *Dentry) bool {
	for _, c := range m.children {
		if c.flags&MntLocked != 0 && c.mountpoint.isSubdir(d) {
			return true
		}
	}
	return false
}

// doLoopback is do_loopback: MS_BIND (MS_REC: with the mounts below).
func (v *VFS) doLoopback(ctx *Ctx, p Path, oldName string, recurse bool) error {
	if oldName == "" {
		return unix.EINVAL
	}
	old, err := v.pathLookupat(ctx, nil, oldName, LookupFollow)
	if err != nil {
		return err
	}
	defer old.put()
	mp, err := v.lockMount(p)
	if err != nil {
		return err
	}
	defer mp.put()
	if !checkMnt(ctx, mp.Mnt) {
		return unix.EINVAL
	}
	// __do_loopback
	if old.Mnt.flags&MntUnbindable != 0 {
		return unix.EINVAL
	}
	if !checkMnt(ctx, old.Mnt) {
		return unix.EINVAL
	}
	if !recurse && hasLockedChildren(old.Mnt, old.Dentry) {
		return unix.EINVAL
	}
	var m *Mount
	if recurse {
		m, err = v.copyTree(old.Mnt, old.Dentry, 0)
	} else {
		m, err = v.cloneMnt(old.Mnt, old.Dentry, 0)
	}
	if err != nil {
		return err
	}
	m.flags &^= MntLocked
	if err := v.graftTree(m, mp); err != nil {
		v.umountTree(m)
		return err
	}
	return nil
}

// doChangeType is do_change_type: MS_SHARED, MS_PRIVATE, MS_SLAVE or
// MS_UNBINDABLE (exactly one), on a mount's root, optionally MS_REC.
func (v *VFS) doChangeType(ctx *Ctx, p Path, flags uint64) error {
	if p.Dentry != p.Mnt.root {
		return unix.EINVAL
	}
	typ := flags & (unix.MS_SHARED | unix.MS_PRIVATE | unix.MS_SLAVE | unix.MS_UNBINDABLE)
	if typ&(typ-1) != 0 || flags&^(typ|unix.MS_REC|unix.MS_SILENT) != 0 {
		return unix.EINVAL
	}
	if !checkMnt(ctx, p.Mnt) {
		return unix.EINVAL
	}
	ms := []*Mount{p.Mnt}
	if flags&unix.MS_REC != 0 {
		ms = treeMounts(p.Mnt)
	}
	for _, m := range ms {
		v.changeMntPropagation(m, typ)
	}
	return nil
}

// canChangeLockedFlags is can_change_locked_flags.
func canChangeLockedFlags(m *Mount, flags uint32) bool {
	fl := m.flags
	return !(fl&MntLockReadonly != 0 && flags&MntReadonly == 0 ||
		fl&MntLockNoDev != 0 && flags&MntNoDev == 0 ||
		fl&MntLockNoSUID != 0 && flags&MntNoSUID == 0 ||
		fl&MntLockNoExec != 0 && flags&MntNoExec == 0 ||
		fl&MntLockAtime != 0 && fl&mntAtimeMask != flags&mntAtimeMask)
}

// doReconfigureMnt is do_reconfigure_mnt: MS_REMOUNT|MS_BIND changes one
// mount's flags, not the super block's.
func (v *VFS) doReconfigureMnt(ctx *Ctx, p Path, flags uint32) error {
	if !checkMnt(ctx, p.Mnt) || p.Dentry != p.Mnt.root {
		return unix.EINVAL
	}
	if !canChangeLockedFlags(p.Mnt, flags) {
		return unix.EPERM
	}
	p.Mnt.flags = p.Mnt.flags&^mntUserSettable | flags
	return nil
}

// doRemount is do_remount: the mount's flags and the super block's
// read-only state, which needs CAP_SYS_ADMIN over the super block's
// owner. (File system options in data are not reconfigured yet.)
func (v *VFS) doRemount(ctx *Ctx, p Path, msFlags uint64, flags uint32) error {
	if !checkMnt(ctx, p.Mnt) || p.Dentry != p.Mnt.root {
		return unix.EINVAL
	}
	if !canChangeLockedFlags(p.Mnt, flags) {
		return unix.EPERM
	}
	if !ctx.Cred.NSCapable(p.Mnt.sb.UserNS, CapSysAdmin) {
		return unix.EPERM
	}
	if msFlags&unix.MS_RDONLY != 0 {
		p.Mnt.sb.Flags |= SbRdonly
	} else {
		p.Mnt.sb.Flags &^= SbRdonly
	}
	p.Mnt.flags = p.Mnt.flags&^mntUserSettable | flags
	return nil
}

// doMoveMount is do_move_mount for MS_MOVE: take the mount rooted at
// oldName off its parent and attach it at p.
func (v *VFS) doMoveMount(ctx *Ctx, p Path, oldName string) error {
	if oldName == "" {
		return unix.EINVAL
	}
	old, err := v.pathLookupat(ctx, nil, oldName, LookupFollow)
	if err != nil {
		return err
	}
	defer old.put()
	mp, err := v.lockMount(p)
	if err != nil {
		return err
	}
	defer mp.put()
	m := old.Mnt
	if !checkMnt(ctx, m) || !checkMnt(ctx, mp.Mnt) {
		return unix.EINVAL
	}
	if m.flags&MntLocked != 0 || old.Dentry != m.root || m.parent == nil {
		return unix.EINVAL
	}
	if mp.Dentry.isDir() != m.root.isDir() {
		return unix.ENOTDIR
	}
	// Don't move a mount residing in a shared parent.
	if m.parent.share != nil {
		return unix.EINVAL
	}
	// The mountpoint must not be inside the moved tree.
	for q := mp.Mnt; q != nil; q = q.parent {
		if q == m {
			return unix.ELOOP
		}
	}
	oldParent, oldMP := m.parent, m.mountpoint
	oldParent.refs++ // hold both while m is off the tree
	oldMP.refs++
	defer oldParent.put()
	defer oldMP.put()
	v.umountMnt(m)
	if err := v.attachRecursiveMnt(m, mp.Mnt, mp.Dentry); err != nil {
		// Put it back where it was.
		v.attachMnt(m, oldParent, oldMP)
		return err
	}
	return nil
}

// Umount is umount2(2) (ksys_umount + path_umount).
func (v *VFS) Umount(ctx *Ctx, target string, flags int) error {
	if flags&^(unix.MNT_FORCE|unix.MNT_DETACH|unix.MNT_EXPIRE|unix.UMOUNT_NOFOLLOW) != 0 {
		return unix.EINVAL
	}
	lf := LookupFollow
	if flags&unix.UMOUNT_NOFOLLOW != 0 {
		lf = 0
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	p, err := v.pathLookupat(ctx, nil, target, lf)
	if err != nil {
		return err
	}
	defer p.put()
	// can_umount
	m := p.Mnt
	if !mayMount(ctx) {
		return unix.EPERM
	}
	if p.Dentry != m.root {
		return unix.EINVAL
	}
	if !checkMnt(ctx, m) {
		return unix.EINVAL
	}
	if m.flags&MntLocked != 0 {
		return unix.EINVAL
	}
	if flags&unix.MNT_FORCE != 0 && !ctx.Cred.NSCapable(nil, CapSysAdmin) {
		return unix.EPERM
	}
	return v.doUmount(ctx, m, flags)
}

// doUmount is do_umount.
func (v *VFS) doUmount(ctx *Ctx, m *Mount, flags int) error {
	if flags&unix.MNT_EXPIRE != 0 {
		// MNT_EXPIRE marks on the first call and unmounts an
		// unused mount on the second; nsvm has no expiry lists.
		return unix.EINVAL
	}
	if m == ctx.FS.root.Mnt && flags&unix.MNT_DETACH == 0 || m.parent == nil {
		// Linux remounts the root super block read-only here
		// ("umount /" at shutdown); nsvm reports it busy. The top
		// of the tree (no parent) cannot go at all.
		if m.parent == nil {
			return unix.EINVAL
		}
		return unix.EBUSY
	}
	peers := v.propagatedCopies(m, flags&unix.MNT_DETACH != 0)
	if flags&unix.MNT_DETACH == 0 {
		// propagate_mount_busy: the caller's lookup holds one
		// reference and the tree another; anything more is a user.
		if len(m.children) > 0 || m.refs > 2 {
			return unix.EBUSY
		}
		for _, c := range peers {
			if len(c.children) > 0 || c.refs > 1 {
				return unix.EBUSY
			}
		}
	}
	v.umountTree(m)
	for _, c := range peers {
		v.umountTree(c)
	}
	return nil
}

// propagatedCopies is the umount side of propagation
// (propagate_umount): the mounts that receivers of m's parent have at
// the same place go with m: with their subtrees for a lazy unmount,
// else only those with nothing mounted on them (Linux keeps a copy's
// foreign submounts by tucking them onto the parent; nsvm takes a lazy
// unmount's copies whole).
func (v *VFS) propagatedCopies(m *Mount, lazy bool) []*Mount {
	if m.parent == nil {
		return nil
	}
	targets, _ := propagationTargets(m.parent)
	var out []*Mount
	for _, r := range targets {
		c := v.lookupMnt(r, m.mountpoint)
		if c != nil && c != m && (lazy || len(c.children) == 0) && c.flags&MntLocked == 0 {
			out = append(out, c)
		}
	}
	return out
}

// --- /proc/<pid>/mountinfo and /proc/<pid>/mounts ---

// mangle escapes what would break a mountinfo field (seq_escape with
// " \t\n\\").
func mangle(s string) string {
	if !strings.ContainsAny(s, " \t\n\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\\' {
			fmt.Fprintf(&b, "\\%03o", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// showMntOpts is show_mnt_opts.
func showMntOpts(b *strings.Builder, f uint32) {
	for _, x := range [...]struct {
		f    uint32
		name string
	}{
		{MntNoSUID, ",nosuid"}, {MntNoDev, ",nodev"}, {MntNoExec, ",noexec"},
		{MntNoAtime, ",noatime"}, {MntNoDiratime, ",nodiratime"}, {MntRelatime, ",relatime"},
		{MntNoSymfollow, ",nosymfollow"},
	} {
		if f&x.f != 0 {
			b.WriteString(x.name)
		}
	}
}

// visibleMounts lists the caller's namespace's mounts in creation order
// with their mountpoints as seen from the caller's root; mounts outside
// the root are left out (seq_path_root's SEQ_SKIP).
func (v *VFS) visibleMounts(ctx *Ctx) ([]*Mount, []string) {
	var ms []*Mount
	for m := range ctx.MntNS.mounts {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].seq < ms[j].seq })
	var out []*Mount
	var paths []string
	for _, m := range ms {
		s, ok := dpath(Path{m, m.root}, ctx.FS.root)
		if !ok {
			continue
		}
		out = append(out, m)
		paths = append(paths, s)
	}
	return out, paths
}

// Mountinfo formats /proc/<pid>/mountinfo for the task whose ctx this
// is (show_mountinfo): id, parent id, major:minor, root in its file
// system, mountpoint, mount options, optional fields, "-", type, source,
// super options.
func (v *VFS) Mountinfo(ctx *Ctx) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var b strings.Builder
	ms, paths := v.visibleMounts(ctx)
	for i, m := range ms {
		pid := m.id
		if m.parent != nil {
			pid = m.parent.id
		}
		fmt.Fprintf(&b, "%d %d %d:%d %s %s ", m.id, pid, unix.Major(m.sb.Dev), unix.Minor(m.sb.Dev),
			mangle(dentryPath(m.root)), mangle(paths[i]))
		if m.flags&MntReadonly != 0 {
			b.WriteString("ro")
		} else {
			b.WriteString("rw")
		}
		showMntOpts(&b, m.flags)
		if m.share != nil {
			fmt.Fprintf(&b, " shared:%d", m.share.id)
		}
		if m.master != nil && m.master.share != nil {
			fmt.Fprintf(&b, " master:%d", m.master.share.id)
		}
		if m.flags&MntUnbindable != 0 {
			b.WriteString(" unbindable")
		}
		src := m.devname
		if src == "" {
			src = "none"
		}
		fmt.Fprintf(&b, " - %s %s ", m.sb.Type.Name, mangle(src))
		if m.sb.Flags&SbRdonly != 0 {
			b.WriteString("ro")
		} else {
			b.WriteString("rw")
		}
		b.WriteString(m.sb.Ops.ShowOptions(m.sb))
		b.WriteByte('\n')
	}
	return b.String()
}

// Mounts formats /proc/<pid>/mounts (show_vfsmnt): source, mountpoint,
// type, options, "0 0".
func (v *VFS) Mounts(ctx *Ctx) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var b strings.Builder
	ms, paths := v.visibleMounts(ctx)
	for i, m := range ms {
		src := m.devname
		if src == "" {
			src = "none"
		}
		fmt.Fprintf(&b, "%s %s %s ", mangle(src), mangle(paths[i]), m.sb.Type.Name)
		if m.flags&MntReadonly != 0 || m.sb.Flags&SbRdonly != 0 {
			b.WriteString("ro")
		} else {
			b.WriteString("rw")
		}
		showMntOpts(&b, m.flags)
		b.WriteString(m.sb.Ops.ShowOptions(m.sb))
		b.WriteString(" 0 0\n")
	}
	return b.String()
}
