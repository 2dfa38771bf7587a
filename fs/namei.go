package fs

import (
	"strings"

	"golang.org/x/sys/unix"
)

// Limits of a path walk (include/uapi/linux/limits.h, namei.h).
const (
	PathMax     = 4096 // a name of PathMax bytes or more is ENAMETOOLONG
	NameMax     = 255  // a component longer than this is ENAMETOOLONG
	MaxSymlinks = 40   // the 41st symbolic link in one walk is ELOOP
)

// Lookup flags (LOOKUP_*).
const (
	LookupFollow       = 0x0001 // follow a trailing symlink
	LookupDirectory    = 0x0002 // the result must be a directory
	LookupEmpty        = 0x4000 // accept an empty name (AT_EMPTY_PATH)
	LookupNoSymlinks   = 0x010000
	LookupNoMagiclinks = 0x020000
	LookupNoXdev       = 0x040000
	LookupBeneath      = 0x080000
	LookupInRoot       = 0x100000
	LookupOpen         = 0x0100
	LookupCreate       = 0x0200
	LookupExcl         = 0x0400

	lookupIsScoped = LookupBeneath | LookupInRoot
)

// Kinds of last component (LAST_*).
const (
	lastNorm = iota
	lastRoot
	lastDot
	lastDotDot
)

// walk_component / step_into flags.
const (
	walkTrailing = 1 << iota // the last component of the whole name
	walkMore                 // more components follow
	walkNoFollow
)

// Ctx is what a VFS call needs of the calling task: current_cred(),
// current->fs and current->nsproxy->mnt_ns.
type Ctx struct {
	Cred  Credentials
	FS    *FSStruct
	MntNS *MountNamespace
}

// nameidata is struct nameidata: the state of one path walk.
type nameidata struct {
	v     *VFS
	ctx   *Ctx
	flags int
	// path is where the walk is; it holds references.
	path Path
	// root is what "/" and ".." stop at: the task's root, or the
	// starting directory for RESOLVE_BENEATH/IN_ROOT. Zero until
	// needed (set_root); holds references once set.
	root Path
	// The last component seen by linkPathWalk, and whether slashes
	// followed it (nd->last.name[nd->last.len] != 0).
	last      string
	lastType  int
	lastSlash bool
	// totalLinks is total_link_count: symlinks followed in this walk.
	totalLinks int
}

// terminate drops what the walk holds (terminate_walk).
func (nd *nameidata) terminate() {
	if !nd.path.IsZero() {
		nd.path.put()
		nd.path = Path{}
	}
	if !nd.root.IsZero() {
		nd.root.put()
		nd.root = Path{}
	}
}

// setRoot takes the task's root (set_root).
func (nd *nameidata) setRoot() {
	nd.root = nd.ctx.FS.root.get()
}

// jumpRoot moves the walk to its root (nd_jump_root): an absolute name
// or an absolute symlink. Under RESOLVE_BENEATH that is an escape.
func (nd *nameidata) jumpRoot() error {
	if nd.flags&LookupBeneath != 0 {
		return unix.EXDEV
	}
	if nd.root.IsZero() {
		nd.setRoot()
	}
	if nd.flags&LookupNoXdev != 0 && !nd.path.IsZero() && nd.path.Mnt != nd.root.Mnt {
		// namei.c compares against nd->root before set_root has
		// necessarily run; nsvm sets the root first, so that an
		// absolute symlink that stays on the same mount is allowed.
		return unix.EXDEV
	}
	nd.setPath(nd.root.get())
	return nil
}

// setPath replaces the walk's position with p, whose references it
// takes over.
func (nd *nameidata) setPath(p Path) {
	if !nd.path.IsZero() {
		nd.path.put()
	}
	nd.path = p
}

// pathInit is path_init: where the walk starts. An absolute name starts
// at the root (except under RESOLVE_IN_ROOT, where "/" means the
// starting directory), a relative one at the cwd or at dirf. A scoped
// walk takes its starting point as its root.
func (nd *nameidata) pathInit(name string, dirf *File) (string, error) {
	nd.lastType = lastRoot
	if strings.HasPrefix(name, "/") && nd.flags&LookupInRoot == 0 {
		return name, nd.jumpRoot()
	}
	if dirf == nil {
		nd.path = nd.ctx.FS.pwd.get()
	} else {
		// The caller checks execute permission on the starting
		// directory as the first component's may_lookup.
		if name != "" && !dirf.path.Dentry.isDir() {
			return "", unix.ENOTDIR
		}
		nd.path = dirf.path.get()
	}
	if nd.flags&lookupIsScoped != 0 {
		nd.root = nd.path.get()
	}
	return name, nil
}

