package ns

import "math"

// World is every namespace of one guest: the initial ones, the inode
// allocator (proc_alloc_inum), and the live objects for audits and the
// `nsvm ns` picture.
type World struct {
	InitUser    *UserNS
	InitPID     *PIDNS
	InitNsproxy *Nsproxy
	nextInum    uint32
	// Live lists every namespace alive, in creation order.
	Live []Namespace
	// Proxies counts live nsproxy objects (the audit).
	Proxies int
}

// HostNames are the initial UTS names (the host's).
type HostNames struct {
	Sysname, Nodename, Release, Version, Machine, Domainname string
}

// NewWorld creates the initial namespaces and init_nsproxy. maxNS is the
// initial user.max_*_namespaces (Linux: threads-max / 2).
func NewWorld(names HostNames, maxNS int) *World {
	w := &World{nextInum: 0xF0000000}
	w.InitUser = &UserNS{Common: Common{Kind: User, Inum: kindInfo[User].initInum, Refs: 1},
		UIDMap: []IDMap{{0, 0, math.MaxUint32}}, GIDMap: []IDMap{{0, 0, math.MaxUint32}}}
	for k := range w.InitUser.limits {
		w.InitUser.limits[k] = maxNS
	}
	w.Live = append(w.Live, w.InitUser)
	mk := func(k Kind) Common {
		c := Common{Kind: k, Inum: kindInfo[k].initInum, Refs: 1}
		if c.Inum == 0 {
			c.Inum = w.allocInum()
		}
		return c
	}
	// Linux allocates net's then mnt's inode at boot.
	net := &NetNS{mk(Net)}
	mnt := &MntNS{mk(Mnt)}
	uts := &UTSNS{Common: mk(UTS), Sysname: names.Sysname, Nodename: names.Nodename, Release: names.Release,
		Version: names.Version, Machine: names.Machine, Domainname: names.Domainname}
	ipc := &IPCNS{Common: mk(IPC)}
	w.InitPID = &PIDNS{Common: mk(PID), Adding: true, Used: map[int]bool{}}
	cg := &CgroupNS{mk(Cgroup)}
	tm := &TimeNS{mk(Time)}
	tm.Refs = 2 // time_ns and time_ns_for_children
	w.InitNsproxy = &Nsproxy{Refs: 1, UTS: uts, IPC: ipc, Mnt: mnt, PIDForChildren: w.InitPID, Net: net,
		Time: tm, TimeForChildren: tm, Cgroup: cg}
	w.Proxies = 1
	w.Live = append(w.Live, mnt, uts, ipc, w.InitPID, cg, net, tm)
	return w
}

func (w *World) allocInum() uint32 {
	w.nextInum++
	return w.nextInum
}

// Get takes a reference on a namespace.
func Get[T Namespace](n T) T {
	n.Base().Refs++
	return n
}

// Put drops a reference; the last one frees the namespace and gives its
// charge back.
func (w *World) Put(n Namespace) {
	c := n.Base()
	c.Refs--
	if c.Refs > 0 {
		return
	}
	if c.Owner != nil {
		c.Owner.uncharge(c.Kind, c.creatorUID)
	}
	// free_ipc_ns: the guest kernel's objects in the namespace go too.
	if i, ok := n.(*IPCNS); ok {
		if r, ok := i.Objects.(interface{ Release() }); ok {
			r.Release()
		}
		i.Objects = nil
	}
	if u, ok := n.(*UserNS); ok && u.Parent != nil {
		w.Put(u.Parent)
	}
	if p, ok := n.(*PIDNS); ok && p.Parent != nil {
		w.Put(p.Parent)
	}
	for i, l := range w.Live {
		if l == n {
			w.Live = append(w.Live[:i], w.Live[i+1:]...)
			break
		}
	}
}

// PutProxy drops a reference to an nsproxy (put_nsproxy); the last one
// releases its namespaces (free_nsproxy).
func (w *World) PutProxy(p *Nsproxy) {
	p.Refs--
	if p.Refs > 0 {
		return
	}
	w.Proxies--
	w.Put(p.Mnt)
	w.Put(p.UTS)
	w.Put(p.IPC)
	w.Put(p.PIDForChildren)
	w.Put(p.Cgroup)
	w.Put(p.Net)
	w.Put(p.Time)
	w.Put(p.TimeForChildren)
}

// charge counts a new namespace of kind k created by uid in u against
// u's limit and every ancestor's (inc_ucount): each level must stay
// strictly below its maximum.
func (u *UserNS) charge(k Kind, uid uint32) bool {
	type step struct {
		ns  *UserNS
		uid uint32
	}
	var done []step
	for n, id := u, uid; n != nil; id, n = n.OwnerUID, n.Parent {
		if n.counts == nil {
			n.counts = map[uint32]*[NumKinds]int{}
		}
		c := n.counts[id]
		if c == nil {
			c = &[NumKinds]int{}
			n.counts[id] = c
		}
		if c[k] >= n.limits[k] {
			for _, s := range done {
				s.ns.counts[s.uid][k]--
			}
			return false
		}
		c[k]++
		done = append(done, step{n, id})
	}
	return true
}

