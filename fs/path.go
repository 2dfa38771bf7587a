package fs

// Path is struct path: a dentry as seen through a mount. A Path a
// function returns carries one reference to each; Put drops them.
type Path struct {
	Mnt    *Mount
	Dentry *Dentry
}

// IsZero reports an empty path.
func (p Path) IsZero() bool { return p.Mnt == nil }

// Equal is path_equal.
func (p Path) Equal(q Path) bool { return p.Mnt == q.Mnt && p.Dentry == q.Dentry }

// Inode returns the path's inode (nil for a negative dentry).
func (p Path) Inode() *Inode { return p.Dentry.inode }

// get takes references (path_get); VFS.mu held.
func (p Path) get() Path {
	p.Mnt.refs++
	p.Dentry.refs++
	return p
}

// put drops them (path_put); VFS.mu held.
func (p Path) put() {
	p.Dentry.put()
	p.Mnt.put()
}

// Get takes another reference to both halves of p.
func (p Path) Get() Path {
	v := p.Mnt.vfs
	v.mu.Lock()
	defer v.mu.Unlock()
	return p.get()
}

// Put drops the references p carries.
func (p Path) Put() {
	if p.IsZero() {
		return
	}
	v := p.Mnt.vfs
	v.mu.Lock()
	defer v.mu.Unlock()
	p.put()
}

// Hold takes references like Get, for callers that already hold VFS.mu:
// file system callbacks such as MagicLinker.JumpLink.
func (p Path) Hold() Path { return p.get() }
