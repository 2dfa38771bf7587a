package guestkernel

// Namespaces from the task's side: the copy_namespaces hook of
// copy_process, unshare(2) (ksys_unshare), setns(2), and the UTS
// syscalls. The namespaces themselves live in package ns.

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/nsvm/nsvm/ns"
)

// nsErrno maps package ns's errors to errnos.
func nsErrno(err error) unix.Errno {
	switch {
	case errors.Is(err, ns.ErrNoSpace):
		return unix.ENOSPC
	case errors.Is(err, ns.ErrPerm):
		return unix.EPERM
	case errors.Is(err, ns.ErrInval):
		return unix.EINVAL
	}
	return unix.ENOMEM
}

// nsFail adapts fault injection to package ns's hook.
func (k *Kernel) nsFail(t *Task) ns.FailHook {
	if k.cfg.Fault == nil {
		return nil
	}
	return func(site string) bool { return k.shouldFail(t, failSite(site)) }
}

// copyNamespaces is copy_namespaces (S19): share the parent's nsproxy,
// or build one; the permission is CAP_SYS_ADMIN in the child's user
// namespace, which is already the new one after CLONE_NEWUSER.
func (k *Kernel) copyNamespaces(p *Task, flags uint64) unix.Errno {
	// Only a request for new namespaces allocates (a site); sharing
	// the parent's nsproxy does not.
	if flags&ns.AllNS != 0 && k.shouldFail(p, siteNamespaces) {
		return unix.ENOMEM
	}
	// The child has no pid yet: its active namespace is the parent's.
	cr := ns.Creator{User: p.cred.userNS, EUID: p.cred.euid, ActivePID: k.current.activePIDNS()}
	n, err := k.nsw.CopyNamespaces(flags, p.nsproxy, cr, k.nsCapable(p, p.cred.userNS, capSysAdmin), k.nsFail(p))
	if err != nil {
		return nsErrno(err)
	}
	p.nsproxy = n
	return 0
}

// exitTaskNamespaces drops the task's nsproxy (exit_task_namespaces).
func (k *Kernel) exitTaskNamespaces(p *Task) {
	if p.nsproxy != nil {
		k.nsw.PutProxy(p.nsproxy)
		p.nsproxy = nil
	}
}

// copyCredsNewUser is the CLONE_NEWUSER part of copy_creds: the child's
// new credentials live in a new user namespace, owned by the parent's
// euid, with every capability in it.
func (k *Kernel) newUserNSCred(t *Task, c *cred) (*cred, unix.Errno) {
	u, err := k.nsw.NewUserNS(c.userNS, c.euid, c.egid, k.nsFail(t))
	if err != nil {
		return nil, nsErrno(err)
	}
	n := k.copyCred(c)
	n.userNS = u
	n.capEff, n.capPrm, n.capBnd, n.capInh = capFull, capFull, capFull, 0
	return n, 0
}

// unshare flags.
const unshareAllowed = cloneThread | cloneFS | cloneNewNS | cloneSighand | cloneVM | cloneFiles |
	cloneSysVSem | cloneNewUTS | cloneNewIPC | cloneNewNet | cloneNewUser | cloneNewPID | cloneNewCgroup | cloneNewTime