func (u *UserNS) uncharge(k Kind, uid uint32) {
	for n, id := u, uid; n != nil; id, n = n.OwnerUID, n.Parent {
		if c := n.counts[id]; c != nil && c[k] > 0 {
			c[k]--
			if *c == ([NumKinds]int{}) {
				// put_ucounts: the last reference frees the
				// entry, so that the uids a guest tries do not
				// pile up.
				delete(n.counts, id)
			}
		}
	}
}

// SetLimit sets u's user.max_<k>_namespaces (as writing the sysctl in u).
func (u *UserNS) SetLimit(k Kind, v int) { u.limits[k] = v }

// Limit returns u's user.max_<k>_namespaces.
func (u *UserNS) Limit(k Kind) int { return u.limits[k] }

// newCommon allocates the common part of a namespace of kind k owned by
// user, charging creator: ENOSPC over the limit, ENOMEM on an injected
// allocation failure.
func (w *World) newCommon(k Kind, user *UserNS, creator uint32, fail FailHook, site string) (Common, error) {
	if !user.charge(k, creator) {
		return Common{}, ErrNoSpace
	}
	if fail.fail(site) {
		user.uncharge(k, creator)
		return Common{}, ErrNoMem
	}
	return Common{Kind: k, Inum: w.allocInum(), Owner: user, Refs: 1, creatorUID: creator}, nil
}

// Creator is who creates namespaces: the user namespace of its new
// credentials, its euid there (for ucounts), and its active pid
// namespace (copy_pid_ns checks it).
type Creator struct {
	User      *UserNS
	EUID      uint32
	ActivePID *PIDNS
}

// CreateNewNamespaces is create_new_namespaces(): a new nsproxy whose
// namespaces are new for the flags given and shared with old for the
// rest, in Linux's order (mnt, uts, ipc, pid, cgroup, net, time) with
// the cascading unwind.
func (w *World) CreateNewNamespaces(flags uint64, old *Nsproxy, cr Creator, fail FailHook) (*Nsproxy, error) {
	if fail.fail("create_nsproxy") {
		return nil, ErrNoMem
	}
	n := &Nsproxy{Refs: 1}
	var err error
	if n.Mnt, err = w.copyMnt(flags, old, cr, fail); err != nil {
		goto outNS
	}
	if n.UTS, err = w.copyUTS(flags, old, cr, fail); err != nil {
		goto outUTS
	}
	if n.IPC, err = w.copyIPC(flags, old, cr, fail); err != nil {
		goto outIPC
	}
	if n.PIDForChildren, err = w.copyPID(flags, old, cr, fail); err != nil {
		goto outPID
	}
	if n.Cgroup, err = w.copyCgroup(flags, old, cr, fail); err != nil {
		goto outCgroup
	}
	if n.Net, err = w.copyNet(flags, old, cr, fail); err != nil {
		goto outNet
	}
	if n.TimeForChildren, err = w.copyTime(flags, old, cr, fail); err != nil {
		goto outTime
	}
	n.Time = Get(old.Time)
	w.Proxies++
	return n, nil

	// Unwind, in reverse order.
outTime:
	w.Put(n.Net)
outNet:
	w.Put(n.Cgroup)
outCgroup:
	w.Put(n.PIDForChildren)
outPID:
	w.Put(n.IPC)
outIPC:
	w.Put(n.UTS)
outUTS:
	w.Put(n.Mnt)
outNS:
	return nil, err
}

func (w *World) copyMnt(flags uint64, old *Nsproxy, cr Creator, fail FailHook) (*MntNS, error) {
	if flags&CloneNewNS == 0 {
		return Get(old.Mnt), nil
	}
	c, err := w.newCommon(Mnt, cr.User, cr.EUID, fail, "copy_mnt_ns")
	if err != nil {
		return nil, err
	}
	n := &MntNS{c}
	w.Live = append(w.Live, n)
	return n, nil
}

func (w *World) copyUTS(flags uint64, old *Nsproxy, cr Creator, fail FailHook) (*UTSNS, error) {
	if flags&CloneNewUTS == 0 {
		return Get(old.UTS), nil
	}
	c, err := w.newCommon(UTS, cr.User, cr.EUID, fail, "copy_utsname")
	if err != nil {
		return nil, err
	}
	o := old.UTS
	// A copy of the old names: uname() is unchanged until set.
	n := &UTSNS{Common: c, Sysname: o.Sysname, Nodename: o.Nodename, Release: o.Release,
		Version: o.Version, Machine: o.Machine, Domainname: o.Domainname}
	w.Live = append(w.Live, n)
	return n, nil
}

