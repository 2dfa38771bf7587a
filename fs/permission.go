package fs

import (
	"golang.org/x/sys/unix"
)

// Credentials is what the VFS needs from the caller's struct cred. The
// guest kernel implements it over its own credentials, so that the user
// namespace logic (kuid mapping, ns_capable's walk up the user namespace
// tree) stays in one place, there.
type Credentials interface {
	// FSUID and FSGID are the kuid/kgid used for file access.
	FSUID() uint32
	FSGID() uint32
	// InGroup is in_group_p: gid is the fsgid or a supplementary group.
	InGroup(gid uint32) bool
	// CapableWrtInode is capable_wrt_inode_uidgid: the caller has cap
	// in its own user namespace and the inode's uid and gid are mapped
	// there.
	CapableWrtInode(cap int, uid, gid uint32) bool
	// NSCapable is ns_capable(userNS, cap); userNS is the opaque owner
	// given to a mount namespace or super block (nil: the initial user
	// namespace, which makes it capable(cap)).
	NSCapable(userNS any, cap int) bool
}

// Capabilities the VFS checks (include/uapi/linux/capability.h).
const (
	CapChown          = 0
	CapDacOverride    = 1
	CapDacReadSearch  = 2
	CapFowner         = 3
	CapFsetid         = 4
	CapMknod          = 27
	CapSysAdmin       = 21
	CapLinuxImmutable = 9
)

// Permission masks (MAY_*).
const (
	MayExec   = 0x1
	MayWrite  = 0x2
	MayRead   = 0x4
	MayAppend = 0x8
	MayAccess = 0x10
	MayOpen   = 0x20
	MayChdir  = 0x40
)

// InodePermission is inode_permission: may the caller access ino with
// mask? It is the only place the VFS decides DAC, in Linux's order:
//
//  1. sb_permission: writing to a regular file, directory or symlink of
//     a read-only super block is EROFS (a read-only *mount* is checked
//     separately, by mntWantWrite, as Linux does);
//  2. generic_permission: the owner's, group's or others' bits
//     (acl_permission_check; nsvm has no ACLs), then the capability
//     overrides: CAP_DAC_READ_SEARCH for reading anything and searching
//     directories, CAP_DAC_OVERRIDE for everything except executing a
//     file with no x bit at all.
//
// Capabilities are asked with the inode's owner (capable_wrt_inode_uidgid).
func InodePermission(cr Credentials, ino *Inode, mask int) error {
	mode, uid, gid := ino.owner()
	ft := mode & unix.S_IFMT
	if mask&MayWrite != 0 && ino.sb.Flags&SbRdonly != 0 &&
		(ft == unix.S_IFREG || ft == unix.S_IFDIR || ft == unix.S_IFLNK) {
		return unix.EROFS
	}
	return genericPermission(cr, mode, uid, gid, mask)
}

// genericPermission is generic_permission for an inode with these
// attributes.
func genericPermission(cr Credentials, mode, uid, gid uint32, mask int) error {
	if aclPermissionCheck(cr, mode, uid, gid, mask) == nil {
		return nil
	}
	if mode&unix.S_IFMT == unix.S_IFDIR {
		// DACs are overridable for directories.
		if mask&MayWrite == 0 && cr.CapableWrtInode(CapDacReadSearch, uid, gid) {
			return nil
		}
		if cr.CapableWrtInode(CapDacOverride, uid, gid) {
			return nil
		}
		return unix.EACCES
	}
	// Searching includes executable on directories, else just read.
	mask &= MayRead | MayWrite | MayExec
	if mask == MayRead && cr.CapableWrtInode(CapDacReadSearch, uid, gid) {
		return nil
	}
	// Read and write DACs are always overridable; execute only when at
	// least one x bit is set.
	if (mask&MayExec == 0 || mode&0o111 != 0) && cr.CapableWrtInode(CapDacOverride, uid, gid) {
		return nil
	}
	return unix.EACCES
}

