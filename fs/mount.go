package fs

import (
	"golang.org/x/sys/unix"
)

// Mount flags (MNT_*, include/linux/mount.h), kept with Linux's values.
const (
	MntNoSUID       = 0x01
	MntNoDev        = 0x02
	MntNoExec       = 0x04
	MntNoAtime      = 0x08
	MntNoDiratime   = 0x10
	MntRelatime     = 0x20
	MntReadonly     = 0x40
	MntNoSymfollow  = 0x80
	MntShared       = 0x1000
	MntUnbindable   = 0x2000
	MntLockAtime    = 0x040000
	MntLockNoExec   = 0x080000
	MntLockNoSUID   = 0x100000
	MntLockNoDev    = 0x200000
	MntLockReadonly = 0x400000
	// MntLocked: the mount was copied into a less privileged user
	// namespace together with its parent and may not be unmounted
	// apart from it, nor be revealed by a non-recursive bind.
	MntLocked = 0x800000
	// MntUmount marks a mount being or having been unmounted.
	MntUmount = 0x8000000

	mntAtimeMask = MntNoAtime | MntNoDiratime | MntRelatime
	// mntUserSettable are the flags a remount may change
	// (MNT_USER_SETTABLE_MASK).
	mntUserSettable = MntNoSUID | MntNoDev | MntNoExec | MntNoAtime | MntNoDiratime | MntRelatime | MntReadonly | MntNoSymfollow
)

// Mount is struct mount: a super block's subtree (root) attached at a
// mountpoint dentry of a parent mount, in one mount namespace. Every
// field is guarded by VFS.mu.
type Mount struct {
	vfs        *VFS
	id         int
	seq        uint64 // creation order (mnt_id_unique): mountinfo's order
	parent     *Mount // nil: a namespace's root, or detached
	mountpoint *Dentry
	root       *Dentry
	sb         *SuperBlock
	flags      uint32
	devname    string
	ns         *MountNamespace
	children   []*Mount
	// refs is mnt_count: paths and open files, each child mount, and
	// one for being attached to a namespace.
	refs int

	// Propagation (fs/pnode.c). share is the peer group of a shared
	// mount (nil: not shared); master is the mount a slave receives
	// from, slaves the mounts that receive from this one.
	share  *peerGroup
	master *Mount
	slaves []*Mount
}

// peerGroup is a ring of mnt_share: mounts that propagate to each other.
type peerGroup struct {
	id      int
	members []*Mount
}

// ID returns the mount's id (mountinfo's first field).
func (m *Mount) ID() int { return m.id }

// Root returns the mount's root dentry.
func (m *Mount) Root() *Dentry { return m.root }

// SB returns the mount's super block.
func (m *Mount) SB() *SuperBlock { return m.sb }

// Flags returns the MNT_* flags.
func (m *Mount) Flags() uint32 {
	m.vfs.mu.Lock()
	defer m.vfs.mu.Unlock()
	return m.flags
}

// mountKey identifies where a mount is attached (the mount hash).
type mountKey struct {
	parent *Mount
	mp     *Dentry
}

// MountNamespace is struct mnt_namespace: a tree of mounts. Owner is the
// user namespace that owns it, opaque to the VFS; copying a namespace
// into a different owner locks the copied mounts (lock_mnt_tree).
type MountNamespace struct {
	vfs   *VFS
	ID    uint64
	Owner any
	// Guarded by VFS.mu.
	root   *Mount
	mounts map[*Mount]bool
	refs   int
}

func (v *VFS) nextMountSeq() uint64 {
	v.mountSeq++
	return v.mountSeq
}

// allocVFSMnt allocates a mount (alloc_vfsmnt) with one reference.
func (v *VFS) allocVFSMnt(devname string) (*Mount, error) {
	if err := v.Alloc(SiteMount, KindMount); err != nil {
		return nil, err
	}
	id := 1
	for v.mountIDs[id] {
		id++
	}
	v.mountIDs[id] = true
	return &Mount{vfs: v, id: id, seq: v.nextMountSeq(), devname: devname, refs: 1}, nil
}

