package ns

// UTSNS is a UTS namespace: the names uname(2) reports.
type UTSNS struct {
	Common
	Sysname, Nodename, Release, Version, Machine, Domainname string
}

// IPCNS is an IPC namespace. The guest kernel keeps its SysV objects in
// Objects (the ns package does not know their types).
type IPCNS struct {
	Common
	Objects any
}

// MntNS, NetNS and CgroupNS are modelled for identity and lifetime: nsvm
// has no file system, network or cgroups yet.
type (
	MntNS    struct{ Common }
	NetNS    struct{ Common }
	CgroupNS struct{ Common }
)

// TimeNS is a time namespace (its clock offsets are all zero: nsvm has
// no /proc/self/timens_offsets yet).
type TimeNS struct{ Common }

// PIDNS is a PID namespace.
type PIDNS struct {
	Common
	Parent *PIDNS
	Level  int
	// Adding is PIDNS_ADDING: cleared when the init dies or the first
	// fork into the namespace fails after its pid was allocated; then
	// every fork into it fails with ENOMEM.
	Adding bool
	// LastPID is the allocation cursor (cyclic, as alloc_pid's idr).
	LastPID int
	// Used holds the numbers in use at this level.
	Used map[int]bool
	// Allocated counts the pids in use at this level (pid_allocated).
	Allocated int
	// Reaper is the namespace's init task (the guest kernel's type).
	Reaper any
}

// UserNS is a user namespace.
type UserNS struct {
	Common
	Parent   *UserNS
	Level    int
	OwnerUID uint32 // the creator's euid, in the parent namespace
	OwnerGID uint32
	UIDMap   []IDMap
	GIDMap   []IDMap
	// SetgroupsDenied is /proc/<pid>/setgroups = "deny".
	SetgroupsDenied bool
	// counts of namespaces created, per type and creator uid (ucounts).
	counts map[uint32]*[NumKinds]int
	// limits are this namespace's user.max_*_namespaces.
	limits [NumKinds]int
}

// IDMap is one line of uid_map/gid_map: ids [Inside, Inside+Count) of
// this namespace are [Outside, Outside+Count) of the parent.
type IDMap struct{ Inside, Outside, Count uint32 }

// OverflowID is what an unmapped id reads as (overflowuid/overflowgid).
const OverflowID = 65534

// MapToParent translates an id of this namespace to its parent's, or
// reports false when it is unmapped.
func mapID(m []IDMap, id uint32) (uint32, bool) {
	for _, e := range m {
		if id >= e.Inside && id-e.Inside < e.Count {
			return e.Outside + (id - e.Inside), true
		}
	}
	return 0, false
}

func unmapID(m []IDMap, id uint32) (uint32, bool) {
	for _, e := range m {
		if id >= e.Outside && id-e.Outside < e.Count {
			return e.Inside + (id - e.Outside), true
		}
	}
	return 0, false
}

// KUID converts a uid as seen in ns to the initial namespace's (the
// kernel's kuid); false when unmapped.
func (u *UserNS) KUID(uid uint32) (uint32, bool) { return u.toInit(uid, true) }

// KGID is KUID for groups.
func (u *UserNS) KGID(gid uint32) (uint32, bool) { return u.toInit(gid, false) }

func (u *UserNS) toInit(id uint32, uid bool) (uint32, bool) {
	for n := u; n != nil && n.Parent != nil; n = n.Parent {
		m := n.GIDMap
		if uid {
			m = n.UIDMap
		}
		var ok bool
		if id, ok = mapID(m, id); !ok {
			return 0, false
		}
	}
	return id, true
}

// FromKUID converts a kernel uid to what ns shows, OverflowID when it is
// not mapped there (from_kuid_munged).
func (u *UserNS) FromKUID(kuid uint32) uint32 { return u.fromInit(kuid, true) }

// FromKGID is FromKUID for groups.
func (u *UserNS) FromKGID(kgid uint32) uint32 { return u.fromInit(kgid, false) }

func (u *UserNS) fromInit(id uint32, uid bool) uint32 {
	var chain []*UserNS
	for n := u; n != nil && n.Parent != nil; n = n.Parent {
		chain = append(chain, n)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		m := chain[i].GIDMap
		if uid {
			m = chain[i].UIDMap
		}
		var ok bool
		if id, ok = unmapID(m, id); !ok {
			return OverflowID
		}
	}
	return id
}

// IsAncestorOf reports whether u is ns or one of its ancestors.
func (u *UserNS) IsAncestorOf(n *UserNS) bool {
	for ; n != nil; n = n.Parent {
		if n == u {
			return true
		}
	}
	return false
}

// Nsproxy is struct nsproxy: the namespaces a task uses, shared by every
// task whose namespaces are identical (copy on change).
type Nsproxy struct {
	Refs            int
	UTS             *UTSNS
	IPC             *IPCNS
	Mnt             *MntNS
	PIDForChildren  *PIDNS
	Net             *NetNS
	Time            *TimeNS
	TimeForChildren *TimeNS
	Cgroup          *CgroupNS
}

// Get returns the namespace of kind k in the proxy (pid: for children).
func (p *Nsproxy) Get(k Kind) Namespace {
	switch k {
	case Mnt:
		return p.Mnt
	case UTS:
		return p.UTS
	case IPC:
		return p.IPC
	case PID:
		return p.PIDForChildren
	case Cgroup:
		return p.Cgroup
	case Net:
		return p.Net
	case Time:
		return p.Time
	}
	return nil
}
