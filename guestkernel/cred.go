package guestkernel

// Credentials (kernel/cred.c, kernel/sys.c, security/commoncap.c): ids as
// kernel ids (kuid/kgid: the initial user namespace's numbers), the user
// namespace they live in, and the capability sets. Permission checks are
// ns_capable: a capability counts in a user namespace if the task holds
// it in its own namespace and that one is the target or an ancestor of
// it, or if the task owns the target's parent... (cap_capable).

import (
	"golang.org/x/sys/unix"

	"github.com/nsvm/nsvm/ns"
)

// Capabilities nsvm checks.
const (
	capChown        = 0
	capSetgid       = 6
	capSetuid       = 7
	capSetpcap      = 8
	capSysChroot    = 18
	capSysAdmin     = 21
	capSysResource  = 24
	capLastCap      = 40
	capFull         = uint64(1)<<(capLastCap+1) - 1
	linuxCapV3      = 0x20080522
	linuxCapV1      = 0x19980330
	linuxCapV2      = 0x20071026
	overflowID      = ns.OverflowID
	invalidID       = ^uint32(0)
	capabilityU32s3 = 2
)

// copyCred returns a private copy of c (prepare_creds); the caller takes
// the reference on its user namespace (see takeUserNS).
func (k *Kernel) copyCred(c *cred) *cred {
	n := *c
	n.refs = 1
	k.Stats.LiveCreds++
	return &n
}

// takeUserNS takes the reference a new cred holds on its user namespace.
func (k *Kernel) takeUserNS(c *cred) {
	if c.userNS != k.nsw.InitUser {
		ns.Get(c.userNS)
	}
}

// commitCred installs n as t's credentials (commit_creds).
func (k *Kernel) commitCred(t *Task, n *cred) {
	old := t.cred
	t.cred = n
	k.putCred(old)
}

func (k *Kernel) putCred(c *cred) {
	c.refs--
	if c.refs == 0 {
		k.Stats.LiveCreds--
		if c.userNS != nil && c.userNS != k.nsw.InitUser {
			k.nsw.Put(c.userNS)
		}
	}
}

// nsCapable is ns_capable(target, cap) for t's credentials.
func (k *Kernel) nsCapable(t *Task, target *ns.UserNS, cap int) bool {
	if target == nil {
		target = k.nsw.InitUser
	}
	c := t.cred
	for n := target; ; n = n.Parent {
		if n == c.userNS {
			return c.capEff&(1<<cap) != 0
		}
		if n.Parent == nil {
			return false
		}
		// The owner of a namespace has every capability in it.
		if n.Parent == c.userNS && n.OwnerUID == c.euid {
			return true
		}
	}
}

// capable checks cap in t's own user namespace... of the initial one
// (capable()).
func (k *Kernel) capable(t *Task, cap int) bool { return k.nsCapable(t, k.nsw.InitUser, cap) }

// ids as the task sees them (from_kuid_munged).
func (t *Task) viewUID(kuid uint32) uint32 { return t.cred.userNS.FromKUID(kuid) }
func (t *Task) viewGID(kgid uint32) uint32 { return t.cred.userNS.FromKGID(kgid) }

func sysGetuid(t *Task, a *args) int64  { return int64(t.viewUID(t.cred.uid)) }
func sysGeteuid(t *Task, a *args) int64 { return int64(t.viewUID(t.cred.euid)) }
func sysGetgid(t *Task, a *args) int64  { return int64(t.viewGID(t.cred.gid)) }
func sysGetegid(t *Task, a *args) int64 { return int64(t.viewGID(t.cred.egid)) }

// sysGetresuid: getresuid(ruid, euid, suid).
func sysGetresuid(t *Task, a *args) int64 {
	c := t.cred
	return t.putIDs(a, [3]uint32{t.viewUID(c.uid), t.viewUID(c.euid), t.viewUID(c.suid)})
}

// sysGetresgid: getresgid(rgid, egid, sgid).
func sysGetresgid(t *Task, a *args) int64 {
	c := t.cred
	return t.putIDs(a, [3]uint32{t.viewGID(c.gid), t.viewGID(c.egid), t.viewGID(c.sgid)})
}