// aclPermissionCheck is acl_permission_check without ACLs: the owner
// class if the fsuid owns the inode, else the group class when the
// group's bits differ from others' in what is asked and the caller is in
// the group, else others.
func aclPermissionCheck(cr Credentials, mode, uid, gid uint32, mask int) error {
	m := uint32(mask & 7)
	if uid == cr.FSUID() {
		if m&^(mode>>6) != 0 {
			return unix.EACCES
		}
		return nil
	}
	if m&(mode^(mode>>3)) != 0 && cr.InGroup(gid) {
		mode >>= 3
	}
	if m&^mode&7 != 0 {
		return unix.EACCES
	}
	return nil
}

// mayLookup is may_lookup: search permission on the directory being
// walked through.
func mayLookup(cr Credentials, dir *Inode) error {
	return InodePermission(cr, dir, MayExec)
}

// inodeOwnerOrCapable is inode_owner_or_capable.
func inodeOwnerOrCapable(cr Credentials, ino *Inode) bool {
	_, uid, gid := ino.owner()
	return uid == cr.FSUID() || cr.CapableWrtInode(CapFowner, uid, gid)
}

// inGroupOrCapable is in_group_or_capable: may the caller keep S_ISGID
// on a file of group gid?
func inGroupOrCapable(cr Credentials, ino *Inode, gid uint32) bool {
	_, uid, _ := ino.owner()
	return cr.InGroup(gid) || cr.CapableWrtInode(CapFsetid, uid, gid)
}

// checkSticky is check_sticky: in a sticky directory only the file's
// owner, the directory's owner or a CAP_FOWNER holder may remove or
// rename an entry.
func checkSticky(cr Credentials, dir, ino *Inode) bool {
	dmode, duid, _ := dir.owner()
	if dmode&unix.S_ISVTX == 0 {
		return false
	}
	_, uid, gid := ino.owner()
	if uid == cr.FSUID() || duid == cr.FSUID() {
		return false
	}
	return !cr.CapableWrtInode(CapFowner, uid, gid)
}

// mayDelete is may_delete: may the caller remove victim (a dentry of
// dir), which is expected to be a directory iff isDir?
func mayDelete(cr Credentials, dir *Inode, victim *Dentry, isDir bool) error {
	if victim.inode == nil {
		return unix.ENOENT
	}
	if err := InodePermission(cr, dir, MayWrite|MayExec); err != nil {
		return err
	}
	if checkSticky(cr, dir, victim.inode) {
		return unix.EPERM
	}
	if isDir {
		if !victim.isDir() {
			return unix.ENOTDIR
		}
		if victim.isRoot() {
			return unix.EBUSY
		}
	} else if victim.isDir() {
		return unix.EISDIR
	}
	if dir.Dead {
		return unix.ENOENT
	}
	return nil
}

// mayCreate is may_create: child must not exist, dir must be alive and
// writable and searchable.
func mayCreate(cr Credentials, dir *Inode, child *Dentry) error {
	if child.inode != nil {
		return unix.EEXIST
	}
	if dir.Dead {
		return unix.ENOENT
	}
	return InodePermission(cr, dir, MayWrite|MayExec)
}

// mntWantWrite is mnt_want_write: writing through a read-only mount or
// to a read-only super block is EROFS.
func mntWantWrite(m *Mount) error {
	if m.flags&MntReadonly != 0 || m.sb.Flags&SbRdonly != 0 {
		return unix.EROFS
	}
	return nil
}