// sysUnshare: unshare(flags), ksys_unshare's order (spec §2.4).
func sysUnshare(t *Task, a *args) int64 {
	k := t.k
	flags := a[0]
	// 1. implied flags.
	if flags&cloneNewUser != 0 {
		flags |= cloneThread | cloneFS
	}
	if flags&cloneVM != 0 {
		flags |= cloneSighand
	}
	if flags&cloneSighand != 0 {
		flags |= cloneThread
	}
	if flags&cloneNewNS != 0 {
		flags |= cloneFS
	}
	// 2. check_unshare_flags.
	if flags&^uint64(unshareAllowed) != 0 {
		return errno(unix.EINVAL)
	}
	if flags&(cloneThread|cloneSighand|cloneVM) != 0 {
		if len(t.tg.threads) > 1 {
			return errno(unix.EINVAL)
		}
	}
	if flags&(cloneSighand|cloneVM) != 0 && t.sighand.refs > 1 {
		return errno(unix.EINVAL)
	}
	if flags&cloneVM != 0 && t.mm.users > 1 {
		return errno(unix.EINVAL)
	}
	// 4-5: a private fs_struct and fd table.
	var newFS *fsStruct
	if flags&cloneFS != 0 && t.fs.users > 1 {
		newFS = &fsStruct{umask: t.fs.umask, users: 1}
	}
	var newFiles *fdTable
	if flags&cloneFiles != 0 && t.files.refs > 1 {
		var e unix.Errno
		if newFiles, e = t.files.dup(); e != 0 {
			return errno(e)
		}
	}
	// 6: a new user namespace.
	var newCred *cred
	if flags&cloneNewUser != 0 {
		var e unix.Errno
		if newCred, e = k.newUserNSCred(t, t.cred); e != 0 {
			if newFiles != nil {
				newFiles.put()
			}
			return errno(e)
		}
	}
	// 7: unshare_nsproxy_namespaces.
	var newNS *ns.Nsproxy
	if flags&ns.AllNS != 0 {
		c := t.cred
		if newCred != nil {
			c = newCred
		}
		saved := t.cred
		t.cred = c
		ok := k.nsCapable(t, c.userNS, capSysAdmin)
		t.cred = saved
		var err error
		if !ok {
			err = ns.ErrPerm
		} else {
			cr := ns.Creator{User: c.userNS, EUID: c.euid, ActivePID: t.activePIDNS()}
			newNS, err = k.nsw.CreateNewNamespaces(flags&ns.AllNS, t.nsproxy, cr, k.nsFail(t))
		}
		if err != nil {
			if newCred != nil {
				k.putCred(newCred)
			}
			if newFiles != nil {
				newFiles.put()
			}
			return errno(nsErrno(err))
		}
	}
	// 9: commit; nothing can fail now.
	if newNS != nil {
		k.nsw.PutProxy(t.nsproxy)
		t.nsproxy = newNS
	}
	if newFS != nil {
		t.fs.users--
		t.fs = newFS
	}
	if newFiles != nil {
		t.files.put()
		t.files = newFiles
	}
	if newCred != nil {
		k.commitCred(t, newCred)
	}
	k.auditPoint()
	return 0
}

// nsFile is an open /proc/<pid>/ns/<type> (nsfs).
type nsFile struct {
	ns   ns.Namespace
	kind ns.Kind
}