// put drops a reference (mntput); the last one frees the mount, its root
// dentry and its active reference to the super block (cleanup_mnt).
func (m *Mount) put() {
	m.refs--
	if m.refs > 0 {
		return
	}
	if m.refs < 0 {
		panic("fs: mntput of a free mount")
	}
	if m.parent != nil || m.ns != nil || m.share != nil || m.master != nil || len(m.slaves) > 0 {
		panic("fs: freeing a mount still attached")
	}
	delete(m.vfs.mountIDs, m.id)
	root, sb := m.root, m.sb
	m.root, m.sb = nil, nil
	root.put()
	sb.deactivate()
	m.vfs.Free(KindMount)
}

// vfsCreateMount makes a mount of sb's root (vfs_create_mount); it takes
// an active reference to sb.
func (v *VFS) vfsCreateMount(sb *SuperBlock, devname string, flags uint32) (*Mount, error) {
	m, err := v.allocVFSMnt(devname)
	if err != nil {
		return nil, err
	}
	m.sb = sb
	sb.active++
	m.root = sb.Root.get()
	m.flags = flags
	return m, nil
}

// lookupMnt returns the mount on top of (parent, dentry), or nil
// (lookup_mnt without the reference).
func (v *VFS) lookupMnt(parent *Mount, d *Dentry) *Mount {
	if d.mounted == 0 {
		return nil
	}
	return v.mountHash[mountKey{parent, d}]
}

// attachMnt attaches child at (parent, mp) (attach_mnt /
// mnt_set_mountpoint + commit_tree): the child holds a reference to both.
// A mount already there is shadowed: the hash keeps the newest on top,
// and a detached child uncovers the one beneath (stack).
func (v *VFS) attachMnt(child, parent *Mount, mp *Dentry) {
	child.parent = parent
	parent.refs++
	child.mountpoint = mp.get()
	mp.mounted++
	k := mountKey{parent, mp}
	if under := v.mountHash[k]; under != nil {
		v.shadowed[child] = under
	}
	v.mountHash[k] = child
	parent.children = append(parent.children, child)
}

// umountMnt detaches m from its parent (umount_mnt / unhash_mnt),
// uncovering whatever it shadowed.
func (v *VFS) umountMnt(m *Mount) {
	p, mp := m.parent, m.mountpoint
	k := mountKey{p, mp}
	under := v.shadowed[m]
	delete(v.shadowed, m)
	if v.mountHash[k] == m {
		if under != nil {
			v.mountHash[k] = under
		} else {
			delete(v.mountHash, k)
		}
	} else {
		// m was itself shadowed: whoever sat on m now sits on
		// what m sat on.
		for c, u := range v.shadowed {
			if u == m {
				if under != nil {
					v.shadowed[c] = under
				} else {
					delete(v.shadowed, c)
				}
			}
		}
	}
	for i, c := range p.children {
		if c == m {
			p.children = append(p.children[:i], p.children[i+1:]...)
			break
		}
	}
	m.parent, m.mountpoint = nil, nil
	mp.mounted--
	mp.put()
	p.put()
}

// add puts m into ns. The reference m's creator holds becomes the
// tree's: a mount attached in a tree is kept alive by that one
// reference, which umountTree drops.
func (ns *MountNamespace) add(m *Mount) {
	m.ns = ns
	ns.mounts[m] = true
}

// --- Propagation (fs/pnode.c) ---

func (v *VFS) allocGroupID() int {
	id := 1
	for v.groupIDs[id] {
		id++
	}
	v.groupIDs[id] = true
	return id
}

// setShared makes m shared (set_mnt_shared with a group id invented
// when it has none), clearing unbindable.
func (v *VFS) setShared(m *Mount) {
	m.flags &^= MntUnbindable
	if m.share == nil {
		m.share = &peerGroup{id: v.allocGroupID(), members: []*Mount{m}}
	}
	m.flags |= MntShared
}

// joinPeers makes m a peer of old.
func joinPeers(m, old *Mount) {
	m.share = old.share
	m.share.members = append(m.share.members, m)
	m.flags |= MntShared
}