func (t *Task) putIDs(a *args, ids [3]uint32) int64 {
	for i, id := range ids {
		if e := t.mm.writeU32(a[i], id); e != 0 {
			return errno(e)
		}
	}
	return 0
}

// mapIDs turns the syscall's ids (-1: unchanged) into kernel ids.
func (t *Task) mapIDs(raw []uint64, uid bool) ([]uint32, unix.Errno) {
	out := make([]uint32, len(raw))
	for i, r := range raw {
		id := uint32(r)
		if id == invalidID {
			out[i] = invalidID
			continue
		}
		var k uint32
		var ok bool
		if uid {
			k, ok = t.cred.userNS.KUID(id)
		} else {
			k, ok = t.cred.userNS.KGID(id)
		}
		if !ok {
			return nil, unix.EINVAL
		}
		out[i] = k
	}
	return out, 0
}

// setres is __sys_setresuid/__sys_setresgid: without CAP_SETUID (or
// CAP_SETGID) each new id must be one of the current three.
func (t *Task) setres(a *args, uid bool) int64 {
	ids, e := t.mapIDs([]uint64{a[0], a[1], a[2]}, uid)
	if e != 0 {
		return errno(e)
	}
	c := t.cred
	cur := []uint32{c.gid, c.egid, c.sgid}
	cap := capSetgid
	if uid {
		cur, cap = []uint32{c.uid, c.euid, c.suid}, capSetuid
	}
	if !t.k.nsCapable(t, c.userNS, cap) {
		for _, id := range ids {
			if id != invalidID && id != cur[0] && id != cur[1] && id != cur[2] {
				return errno(unix.EPERM)
			}
		}
	}
	n := t.k.copyCred(c)
	t.k.takeUserNS(n)
	set := func(dst *uint32, v uint32) {
		if v != invalidID {
			*dst = v
		}
	}
	if uid {
		set(&n.uid, ids[0])
		set(&n.euid, ids[1])
		set(&n.suid, ids[2])
		n.fsuid = n.euid
		capEmulateSetxuid(c, n)
	} else {
		set(&n.gid, ids[0])
		set(&n.egid, ids[1])
		set(&n.sgid, ids[2])
		n.fsgid = n.egid
	}
	t.k.commitCred(t, n)
	return 0
}

// capEmulateSetxuid is cap_emulate_setxuid: leaving root drops the
// capabilities, as a uid-0 process losing uid 0 must.
func capEmulateSetxuid(old, n *cred) {
	root, ok := old.userNS.KUID(0)
	if !ok {
		root = invalidID
	}
	wasRoot := old.uid == root || old.euid == root || old.suid == root
	if wasRoot && n.uid != root && n.euid != root && n.suid != root {
		n.capPrm, n.capEff = 0, 0
	}
	if old.euid == root && n.euid != root {
		n.capEff = 0
	}
	if old.euid != root && n.euid == root {
		n.capEff = n.capPrm
	}
}

func sysSetresuid(t *Task, a *args) int64 { return t.setres(a, true) }
func sysSetresgid(t *Task, a *args) int64 { return t.setres(a, false) }

// sysSetuid: setuid(uid): with CAP_SETUID all three ids, else the
// effective one if it is the real or saved id.
func sysSetuid(t *Task, a *args) int64 {
	if t.k.nsCapable(t, t.cred.userNS, capSetuid) {
		return t.setres(&args{a[0], a[0], a[0]}, true)
	}
	return t.setres(&args{uint64(invalidID), a[0], uint64(invalidID)}, true)
}

// sysSetgid: setgid(gid).
func sysSetgid(t *Task, a *args) int64 {
	if t.k.nsCapable(t, t.cred.userNS, capSetgid) {
		return t.setres(&args{a[0], a[0], a[0]}, false)
	}
	return t.setres(&args{uint64(invalidID), a[0], uint64(invalidID)}, false)
}