// linkPathWalk is link_path_walk: walk every component of name but the
// last, following symlinks met on the way. The last component is left
// in nd.last for the caller (lookupLast, openLastLookups, or a create).
// A symlink body is walked in place of its component, and what followed
// the component is saved on a stack until the body is done.
func (nd *nameidata) linkPathWalk(name string) error {
	var stack []string
	nd.lastType = lastRoot
	name = strings.TrimLeft(name, "/")
	if name == "" {
		return nil
	}
	for {
		if err := mayLookup(nd.ctx.Cred, nd.path.Dentry.inode); err != nil {
			return err
		}
		comp := name
		rest := ""
		slash := false
		if i := strings.IndexByte(name, '/'); i >= 0 {
			comp, rest, slash = name[:i], strings.TrimLeft(name[i:], "/"), true
		}
		typ := lastNorm
		switch comp {
		case ".":
			typ = lastDot
		case "..":
			typ = lastDotDot
		}
		nd.last, nd.lastType, nd.lastSlash = comp, typ, slash
		var link string
		var follow bool
		var err error
		if rest == "" {
			if len(stack) == 0 {
				// The last component: the caller's.
				return nil
			}
			// The last component of a nested symlink body.
			rest = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			link, follow, err = nd.walkComponent(comp, typ, 0)
		} else {
			link, follow, err = nd.walkComponent(comp, typ, walkMore)
		}
		if err != nil {
			return err
		}
		if follow && link != "" {
			// A symlink to follow: walk its body, then rest. (A
			// pure jump, a magic link or a body of slashes, has
			// already moved the walk and leaves nothing to walk.)
			stack = append(stack, rest)
			name = link
			continue
		}
		if !nd.path.Dentry.isDir() {
			return unix.ENOTDIR
		}
		name = rest
	}
}

// walkComponent is walk_component: handle "." and "..", or look the
// component up and step into it. It returns a symlink body to follow,
// with follow set.
func (nd *nameidata) walkComponent(name string, typ, flags int) (string, bool, error) {
	if typ != lastNorm {
		return "", false, nd.handleDots(typ)
	}
	d, err := nd.v.lookupOne(nd.path.Dentry, name)
	if err != nil {
		return "", false, err
	}
	return nd.stepInto(flags, d)
}

// stepInto is step_into: cross any mounts on dentry (whose reference it
// takes), then either move there or, for a symlink that is to be
// followed, return its body.
func (nd *nameidata) stepInto(flags int, d *Dentry) (string, bool, error) {
	p := Path{nd.path.Mnt, d}
	p.Mnt.refs++
	if err := nd.handleMounts(&p); err != nil {
		p.put()
		return "", false, err
	}
	if !p.Dentry.isSymlink() || flags&walkTrailing != 0 && nd.flags&LookupFollow == 0 || flags&walkNoFollow != 0 {
		nd.setPath(p)
		return "", false, nil
	}
	return nd.pickLink(p)
}

// handleMounts is handle_mounts / traverse_mounts: while something is
// mounted on p, move to the root of the topmost mount. A negative
// dentry is ENOENT here, as it is in traverse_mounts.
func (nd *nameidata) handleMounts(p *Path) error {
	for p.Dentry.mounted > 0 {
		m := nd.v.lookupMnt(p.Mnt, p.Dentry)
		if m == nil {
			break
		}
		if nd.flags&LookupNoXdev != 0 {
			return unix.EXDEV
		}
		old := *p
		*p = Path{m, m.root}.get()
		old.put()
	}
	if p.Dentry.inode == nil {
		return unix.ENOENT
	}
	return nil
}

// pickLink is pick_link: count the link against MAXSYMLINKS, refuse it
// under RESOLVE_NO_SYMLINKS or on a nosymfollow mount, then either jump
// (a magic link) or return the body, jumping to the root first for an
// absolute one. It takes over link's references.
func (nd *nameidata) pickLink(link Path) (string, bool, error) {
	defer link.put()
	if nd.totalLinks >= MaxSymlinks {
		return "", false, unix.ELOOP
	}
	nd.totalLinks++
	if nd.flags&LookupNoSymlinks != 0 || link.Mnt.flags&MntNoSymfollow != 0 {
		return "", false, unix.ELOOP
	}
	ino := link.Dentry.inode
	if ml, ok := ino.sb.Ops.(MagicLinker); ok {
		target, err := ml.JumpLink(ino)
		if err != nil {
			return "", false, err
		}
		if !target.IsZero() {
			return "", true, nd.jumpLink(target)
		}
	}
	body, err := ino.sb.Ops.Readlink(ino)
	if err != nil {
		return "", false, err
	}
	if strings.HasPrefix(body, "/") {
		if err := nd.jumpRoot(); err != nil {
			return "", false, err
		}
		body = strings.TrimLeft(body, "/")
	}
	return body, true, nil
}

// jumpLink is nd_jump_link: a magic link moves the walk to target, which
// no scoped or no-magic-links walk may do. It takes target's references.
func (nd *nameidata) jumpLink(target Path) error {
	if nd.flags&LookupNoMagiclinks != 0 {
		target.put()
		return unix.ELOOP
	}
	if nd.flags&LookupNoXdev != 0 && nd.path.Mnt != target.Mnt {
		target.put()
		return unix.EXDEV
	}
	if nd.flags&lookupIsScoped != 0 {
		target.put()
		return unix.EXDEV
	}
	nd.setPath(target)
	return nil
}