// sysSetns: setns(fd, nstype) for namespace fds and pidfds (spec §2.5).
func sysSetns(t *Task, a *args) int64 {
	k := t.k
	nstype := a[1]
	f, e := t.files.get(a[0])
	if e != 0 {
		return errno(e)
	}
	var targets []ns.Namespace
	switch f.kind {
	case fileNS:
		kind := f.nsf.kind
		if nstype != 0 && nstype != kind.Flag() {
			return errno(unix.EINVAL)
		}
		targets = []ns.Namespace{f.nsf.ns}
	case filePidfd:
		const valid = cloneNewNS | cloneNewUTS | cloneNewIPC | cloneNewNet | cloneNewTime | cloneNewUser | cloneNewPID | cloneNewCgroup
		if nstype == 0 || nstype&^uint64(valid) != 0 {
			return errno(unix.EINVAL)
		}
		p := f.pidfd
		if !p.alive() || p.nsproxy == nil {
			return errno(unix.ESRCH)
		}
		// The fixed install order: user, mnt, uts, ipc, pid, cgroup,
		// net, time.
		for _, kd := range []ns.Kind{ns.User, ns.Mnt, ns.UTS, ns.IPC, ns.PID, ns.Cgroup, ns.Net, ns.Time} {
			if nstype&kd.Flag() == 0 {
				continue
			}
			switch kd {
			case ns.User:
				targets = append(targets, p.cred.userNS)
			case ns.PID:
				targets = append(targets, p.activePIDNS())
			default:
				targets = append(targets, p.nsproxy.Get(kd))
			}
		}
	default:
		return errno(unix.EINVAL)
	}
	// Prepare: a private nsproxy, then install each; nothing is
	// committed until all succeed.
	nsp := *t.nsproxy
	nsp.Refs = 1
	newCred := t.cred
	for _, target := range targets {
		c := target.Base()
		owner := c.Owner
		// CAP_SYS_ADMIN over the target (in its owner) and in one's
		// own (possibly new) user namespace.
		saved := t.cred
		t.cred = newCred
		okTarget := k.nsCapable(t, owner, capSysAdmin)
		okOwn := k.nsCapable(t, newCred.userNS, capSysAdmin)
		t.cred = saved
		switch n := target.(type) {
		case *ns.UserNS:
			if n == newCred.userNS {
				return errno(unix.EINVAL)
			}
			if len(t.tg.threads) > 1 || t.fs.users > 1 {
				return errno(unix.EINVAL)
			}
			saved := t.cred
			t.cred = newCred
			ok := k.nsCapable(t, n, capSysAdmin)
			t.cred = saved
			if !ok {
				return errno(unix.EPERM)
			}
			nc := *newCred
			nc.userNS = n
			nc.capEff, nc.capPrm, nc.capBnd = capFull, capFull, capFull
			newCred = &nc
		case *ns.PIDNS:
			if !okTarget || !okOwn {
				return errno(unix.EPERM)
			}
			active := t.activePIDNS()
			ok := false
			for x := n; x != nil; x = x.Parent {
				if x == active {
					ok = true
					break
				}
			}
			if !ok {
				return errno(unix.EINVAL)
			}
			nsp.PIDForChildren = n
		case *ns.MntNS:
			if !okTarget || !okOwn {
				return errno(unix.EPERM)
			}
			if t.fs.users > 1 {
				return errno(unix.EINVAL)
			}
			nsp.Mnt = n
		case *ns.TimeNS:
			if len(t.tg.threads) > 1 {
				return errno(unix.EUSERS)
			}
			if !okTarget || !okOwn {
				return errno(unix.EPERM)
			}
			nsp.Time, nsp.TimeForChildren = n, n
		default:
			if !okTarget || !okOwn {
				return errno(unix.EPERM)
			}
			switch n := n.(type) {
			case *ns.UTSNS:
				nsp.UTS = n
			case *ns.IPCNS:
				nsp.IPC = n
			case *ns.NetNS:
				nsp.Net = n
			case *ns.CgroupNS:
				nsp.Cgroup = n
			}
		}
	}
	// Commit: take references on the new proxy's members, drop the old.
	old := t.nsproxy
	np := &nsp
	for _, n := range []ns.Namespace{np.Mnt, np.UTS, np.IPC, np.PIDForChildren, np.Cgroup, np.Net, np.Time, np.TimeForChildren} {
		ns.Get(n)
	}
	k.nsw.Proxies++
	t.nsproxy = np
	k.nsw.PutProxy(old)
	if newCred != t.cred {
		nc := k.copyCred(newCred)
		k.takeUserNS(nc)
		k.commitCred(t, nc)
	}
	k.auditPoint()
	return 0
}

// UTS names.

const newUTSLen = 64

func putUTSField(dst []byte, s string) {
	n := copy(dst[:newUTSLen], s)
	clear(dst[n:])
}

// sysUname: uname(2) from the caller's UTS namespace; the bytes after
// each string are zero (no stale kernel memory, CVE-2012-0957).
func sysUname(t *Task, a *args) int64 {
	u := t.nsproxy.UTS
	var b [6 * (newUTSLen + 1)]byte
	for i, s := range []string{u.Sysname, u.Nodename, u.Release, u.Version, u.Machine, u.Domainname} {
		putUTSField(b[i*(newUTSLen+1):(i+1)*(newUTSLen+1)], s)
	}
	return errno(t.mm.copyOut(a[0], b[:]))
}

// setUTS is sethostname/setdomainname: CAP_SYS_ADMIN in the UTS
// namespace's owner first, then the length, then the copy.
func (t *Task) setUTS(addr, length uint64, domain bool) int64 {
	u := t.nsproxy.UTS
	if !t.k.nsCapable(t, u.Owner, capSysAdmin) {
		return errno(unix.EPERM)
	}
	if int64(length) < 0 || length > newUTSLen {
		return errno(unix.EINVAL)
	}
	b := make([]byte, length)
	if e := t.mm.copyIn(b, addr); e != 0 {
		return errno(e)
	}
	if domain {
		u.Domainname = string(b)
	} else {
		u.Nodename = string(b)
	}
	return 0
}

func sysSethostname(t *Task, a *args) int64   { return t.setUTS(a[0], a[1], false) }
func sysSetdomainname(t *Task, a *args) int64 { return t.setUTS(a[0], a[1], true) }