// sysSetgroups: setgroups(n, list): nsvm keeps no supplementary groups;
// only the permission checks are real (CAP_SETGID, and "deny" in a user
// namespace's setgroups file).
func sysSetgroups(t *Task, a *args) int64 {
	if int32(a[0]) < 0 || a[0] > 65536 {
		return errno(unix.EINVAL)
	}
	if !t.k.nsCapable(t, t.cred.userNS, capSetgid) || t.cred.userNS.SetgroupsDenied {
		return errno(unix.EPERM)
	}
	return 0
}

// sysGetgroups: no supplementary groups.
func sysGetgroups(t *Task, a *args) int64 {
	if int32(a[0]) < 0 {
		return errno(unix.EINVAL)
	}
	return 0
}

// capHeader reads a __user_cap_header_struct (cap_validate_magic): it
// returns how many 32-bit words the data array has for the version, and
// the pid. An unknown version gets the kernel's preferred version written
// back and EINVAL.
func (t *Task) capHeader(addr uint64) (words int, pid int32, e unix.Errno) {
	var h [8]byte
	if e := t.mm.copyIn(h[:], addr); e != 0 {
		return 0, 0, e
	}
	pid = int32(le.Uint32(h[4:]))
	switch le.Uint32(h[:]) {
	case linuxCapV1:
		return 1, pid, 0
	case linuxCapV2, linuxCapV3:
		return 2, pid, 0
	}
	le.PutUint32(h[:], linuxCapV3)
	if e := t.mm.copyOut(addr, h[:4]); e != 0 {
		return 0, 0, e
	}
	return 0, 0, unix.EINVAL
}

// sysCapget: capget(header, data), version 3 (and 1/2).
func sysCapget(t *Task, a *args) int64 {
	n, pid, e := t.capHeader(a[0])
	if a[1] == 0 {
		// A version probe: with no data pointer only a bad header
		// address fails; an unknown version was written back.
		if e == unix.EINVAL {
			return 0
		}
		return errno(e)
	}
	if e != 0 {
		return errno(e)
	}
	if pid < 0 {
		return errno(unix.EINVAL)
	}
	target := t
	if pid != 0 {
		if target = t.k.findThread(t, int(pid)); target == nil {
			return errno(unix.ESRCH)
		}
	}
	c := target.cred
	d := make([]byte, 12*n)
	for i := range n {
		le.PutUint32(d[i*12:], uint32(c.capEff>>(32*i)))
		le.PutUint32(d[i*12+4:], uint32(c.capPrm>>(32*i)))
		le.PutUint32(d[i*12+8:], uint32(c.capInh>>(32*i)))
	}
	return errno(t.mm.copyOut(a[1], d))
}

// sysCapset: capset(header, data) for the caller: new sets must be
// subsets of what the rules allow (cap_capset).
func sysCapset(t *Task, a *args) int64 {
	n, pid, e := t.capHeader(a[0])
	if e != 0 {
		return errno(e)
	}
	if pid != 0 && int(pid) != t.k.tidInNS(t, t) {
		return errno(unix.EPERM)
	}
	d := make([]byte, 12*n)
	if e := t.mm.copyIn(d, a[1]); e != 0 {
		return errno(e)
	}
	var eff, prm, inh uint64
	for i := range n {
		eff |= uint64(le.Uint32(d[i*12:])) << (32 * i)
		prm |= uint64(le.Uint32(d[i*12+4:])) << (32 * i)
		inh |= uint64(le.Uint32(d[i*12+8:])) << (32 * i)
	}
	c := t.cred
	if prm&^c.capPrm != 0 || eff&^prm != 0 {
		return errno(unix.EPERM)
	}
	if inh&^(c.capInh|c.capPrm) != 0 && !t.k.nsCapable(t, c.userNS, capSetpcap) {
		return errno(unix.EPERM)
	}
	if inh&^(c.capInh|c.capBnd) != 0 {
		return errno(unix.EPERM)
	}
	nc := t.k.copyCred(c)
	t.k.takeUserNS(nc)
	nc.capEff, nc.capPrm, nc.capInh = eff&capFull, prm&capFull, inh&capFull
	t.k.commitCred(t, nc)
	return 0
}