// mayOpen is may_open: what an open may do to the inode it found, by
// type, then the permission check for the access mode.
func mayOpen(cr Credentials, p Path, accMode int, flags int) error {
	ino := p.Dentry.inode
	if ino == nil {
		return unix.ENOENT
	}
	switch ino.Type() {
	case unix.S_IFLNK:
		return unix.ELOOP
	case unix.S_IFDIR:
		if accMode&MayWrite != 0 {
			return unix.EISDIR
		}
		if accMode&MayExec != 0 {
			return unix.EACCES
		}
	case unix.S_IFBLK, unix.S_IFCHR:
		// may_open_dev: devices are unusable through a nodev mount.
		if p.Mnt.flags&MntNoDev != 0 {
			return unix.EACCES
		}
		if accMode&MayExec != 0 {
			return unix.EACCES
		}
	case unix.S_IFIFO, unix.S_IFSOCK:
		if accMode&MayExec != 0 {
			return unix.EACCES
		}
	case unix.S_IFREG:
		if accMode&MayExec != 0 && p.Mnt.flags&MntNoExec != 0 {
			return unix.EACCES
		}
	}
	if err := InodePermission(cr, ino, MayOpen|accMode); err != nil {
		return err
	}
	// O_NOATIME can only be set by the owner or a CAP_FOWNER holder.
	if flags&unix.O_NOATIME != 0 && !inodeOwnerOrCapable(cr, ino) {
		return unix.EPERM
	}
	return nil
}

// inodeInitOwner is inode_init_owner plus mode_strip_umask and
// mode_strip_sgid: who owns a new inode made in dir with mode (type and
// permission bits, before the umask).
func inodeInitOwner(cr Credentials, dir *Inode, mode, umask uint32) Owner {
	o := Owner{UID: cr.FSUID(), GID: cr.FSGID(), Mode: mode&unix.S_IFMT | mode&^unix.S_IFMT&^umask&0o7777}
	dmode, _, dgid := dir.owner()
	if dmode&unix.S_ISGID != 0 {
		o.GID = dgid
		if o.Mode&unix.S_IFMT == unix.S_IFDIR {
			o.Mode |= unix.S_ISGID
		}
	}
	// A new non-directory keeps S_ISGID with group execute only if
	// the caller is in its group or has CAP_FSETID over the directory.
	if o.Mode&unix.S_IFMT != unix.S_IFDIR && o.Mode&(unix.S_ISGID|unix.S_IXGRP) == unix.S_ISGID|unix.S_IXGRP {
		_, duid, dg := dir.owner()
		if !cr.InGroup(o.GID) && !cr.CapableWrtInode(CapFsetid, duid, dg) {
			o.Mode &^= unix.S_ISGID
		}
	}
	return o
}

// setattrPrepare is setattr_prepare plus notify_change's checks: may the
// caller make the change a describes? It may clear S_ISGID from a's mode.
func setattrPrepare(cr Credentials, ino *Inode, a *SetAttr) error {
	_, uid, gid := ino.owner()
	if a.Valid&AttrSize != 0 && a.Size > ino.sb.MaxBytes {
		return unix.EFBIG
	}
	if a.Valid&AttrUID != 0 {
		// chown_ok: the owner may "change" to itself; CAP_CHOWN may
		// do anything.
		if !(uid == cr.FSUID() && a.UID == uid) && !cr.CapableWrtInode(CapChown, uid, gid) {
			return unix.EPERM
		}
	}
	if a.Valid&AttrGID != 0 {
		// chgrp_ok: the owner may change the group to one of its own.
		ok := uid == cr.FSUID() && (a.GID == gid || cr.InGroup(a.GID))
		if !ok && !cr.CapableWrtInode(CapChown, uid, gid) {
			return unix.EPERM
		}
	}
	if a.Valid&AttrMode != 0 {
		if !inodeOwnerOrCapable(cr, ino) {
			return unix.EPERM
		}
		g := gid
		if a.Valid&AttrGID != 0 {
			g = a.GID
		}
		// Also check the setgid bit!
		if !inGroupOrCapable(cr, ino, g) {
			a.Mode &^= unix.S_ISGID
		}
	}
	if a.Valid&(AttrAtimeSet|AttrMtimeSet) != 0 && !inodeOwnerOrCapable(cr, ino) {
		return unix.EPERM
	}
	if a.Valid&AttrTouch != 0 && !inodeOwnerOrCapable(cr, ino) {
		if err := InodePermission(cr, ino, MayWrite); err != nil {
			return err
		}
	}
	return nil
}