func (w *World) copyIPC(flags uint64, old *Nsproxy, cr Creator, fail FailHook) (*IPCNS, error) {
	if flags&CloneNewIPC == 0 {
		return Get(old.IPC), nil
	}
	c, err := w.newCommon(IPC, cr.User, cr.EUID, fail, "copy_ipcs")
	if err != nil {
		return nil, err
	}
	n := &IPCNS{Common: c} // empty: no SysV objects
	w.Live = append(w.Live, n)
	return n, nil
}

// copyPID is copy_pid_ns: a new child of old's pid_ns_for_children.
func (w *World) copyPID(flags uint64, old *Nsproxy, cr Creator, fail FailHook) (*PIDNS, error) {
	parent := old.PIDForChildren
	if flags&CloneNewPID == 0 {
		return Get(parent), nil
	}
	// Only from the namespace one is in: not after an unshare(NEWPID)
	// that has not forked yet, nor from a setns'd pid_for_children.
	if cr.ActivePID != parent {
		return nil, ErrInval
	}
	if parent.Level+1 > MaxPIDNSLevel {
		return nil, ErrNoSpace
	}
	c, err := w.newCommon(PID, cr.User, cr.EUID, fail, "copy_pid_ns")
	if err != nil {
		return nil, err
	}
	n := &PIDNS{Common: c, Parent: Get(parent), Level: parent.Level + 1, Adding: true, Used: map[int]bool{}}
	w.Live = append(w.Live, n)
	return n, nil
}

func (w *World) copyCgroup(flags uint64, old *Nsproxy, cr Creator, fail FailHook) (*CgroupNS, error) {
	if flags&CloneNewCgroup == 0 {
		return Get(old.Cgroup), nil
	}
	c, err := w.newCommon(Cgroup, cr.User, cr.EUID, fail, "copy_cgroup_ns")
	if err != nil {
		return nil, err
	}
	n := &CgroupNS{c}
	w.Live = append(w.Live, n)
	return n, nil
}

func (w *World) copyNet(flags uint64, old *Nsproxy, cr Creator, fail FailHook) (*NetNS, error) {
	if flags&CloneNewNet == 0 {
		return Get(old.Net), nil
	}
	c, err := w.newCommon(Net, cr.User, cr.EUID, fail, "copy_net_ns")
	if err != nil {
		return nil, err
	}
	n := &NetNS{c}
	w.Live = append(w.Live, n)
	return n, nil
}

func (w *World) copyTime(flags uint64, old *Nsproxy, cr Creator, fail FailHook) (*TimeNS, error) {
	if flags&CloneNewTime == 0 {
		return Get(old.TimeForChildren), nil
	}
	c, err := w.newCommon(Time, cr.User, cr.EUID, fail, "copy_time_ns")
	if err != nil {
		return nil, err
	}
	n := &TimeNS{c}
	w.Live = append(w.Live, n)
	return n, nil
}

const cloneVM = 0x100
const cloneSysVSem = 0x40000

// CopyNamespaces is copy_namespaces() for a child being forked: share
// the parent's nsproxy when no CLONE_NEW* flag asks otherwise, else build
// one. capAdmin says whether the child's credentials hold CAP_SYS_ADMIN
// in cr.User (the new user namespace when CLONE_NEWUSER came first).
func (w *World) CopyNamespaces(flags uint64, old *Nsproxy, cr Creator, capAdmin bool, fail FailHook) (*Nsproxy, error) {
	if flags&AllNS == 0 {
		// Threads and vfork children stay in the parent's time
		// namespace; others enter time_for_children if it differs.
		if old.Time == old.TimeForChildren || flags&cloneVM != 0 {
			old.Refs++
			return old, nil
		}
	} else {
		if !capAdmin {
			return nil, ErrPerm
		}
		if flags&(CloneNewIPC|cloneSysVSem) == CloneNewIPC|cloneSysVSem {
			return nil, ErrInval
		}
	}
	n, err := w.CreateNewNamespaces(flags, old, cr, fail)
	if err != nil {
		return nil, err
	}
	// timens_on_fork: a new process runs in time_for_children.
	if flags&cloneVM == 0 && n.Time != n.TimeForChildren {
		w.Put(n.Time)
		n.Time = Get(n.TimeForChildren)
	}
	return n, nil
}

// NewUserNS is create_user_ns(): a child of parent owned by (uid, gid)
// as seen in parent. Its own limits start unbounded (ancestors' apply).
func (w *World) NewUserNS(parent *UserNS, uid, gid uint32, fail FailHook) (*UserNS, error) {
	if parent.Level > maxUserNSLevel {
		return nil, ErrNoSpace
	}
	c, err := w.newCommon(User, parent, uid, fail, "create_user_ns")
	if err != nil {
		return nil, err
	}
	n := &UserNS{Common: c, Parent: Get(parent), Level: parent.Level + 1, OwnerUID: uid, OwnerGID: gid}
	for k := range n.limits {
		n.limits[k] = math.MaxInt32
	}
	w.Live = append(w.Live, n)
	return n, nil
}
