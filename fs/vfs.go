package fs

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// AllocHook is asked before every allocation the VFS and its file
// systems make, with the site's name (one of the Site* constants). A
// non-nil error fails the allocation: the operation unwinds and returns
// that error, which should be an errno (ENOMEM, as failslab makes it).
// The guest kernel plugs its fault injector in here.
type AllocHook func(site string) error

// Allocation sites, named after the kernel function that allocates.
const (
	SiteDentry   = "d_alloc"          // struct dentry (__d_alloc)
	SiteInode    = "new_inode"        // struct inode (alloc_inode)
	SiteFile     = "alloc_empty_file" // struct file
	SiteMount    = "alloc_vfsmnt"     // struct mount
	SiteMntNS    = "copy_mnt_ns"      // struct mnt_namespace (alloc_mnt_ns)
	SiteSuper    = "alloc_super"      // struct super_block
	SiteFSStruct = "copy_fs_struct"   // struct fs_struct
	SitePage     = "shmem_alloc_page" // a page of tmpfs file data
)

// Kind is a kind of object the VFS counts for the leak auditor.
type Kind int

// The counted kinds.
const (
	KindDentry Kind = iota
	KindInode
	KindFile
	KindMount
	KindMntNS
	KindSuper
	KindFSStruct
	KindPage
	NumKinds
)

var kindNames = [NumKinds]string{"dentries", "inodes", "files", "mounts", "mnt_namespaces", "super_blocks", "fs_structs", "pages"}

func (k Kind) String() string { return kindNames[k] }

// Counts is a snapshot of the live objects of every kind.
type Counts [NumKinds]int64

func (c Counts) String() string {
	var b strings.Builder
	for k := Kind(0); k < NumKinds; k++ {
		if k > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, c[k])
	}
	return b.String()
}

// Diff describes how c differs from base ("" when equal), for an
// auditor's report.
func (c Counts) Diff(base Counts) string {
	var parts []string
	for k := Kind(0); k < NumKinds; k++ {
		if c[k] != base[k] {
			parts = append(parts, fmt.Sprintf("%s %d→%d", k, base[k], c[k]))
		}
	}
	return strings.Join(parts, ", ")
}

// VFS is one kernel's virtual file system: the dentry and mount trees,
// the registered file system types, the allocation hook and the object
// counters. Tests and guest kernels each make their own; nothing is
// global.
//
// Locking. One mutex, mu, stands for Linux's namespace_sem, mount_lock,
// rename_lock and the d_lock/i_lock spin locks together: every path walk
// and every change to the dentry or mount trees, and every dentry, inode
// and mount reference count, is under it. The guest kernel runs its
// tasks on one vCPU, so nothing is lost by serialising namespace
// operations, and the walk needs none of RCU-walk's retry logic. File
// data (read, write, readdir, page lookup) does not take mu: it takes
// the inode's own mutex (Inode.mu, i_rwsem), which also guards the
// inode's attributes. Lock order: VFS.mu, then Inode.mu, then File.mu is
// never held across either.
type VFS struct {
	hook AllocHook
	live [NumKinds]atomic.Int64

	// mu guards everything below, and the dentry, mount and namespace
	// trees (see the type comment).
	mu        sync.Mutex
	mountHash map[mountKey]*Mount
	shadowed  map[*Mount]*Mount // a mount → the one it covers at the same place
	mountIDs  map[int]bool      // mnt_id_ida
	mountSeq  uint64
	groupIDs  map[int]bool // peer group ids in use (mnt_group_ida)
	nextNSID  uint64
	anonDevs  map[uint32]bool // minors of anonymous devices in use (unnamed_dev_ida)
	types     map[string]*FileSystemType
	special   SpecialOpener
}

// New returns an empty VFS. hook may be nil.
func New(hook AllocHook) *VFS {
	return &VFS{
		hook:      hook,
		mountHash: map[mountKey]*Mount{},
		shadowed:  map[*Mount]*Mount{},
		mountIDs:  map[int]bool{},
		groupIDs:  map[int]bool{},
		nextNSID:  1,
		anonDevs:  map[uint32]bool{},
		types:     map[string]*FileSystemType{},
	}
}

// SetHook replaces the allocation hook (the guest kernel installs its
// injector once the task that will be charged is known).
func (v *VFS) SetHook(h AllocHook) { v.hook = h }

// Alloc asks the hook whether an object of kind k may be allocated at
// site and, if so, counts it live. File systems call it for every object
// they allocate (inodes through NewInode, pages directly).
func (v *VFS) Alloc(site string, k Kind) error {
	if v.hook != nil {
		if err := v.hook(site); err != nil {
			return err
		}
	}
	v.live[k].Add(1)
	return nil
}

// Free counts one object of kind k as gone.
func (v *VFS) Free(k Kind) {
	if v.live[k].Add(-1) < 0 {
		panic("fs: negative live count of " + k.String())
	}
}

// Live returns the number of live objects of each kind.
func (v *VFS) Live() Counts {
	var c Counts
	for k := range c {
		c[k] = v.live[k].Load()
	}
	return c
}

// FileSystemType is struct file_system_type: a name and how to make a
// super block for a mount(2) of that type.
type FileSystemType struct {
	Name string
	// NoDev is FS_REQUIRES_DEV's absence: shown as "nodev" in
	// /proc/filesystems.
	NoDev bool
	// UsernsMount is FS_USERNS_MOUNT: mountable by the owner of a
	// non-initial user namespace.
	UsernsMount bool
	// GetTree makes a super block (vfs_get_tree) for a new mount.
	GetTree func(v *VFS, source string, flags uint64, data string) (*SuperBlock, error)
}

// Register adds a file system type (register_filesystem); EBUSY if the
// name is taken.
func (v *VFS) Register(t *FileSystemType) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.types[t.Name] != nil {
		return unix.EBUSY
	}
	v.types[t.Name] = t
	return nil
}

// Filesystems formats /proc/filesystems.
func (v *VFS) Filesystems() string {
	v.mu.Lock()
	names := make([]string, 0, len(v.types))
	for n := range v.types {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		if v.types[n].NoDev {
			b.WriteString("nodev")
		}
		fmt.Fprintf(&b, "\t%s\n", n)
	}
	v.mu.Unlock()
	return b.String()
}

// allocAnonDev returns a free anonymous device number 0:N
// (get_anon_bdev); minors start at 1 as Linux's do.
func (v *VFS) allocAnonDev() uint64 {
	for m := uint32(1); ; m++ {
		if !v.anonDevs[m] {
			v.anonDevs[m] = true
			return unix.Mkdev(0, m)
		}
	}
}

func (v *VFS) freeAnonDev(dev uint64) {
	if unix.Major(dev) == 0 {
		delete(v.anonDevs, unix.Minor(dev))
	}
}