// leavePeers removes m from its peer group, releasing the id when it was
// the last member.
func (v *VFS) leavePeers(m *Mount) {
	g := m.share
	if g == nil {
		return
	}
	for i, p := range g.members {
		if p == m {
			g.members = append(g.members[:i], g.members[i+1:]...)
			break
		}
	}
	if len(g.members) == 0 {
		delete(v.groupIDs, g.id)
	}
	m.share = nil
	m.flags &^= MntShared
}

func addSlave(master, s *Mount) {
	s.master = master
	master.slaves = append(master.slaves, s)
}

func removeSlave(s *Mount) {
	m := s.master
	if m == nil {
		return
	}
	for i, x := range m.slaves {
		if x == s {
			m.slaves = append(m.slaves[:i], m.slaves[i+1:]...)
			break
		}
	}
	s.master = nil
}

// doMakeSlave is do_make_slave: m leaves its peer group and becomes a
// slave of a former peer (or stays a slave of its master); its own
// slaves move to that new master, or become private if there is none.
func (v *VFS) doMakeSlave(m *Mount) {
	var peer *Mount
	if m.share != nil {
		for _, p := range m.share.members {
			if p != m {
				peer = p
				break
			}
		}
	}
	v.leavePeers(m)
	master := m.master
	if peer != nil {
		master = peer
	}
	slaves := m.slaves
	m.slaves = nil
	for _, s := range slaves {
		s.master = nil
		if master != nil {
			addSlave(master, s)
		}
	}
	if master != m.master {
		removeSlave(m)
		if master != nil {
			addSlave(master, m)
		}
	}
}

// changeMntPropagation is change_mnt_propagation.
func (v *VFS) changeMntPropagation(m *Mount, typ uint64) {
	if typ == unix.MS_SHARED {
		v.setShared(m)
		return
	}
	v.doMakeSlave(m)
	if typ != unix.MS_SLAVE {
		removeSlave(m)
		if typ == unix.MS_UNBINDABLE {
			m.flags |= MntUnbindable
		} else {
			m.flags &^= MntUnbindable
		}
	}
}

// propagationTargets lists the mounts that receive a mount made on dest
// (propagation_next's walk): dest's peers and, recursively, the slaves
// of every receiver and their peers. Each is paired with the receiver it
// gets its copy from (from == dest for dest's peers).
func propagationTargets(dest *Mount) (targets, from []*Mount) {
	seen := map[*Mount]bool{dest: true}
	queue := []*Mount{dest}
	for len(queue) > 0 {
		m := queue[0]
		queue = queue[1:]
		if m.share != nil {
			for _, p := range m.share.members {
				if !seen[p] {
					seen[p] = true
					targets, from = append(targets, p), append(from, m)
					queue = append(queue, p)
				}
			}
		}
		for _, s := range m.slaves {
			if !seen[s] {
				seen[s] = true
				targets, from = append(targets, s), append(from, m)
				queue = append(queue, s)
			}
		}
	}
	return targets, from
}

// pendingMount is a copy made by propagation, not yet attached.
type pendingMount struct {
	m      *Mount
	parent *Mount
	mp     *Dentry
}

// propagateMnt is propagate_mnt: copy the tree source, about to be
// mounted at (dest, mp), for every receiver of dest. A receiver that
// cannot see mp (it is outside the receiver's root) gets no copy, and
// its slaves copy from what it would have copied from. The copies are
// returned unattached; on error every copy made is freed.
func (v *VFS) propagateMnt(dest *Mount, mp *Dentry, source *Mount) ([]pendingMount, error) {
	targets, from := propagationTargets(dest)
	copyFor := map[*Mount]*Mount{dest: source}
	var out []pendingMount
	for i, r := range targets {
		src := copyFor[from[i]]
		if !mp.isSubdir(r.root) {
			copyFor[r] = src
			continue
		}
		var flag int
		if r.share != nil && from[i].share == r.share {
			flag = clMakeShared
		} else {
			flag = clSlave
			if r.share != nil {
				flag |= clMakeShared
			}
		}
		c, err := v.copyTree(src, src.root, flag)
		if err != nil {
			for _, p := range out {
				v.umountTree(p.m)
			}
			return nil, err
		}
		copyFor[r] = c
		out = append(out, pendingMount{c, r, mp})
	}
	return out, nil
}

