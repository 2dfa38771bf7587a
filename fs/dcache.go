package fs

import (
	"strings"

	"golang.org/x/sys/unix"
)

// Dentry is struct dentry: a name in a directory, bound to an inode
// (positive) or to nothing (negative). The dentry cache here is a cache
// only while used: a dentry lives as long as something references it (a
// path, an open file, a mount, a child dentry, the super block's root)
// and dies with its last reference, without Linux's LRU of unused
// entries. That keeps the auditor's counts exact: after an operation,
// the live dentries are exactly those something still holds. A file
// system is the truth for what names exist; lookups that miss the cache
// ask it again.
//
// Every field is guarded by VFS.mu.
type Dentry struct {
	sb     *SuperBlock
	name   string
	parent *Dentry // nil for a super block's root (IS_ROOT)
	inode  *Inode  // nil: negative
	// children are the hashed child dentries (d_subdirs + the hash).
	children map[string]*Dentry
	refs     int
	// mounted counts mounts whose mountpoint this is (DCACHE_MOUNTED).
	mounted int
	// hashed: reachable by lookup in the parent (!d_unhashed).
	hashed bool
	// dontMount is set once the dentry is removed (dont_mount): nothing
	// may be mounted on it any more.
	dontMount bool
}

// Name returns the dentry's name.
func (d *Dentry) Name() string { return d.name }

// Inode returns the dentry's inode (nil when negative).
func (d *Dentry) Inode() *Inode { return d.inode }

// dAlloc allocates a dentry named name under parent (d_alloc), with one
// reference; the dentry holds one on parent. It is not hashed yet.
func (v *VFS) dAlloc(parent *Dentry, name string, sb *SuperBlock) (*Dentry, error) {
	if err := v.Alloc(SiteDentry, KindDentry); err != nil {
		return nil, err
	}
	d := &Dentry{sb: sb, name: name, parent: parent, refs: 1}
	if parent != nil {
		parent.refs++
	}
	return d, nil
}

func (d *Dentry) get() *Dentry {
	d.refs++
	return d
}

// put drops a reference (dput). A dentry whose last reference goes is
// unhashed and freed, dropping its inode and its parent in turn.
func (d *Dentry) put() {
	for d != nil {
		d.refs--
		if d.refs > 0 {
			return
		}
		if d.refs < 0 {
			panic("fs: dput of a free dentry " + d.name)
		}
		d.unhash()
		if d.inode != nil {
			d.inode.Put()
			d.inode = nil
		}
		d.sb.vfs.Free(KindDentry)
		d, d.parent = d.parent, nil
	}
}

// hash makes d findable under its parent (d_add's second half).
func (d *Dentry) hash() {
	p := d.parent
	if p.children == nil {
		p.children = map[string]*Dentry{}
	}
	p.children[d.name] = d
	d.hashed = true
}

// unhash removes d from its parent's lookup table (__d_drop).
func (d *Dentry) unhash() {
	if d.hashed {
		delete(d.parent.children, d.name)
		d.hashed = false
	}
}

// instantiate binds a negative dentry to ino, whose reference it takes,
// and hashes it (d_instantiate + d_add).
func (d *Dentry) instantiate(ino *Inode) {
	d.inode = ino
	if !d.hashed {
		d.hash()
	}
}

// isRoot is IS_ROOT.
func (d *Dentry) isRoot() bool { return d.parent == nil }

// isDir is d_is_dir; canLookup is d_can_lookup (the same here).
func (d *Dentry) isDir() bool     { return d.inode != nil && d.inode.IsDir() }
func (d *Dentry) isSymlink() bool { return d.inode != nil && d.inode.IsSymlink() }
func (d *Dentry) isReg() bool     { return d.inode != nil && d.inode.IsReg() }

// isSubdir reports whether d is ancestor or d itself (is_subdir).
func (d *Dentry) isSubdir(ancestor *Dentry) bool {
	for e := d; e != nil; e = e.parent {
		if e == ancestor {
			return true
		}
	}
	return false
}

// move renames d to name under newParent (d_move), hashing it there;
// the caller has already unhashed whatever newParent/name named.
func (d *Dentry) move(newParent *Dentry, name string) {
	d.unhash()
	old := d.parent
	d.parent = newParent.get()
	d.name = name
	d.hash()
	old.put()
}

// exchange swaps the names and parents of a and b (d_exchange).
func exchange(a, b *Dentry) {
	a.unhash()
	b.unhash()
	a.parent, b.parent = b.parent, a.parent
	a.name, b.name = b.name, a.name
	a.hash()
	b.hash()
}

// dLookup returns the cached child name of dir with a reference, or nil
// (d_lookup). A file system with Revalidate may declare it stale, and
// then it is dropped (d_invalidate).
func (dir *Dentry) dLookup(name string) *Dentry {
	d := dir.children[name]
	if d == nil {
		return nil
	}
	if rv, ok := dir.sb.Ops.(Revalidator); ok && d.inode != nil && d.mounted == 0 {
		if !rv.Revalidate(dir.inode, name, d.inode) {
			d.unhash()
			return nil
		}
	}
	return d.get()
}

// lookupOne finds name in dir, in the cache or from the file system
// (lookup_one_qstr_excl / __lookup_slow without the locking). The result
// carries a reference; it is negative when the name does not exist, and
// then not hashed (nsvm caches no negative dentries).
func (v *VFS) lookupOne(dir *Dentry, name string) (*Dentry, error) {
	if d := dir.dLookup(name); d != nil {
		return d, nil
	}
	// Every Linux file system rejects an over-long name in its lookup
	// (simple_lookup, ext4_lookup...); nsvm does it once here.
	if len(name) > NameMax {
		return nil, unix.ENAMETOOLONG
	}
	d, err := v.dAlloc(dir, name, dir.sb)
	if err != nil {
		return nil, err
	}
	ino, err := dir.sb.Ops.Lookup(dir.inode, name)
	if err == unix.ENOENT {
		return d, nil
	}
	if err != nil {
		d.put()
		return nil, err
	}
	d.instantiate(ino)
	return d, nil
}

// dpath builds the path of p as seen from root (prepend_path). It
// reports false when p is not below root (getcwd's "(unreachable)").
func dpath(p, root Path) (string, bool) {
	var parts []string
	d, m := p.Dentry, p.Mnt
	for !(d == root.Dentry && m == root.Mnt) {
		if d == m.root || d.isRoot() {
			if d != m.root || m.parent == nil {
				// The top of a detached tree, or a dentry
				// outside its mount's root: not reachable.
				return "/" + joinReversed(parts), false
			}
			d, m = m.mountpoint, m.parent
			continue
		}
		parts = append(parts, d.name)
		d = d.parent
	}
	return "/" + joinReversed(parts), true
}

func joinReversed(parts []string) string {
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteString(parts[i])
		if i > 0 {
			b.WriteByte('/')
		}
	}
	return b.String()
}

// dentryPath is the path of d from its super block's root (dentry_path,
// mountinfo's 4th field).
func dentryPath(d *Dentry) string {
	var parts []string
	for ; !d.isRoot(); d = d.parent {
		parts = append(parts, d.name)
	}
	return "/" + joinReversed(parts)
}

// unlinked reports d_unlinked: removed from its directory.
func (d *Dentry) unlinked() bool { return !d.isRoot() && !d.hashed }