// handleDots is handle_dots: "." stays, ".." goes up.
func (nd *nameidata) handleDots(typ int) error {
	if typ != lastDotDot {
		return nil
	}
	if nd.root.IsZero() {
		nd.setRoot()
	}
	return nd.followDotdot()
}

// followDotdot is follow_dotdot: ".." of the root stays there (and is an
// escape under RESOLVE_BENEATH); ".." of a mount's root first climbs to
// where that mount is mounted, through stacked mounts, but never past
// the root; then it goes to the parent dentry, which must still be
// inside the mount (a bind mount of a subdirectory whose parent was
// renamed away is ENOENT).
func (nd *nameidata) followDotdot() error {
	if nd.path.Equal(nd.root) {
		return nd.dotdotInRoot()
	}
	if nd.path.Dentry == nd.path.Mnt.root {
		mp, ok := nd.chooseMountpoint()
		if !ok {
			return nd.dotdotInRoot()
		}
		if nd.flags&LookupNoXdev != 0 {
			mp.put()
			return unix.EXDEV
		}
		nd.setPath(mp)
	}
	d := nd.path.Dentry
	if d.isRoot() {
		return nil
	}
	parent := d.parent
	m := nd.path.Mnt
	if m.root != m.sb.Root && !parent.isSubdir(m.root) {
		return unix.ENOENT
	}
	nd.setPath(Path{m, parent}.get())
	return nil
}

// dotdotInRoot is follow_dotdot's in_root: stay.
func (nd *nameidata) dotdotInRoot() error {
	if nd.flags&LookupBeneath != 0 {
		return unix.EXDEV
	}
	return nil
}

// chooseMountpoint is choose_mountpoint: from the root of nd's mount,
// climb to the first mountpoint that is not itself a mount's root,
// stopping (false) at the walk's root or the top of the tree.
func (nd *nameidata) chooseMountpoint() (Path, bool) {
	m := nd.path.Mnt
	for m.parent != nil {
		mp := m.mountpoint
		m = m.parent
		if nd.root.Dentry == mp && nd.root.Mnt == m {
			return Path{}, false
		}
		if mp != m.root {
			return Path{m, mp}.get(), true
		}
	}
	return Path{}, false
}

// lookupLast is lookup_last: the last component, followed if it is a
// symlink and LOOKUP_FOLLOW (which a trailing slash implies, with
// LOOKUP_DIRECTORY).
func (nd *nameidata) lookupLast() (string, bool, error) {
	if nd.lastType == lastNorm && nd.lastSlash {
		nd.flags |= LookupFollow | LookupDirectory
	}
	return nd.walkComponent(nd.last, nd.lastType, walkTrailing)
}

// getname checks a user name (getname_flags): ENAMETOOLONG at PATH_MAX,
// ENOENT when empty without LOOKUP_EMPTY.
func getname(name string, flags int) error {
	if len(name) >= PathMax {
		return unix.ENAMETOOLONG
	}
	if name == "" && flags&LookupEmpty == 0 {
		return unix.ENOENT
	}
	return nil
}

// pathLookupat is path_lookupat: the whole walk, returning the final
// path with its references.
func (v *VFS) pathLookupat(ctx *Ctx, dirf *File, name string, flags int) (Path, error) {
	if err := getname(name, flags); err != nil {
		return Path{}, err
	}
	nd := &nameidata{v: v, ctx: ctx, flags: flags}
	defer nd.terminate()
	s, err := nd.pathInit(name, dirf)
	for err == nil {
		if err = nd.linkPathWalk(s); err != nil {
			break
		}
		var follow bool
		s, follow, err = nd.lookupLast()
		if err != nil || !follow || s == "" {
			break
		}
		nd.flags &^= LookupOpen | LookupCreate | LookupExcl
	}
	if err != nil {
		return Path{}, err
	}
	if nd.flags&LookupDirectory != 0 && !nd.path.Dentry.isDir() {
		return Path{}, unix.ENOTDIR
	}
	p := nd.path
	nd.path = Path{}
	return p, nil
}

// parent is what filenameParentat returns: the directory that holds the
// last component, the component, its kind, and whether slashes followed
// it.
type parent struct {
	Path
	last      string
	lastType  int
	lastSlash bool
}

// filenameParentat is filename_parentat / path_parentat: walk all but
// the last component.
func (v *VFS) filenameParentat(ctx *Ctx, dirf *File, name string, flags int) (parent, error) {
	if err := getname(name, flags); err != nil {
		return parent{}, err
	}
	nd := &nameidata{v: v, ctx: ctx, flags: flags}
	defer nd.terminate()
	s, err := nd.pathInit(name, dirf)
	if err == nil {
		err = nd.linkPathWalk(s)
	}
	if err != nil {
		return parent{}, err
	}
	p := parent{Path: nd.path, last: nd.last, lastType: nd.lastType, lastSlash: nd.lastSlash}
	nd.path = Path{}
	return p, nil
}

// Lookup resolves name relative to dirf (nil: the cwd) with LOOKUP_*
// flags (filename_lookup, user_path_at), and returns the path with its
// references.
func (v *VFS) Lookup(ctx *Ctx, dirf *File, name string, flags int) (Path, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.pathLookupat(ctx, dirf, name, flags)
}