// --- Copies ---

// clone_mnt/copy_tree flags (CL_*).
const (
	clSlave          = 0x02
	clCopyUnbindable = 0x04
	clMakeShared     = 0x08
	clPrivate        = 0x10
	clSharedToSlave  = 0x20
)

// cloneMnt is clone_mnt: a new mount of old's super block rooted at
// root, with old's flags and, by flag, its propagation: a slave of old,
// a peer of old, or private.
func (v *VFS) cloneMnt(old *Mount, root *Dentry, flag int) (*Mount, error) {
	m, err := v.allocVFSMnt(old.devname)
	if err != nil {
		return nil, err
	}
	m.sb = old.sb
	m.sb.active++
	m.root = root.get()
	m.flags = old.flags &^ (MntShared | MntUmount)
	if flag&clSlave != 0 || flag&clSharedToSlave != 0 && old.share != nil {
		addSlave(old, m)
	} else if flag&clPrivate == 0 {
		if flag&clMakeShared != 0 || old.share != nil {
			if old.share == nil {
				v.setShared(old)
			}
			joinPeers(m, old)
		}
		if old.master != nil {
			addSlave(old.master, m)
		}
	}
	if flag&clMakeShared != 0 && m.share == nil {
		v.setShared(m)
	}
	return m, nil
}

// copyTree is copy_tree: clone old at dentry and every mount below it
// that dentry can see, in the same shape. Unbindable mounts are left
// out (EINVAL for the root) unless clCopyUnbindable; a left-out mount
// that is also locked is EPERM, since leaving it out would reveal what
// it covers. On failure everything copied is freed.
func (v *VFS) copyTree(old *Mount, d *Dentry, flag int) (*Mount, error) {
	m, _, err := v.copyTreeMap(old, d, flag)
	return m, err
}

// copyTreeMap is copyTree that also says which copy each original got.
func (v *VFS) copyTreeMap(old *Mount, d *Dentry, flag int) (*Mount, map[*Mount]*Mount, error) {
	if flag&clCopyUnbindable == 0 && old.flags&MntUnbindable != 0 {
		return nil, nil, unix.EINVAL
	}
	res, err := v.cloneMnt(old, d, flag)
	if err != nil {
		return nil, nil, err
	}
	copies := map[*Mount]*Mount{old: res}
	var walk func(src, dst *Mount) error
	walk = func(src, dst *Mount) error {
		for _, c := range append([]*Mount(nil), src.children...) {
			if !c.mountpoint.isSubdir(d) && src == old {
				continue
			}
			if flag&clCopyUnbindable == 0 && c.flags&MntUnbindable != 0 {
				if c.flags&MntLocked != 0 {
					return unix.EPERM
				}
				continue
			}
			q, err := v.cloneMnt(c, c.root, flag)
			if err != nil {
				return err
			}
			v.attachMnt(q, dst, c.mountpoint)
			copies[c] = q
			if err := walk(c, q); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(old, res); err != nil {
		v.umountTree(res)
		return nil, nil, err
	}
	return res, copies, nil
}

// treeMounts lists m and every mount below it, parents first.
func treeMounts(m *Mount) []*Mount {
	out := []*Mount{m}
	for i := 0; i < len(out); i++ {
		out = append(out, out[i].children...)
	}
	return out
}

// umountTree is umount_tree: take m and everything below it out of its
// namespace, make each private, disconnect each from its parent, and
// drop the tree's reference to each. A mount then lives as long as
// something else references it (a lazy unmount keeps open files and
// working directories usable). The same undoes a copy that failed
// half-way, whose mounts were never in a namespace.
func (v *VFS) umountTree(m *Mount) {
	all := treeMounts(m)
	for _, p := range all {
		p.flags |= MntUmount
		if p.ns != nil {
			delete(p.ns.mounts, p)
			p.ns = nil
		}
		v.changeMntPropagation(p, unix.MS_PRIVATE)
	}
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].parent != nil {
			v.umountMnt(all[i])
		}
	}
	for _, p := range all {
		p.put()
	}
}
