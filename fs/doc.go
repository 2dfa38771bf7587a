// Package fs is nsvm's virtual file system: the objects and algorithms
// of Linux's fs/ core, in Linux's names and Linux's order, without any
// idea of KVM, tasks or system-call ABIs. The guest kernel's syscall
// handlers check their arguments, call in here, and turn the returned
// unix.Errno into the guest's result. File systems live in packages
// below (fs/tmpfs) behind the InodeOperations/FileOperations interfaces.
//
// Where each part comes from:
//
//   - Objects (include/linux/fs.h, dcache.h, mount.h): Inode (struct
//     inode, attributes under its own lock), Dentry (struct dentry: a
//     cache that lives exactly as long as it is referenced, so that the
//     leak auditor's counts are exact), Mount and MountNamespace
//     (struct mount, struct mnt_namespace), File (struct file, an open
//     file description with f_pos and f_flags), FSStruct (struct
//     fs_struct: root, cwd, umask; Copy is copy_fs_struct, Share is
//     CLONE_FS), Path (struct path). Every one is reference counted.
//   - The path walk (fs/namei.c), one state machine: pathInit
//     (path_init), linkPathWalk (link_path_walk, with its stack of
//     pending names for nested symlinks), walkComponent (walk_component),
//     stepInto (step_into → handle_mounts/traverse_mounts → pick_link),
//     handleDots/followDotdot (follow_dotdot with choose_mountpoint and
//     path_connected), lookupLast, pathLookupat, filenameParentat, and
//     for open pathOpenat → openLastLookups → lookupOpen → doOpen →
//     vfsOpen. MAXSYMLINKS (40), PATH_MAX, NAME_MAX, trailing slashes,
//     LOOKUP_FOLLOW/DIRECTORY and openat2's RESOLVE_* scoping rules are
//     all decided there and nowhere else.
//   - Permissions (fs/namei.c, fs/attr.c): InodePermission is
//     inode_permission/generic_permission/acl_permission_check, the one
//     place DAC is decided; mayLookup, mayCreate, mayDelete (with
//     check_sticky), mayOpen, mntWantWrite (EROFS), inodeInitOwner
//     (inode_init_owner, umask, set-group-ID directories) and
//     setattrPrepare (chown_ok, chgrp_ok, setgid stripping, utimes)
//     build on it. Capabilities are asked of the caller's Credentials
//     (CapableWrtInode is capable_wrt_inode_uidgid, NSCapable is
//     ns_capable), so user-namespace logic stays in the guest kernel.
//   - Namespace operations (fs/namei.c, fs/open.c, fs/stat.c):
//     Mkdirat, Mknodat, Symlinkat, Linkat, Unlinkat (do_unlinkat,
//     do_rmdir), Renameat2 (do_renameat2 + vfs_rename, with
//     RENAME_NOREPLACE/EXCHANGE and lock_rename's ancestry traps),
//     Readlinkat, Statat, Fchmodat, Fchownat, Truncate, Utimensat,
//     Faccessat, Statfs, Chdir, Chroot, Getcwd; each checks in the
//     order Linux does, so that the same errno wins.
//   - Mounts (fs/namespace.c, fs/pnode.c): CreateMntNS, CopyMntNS
//     (copy_mnt_ns → copy_tree, with lock_mnt_tree and
//     CL_SHARED_TO_SLAVE for a less privileged owner), Mount
//     (path_mount → do_new_mount, do_loopback, do_change_type,
//     do_reconfigure_mnt, do_remount, do_move_mount), Umount
//     (path_umount → do_umount → umount_tree, MNT_DETACH), peer groups
//     and slaves with propagation of new mounts (propagate_mnt) and of
//     unmounts, MNT_LOCKED and the MNT_LOCK_* flags, and the
//     /proc/<pid>/mountinfo and /proc/<pid>/mounts formatters.
//
// Fault injection and audit: every allocation (dentry, inode, file,
// mount, mount namespace, super block, fs_struct, tmpfs page) first asks
// the VFS's AllocHook with its site name (Site*), and every live object
// is counted per Kind (VFS.Live). An operation that fails part-way
// unwinds what it allocated, in reverse order, so that the counts return
// to what they were; the tests fail the N-th allocation of opens,
// mounts, binds and copy_mnt_ns and check exactly that.
//
// Locking is described on VFS: one lock for the trees and the
// reference counts, per-inode locks for attributes and data.
package fs
