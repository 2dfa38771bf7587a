// Package ns models Linux namespaces: the refcounted nsproxy that tasks
// with identical namespaces share, each namespace type with its inode
// number, owning user namespace and per-type limit, and the two functions
// that build them, CopyNamespaces and CreateNewNamespaces
// (kernel/nsproxy.c), with the same checks, order and cascading unwind.
//
// The package knows nothing of KVM or of tasks: the guest kernel passes
// in the creator's credentials (its user namespace, euid, and whether it
// holds CAP_SYS_ADMIN where it matters) and a fault-injection hook.
//
// What each namespace holds: UTS names (sethostname is observable), IPC
// (SysV message queues, in guestkernel), PID (numbering, levels, the
// reaper and the "adding" state), user (levels, owner, uid/gid maps).
// nsvm has no mounts, network or cgroups yet: those namespaces are
// modelled for identity and lifetime only (an inode number, a refcount,
// an owner), which is all a program can observe of them today.
package ns

import (
	"errors"
	"fmt"
)

// Kind is a namespace type.
type Kind int

// The namespace types, in create_new_namespaces order (user is not in the
// nsproxy: it lives in the credentials).
const (
	Mnt Kind = iota
	UTS
	IPC
	PID
	Cgroup
	Net
	Time
	User
	NumKinds
)

// Clone flags of the namespace types.
const (
	CloneNewTime   = 0x00000080
	CloneNewNS     = 0x00020000
	CloneNewCgroup = 0x02000000
	CloneNewUTS    = 0x04000000
	CloneNewIPC    = 0x08000000
	CloneNewUser   = 0x10000000
	CloneNewPID    = 0x20000000
	CloneNewNet    = 0x40000000

	// AllNS are the flags copy_namespaces handles (not CLONE_NEWUSER).
	AllNS = CloneNewNS | CloneNewUTS | CloneNewIPC | CloneNewPID | CloneNewNet | CloneNewCgroup | CloneNewTime
)

var kindInfo = [NumKinds]struct {
	name string
	flag uint64
	// initInum is the fixed inode of the initial namespace
	// (include/linux/proc_ns.h); 0 means allocated at boot.
	initInum uint32
}{
	Mnt:    {"mnt", CloneNewNS, 0},
	UTS:    {"uts", CloneNewUTS, 0xEFFFFFFE},
	IPC:    {"ipc", CloneNewIPC, 0xEFFFFFFF},
	PID:    {"pid", CloneNewPID, 0xEFFFFFFC},
	Cgroup: {"cgroup", CloneNewCgroup, 0xEFFFFFFB},
	Net:    {"net", CloneNewNet, 0},
	Time:   {"time", CloneNewTime, 0xEFFFFFFA},
	User:   {"user", CloneNewUser, 0xEFFFFFFD},
}

func (k Kind) String() string { return kindInfo[k].name }

// Flag is the CLONE_NEW* flag of the type.
func (k Kind) Flag() uint64 { return kindInfo[k].flag }

// KindOfFlag returns the type of a single CLONE_NEW* flag.
func KindOfFlag(flag uint64) (Kind, bool) {
	for k := Kind(0); k < NumKinds; k++ {
		if kindInfo[k].flag == flag {
			return k, true
		}
	}
	return 0, false
}

// Namespace is what every namespace type has (struct ns_common).
type Namespace interface {
	Base() *Common
}

// Common is struct ns_common plus the owner.
type Common struct {
	Kind  Kind
	Inum  uint32
	Owner *UserNS // the user namespace that owns it (nil for init_user_ns)
	Refs  int
	// creatorUID is the euid the creation was charged to (ucounts).
	creatorUID uint32
}

// Base returns the common part (Namespace).
func (c *Common) Base() *Common { return c }

// Link is what readlink of /proc/<pid>/ns/<type> shows: "uts:[4026531838]".
func Link(n Namespace) string {
	c := n.Base()
	return fmt.Sprintf("%s:[%d]", c.Kind, c.Inum)
}

// Errors, compared directly by the guest kernel and turned into errnos.
var (
	ErrNoSpace = errors.New("ENOSPC") // a max_*_namespaces limit, or nesting depth
	ErrNoMem   = errors.New("ENOMEM") // allocation (fault injection)
	ErrPerm    = errors.New("EPERM")
	ErrInval   = errors.New("EINVAL")
)

// FailHook decides whether the allocation at site fails (fault
// injection); nil never fails.
type FailHook func(site string) bool

func (f FailHook) fail(site string) bool { return f != nil && f(site) }

// MaxPIDNSLevel is MAX_PID_NS_LEVEL: pid namespaces nest 32 deep.
const MaxPIDNSLevel = 32

// maxUserNSLevel: creation fails when the parent's level is above 32.
const maxUserNSLevel = 32
