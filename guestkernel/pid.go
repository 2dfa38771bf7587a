package guestkernel

// Process ids and PID namespaces (kernel/pid.c, kernel/pid_namespace.c).
//
// A task has one number per pid-namespace level, from the root down to
// its own (active) namespace; t.pids[i] is its number at level i. Every
// API translates into the caller's active namespace, and a task that is
// not visible there reads as 0. The first process of a new namespace gets
// 1 and becomes its reaper; when it dies the namespace's other tasks are
// killed and no fork can enter it again (ENOMEM). pid 1 of the root
// namespace is nsvm's own init, which never runs guest code; the program
// starts as pid 2.

import (
	"sort"

	"golang.org/x/sys/unix"

	"github.com/nsvm/nsvm/ns"
)

const (
	pidMax       = 4194304 // /proc/sys/kernel/pid_max on 64-bit
	reservedPIDs = 300
)

// pidLink is one level of a struct pid: the namespace and the number.
type pidLink struct {
	ns *ns.PIDNS
	nr int
}

// activePIDNS is task_active_pid_ns: the namespace of the task's own pid.
func (t *Task) activePIDNS() *ns.PIDNS { return t.pids[len(t.pids)-1].ns }

// nrIn is the task's number in n, 0 when it is not visible there.
func (t *Task) nrIn(n *ns.PIDNS) int {
	if n == nil || n.Level >= len(t.pids) || t.pids[n.Level].ns != n {
		return 0
	}
	return t.pids[n.Level].nr
}

// allocNr hands out the next free number of n, cyclically from the last
// one (idr_alloc_cyclic): from 1 while the cursor is below
// RESERVED_PIDS, from RESERVED_PIDS after a wrap.
func allocNr(n *ns.PIDNS) (int, bool) {
	for range pidMax {
		n.LastPID++
		if n.LastPID >= pidMax {
			n.LastPID = reservedPIDs
		}
		if !n.Used[n.LastPID] {
			n.Used[n.LastPID] = true
			return n.LastPID, true
		}
	}
	return 0, false
}

// allocPID is alloc_pid (S22): a number at every level of the child's
// namespace (pid_ns_for_children) up to the root; set_tid asks for
// numbers from the innermost level outwards.
func (k *Kernel) allocPID(p *Task, args *cloneArgs) unix.Errno {
	target := p.nsproxy.PIDForChildren
	if len(args.setTID) > target.Level+1 {
		return unix.EINVAL
	}
	if k.shouldFail(p, sitePID) {
		return unix.ENOMEM
	}
	levels := make([]pidLink, target.Level+1)
	var e unix.Errno
	i := 0
	for n := target; n != nil; n = n.Parent {
		var nr int
		if i < len(args.setTID) {
			want := int(args.setTID[i])
			switch {
			case want <= 0 || want >= pidMax:
				e = unix.EINVAL
			case want != 1 && n.Reaper == nil && n.Parent != nil:
				e = unix.EINVAL // an init must come first
			case !k.nsCapable(p, n.Owner, capSysAdmin):
				e = unix.EPERM
			case n.Used[want]:
				e = unix.EEXIST
			}
			if e != 0 {
				break
			}
			n.Used[want] = true
			nr = want
		} else {
			var ok bool
			if nr, ok = allocNr(n); !ok {
				e = unix.EAGAIN
				break
			}
		}
		levels[n.Level] = pidLink{n, nr}
		i++
	}
	if e == 0 && !target.Adding {
		e = unix.ENOMEM // the namespace's init is gone
	}
	if e != 0 {
		// Give the numbers back; the cursor rewinds so that a retry
		// in a fresh namespace gets 1 again.
		for _, l := range levels {
			if l.ns != nil {
				delete(l.ns.Used, l.nr)
				if l.ns.LastPID == l.nr {
					l.ns.LastPID--
				}
			}
		}
		return e
	}
	p.pids = levels
	p.tid = levels[0].nr
	for _, l := range levels {
		l.ns.Allocated++
	}
	k.pids[p.tid] = true
	return 0
}

// freePID is free_pid: the numbers go back. If that empties a namespace
// whose first process never got going (its fork failed after alloc_pid),
// the namespace stops accepting pids for good (spec §3.1.6).
func (k *Kernel) freePID(p *Task) {
	for _, l := range p.pids {
		delete(l.ns.Used, l.nr)
		l.ns.Allocated--
		if l.ns.Allocated == 0 && l.ns.Adding && l.ns.Parent != nil && l.ns.Reaper == nil {
			l.ns.Adding = false
		}
	}
	if p.tid != 0 {
		delete(k.pids, p.tid)
	}
	p.pids = nil
}

// attachPID: the first process of a namespace becomes its reaper (and
// unkillable from inside).
func (k *Kernel) attachPID(p *Task) {
	if l := p.pids[len(p.pids)-1]; l.nr == 1 && p.isLeader() {
		l.ns.Reaper = p
	}
}

// pidInNS is the pid (tgid) of t as w sees it (pid_vnr), 0 if invisible.
func (k *Kernel) pidInNS(w, t *Task) int { return t.tg.leader.nrIn(w.activePIDNS()) }

// tidInNS is the thread id of t as w sees it.
func (k *Kernel) tidInNS(w, t *Task) int { return t.nrIn(w.activePIDNS()) }

// visible reports whether p has a number in t's pid namespace.
func (k *Kernel) visible(t, p *Task) bool { return p != k.init && p.nrIn(t.activePIDNS()) != 0 }

// samePidNSForChildren is V6's test: the caller has not switched its
// pid_ns_for_children (unshare or setns) since its last fork.
func (k *Kernel) samePidNSForChildren(t *Task) bool {
	return t.nsproxy.PIDForChildren == t.activePIDNS()
}

// pidNSAccepting is S28's test (PIDNS_ADDING).
func (k *Kernel) pidNSAccepting(p *Task) bool { return p.activePIDNS().Adding }

// reaperFor is find_child_reaper: the init of t's pid namespace (nsvm's
// own init at the root).
func (k *Kernel) reaperFor(t *Task) *Task {
	n := t.activePIDNS()
	for ; n != nil; n = n.Parent {
		if r, ok := n.Reaper.(*Task); ok && r != nil && r.alive() && r != t {
			return r
		}
		if n.Parent == nil {
			break
		}
	}
	return k.init
}

// unkillable is SIGNAL_UNKILLABLE: the thread group is a namespace init.
func (tg *threadGroup) unkillable() bool {
	if tg.leader == nil || len(tg.leader.pids) == 0 {
		return tg.tgid == 1
	}
	l := tg.leader.pids[len(tg.leader.pids)-1]
	return l.nr == 1
}

// findProcess looks up a process by pid as t sees it.
func (k *Kernel) findProcess(t *Task, pid int) *Task {
	if pid <= 0 {
		return nil
	}
	n := t.activePIDNS()
	for _, p := range k.tasks {
		if p.isLeader() && p.nrIn(n) == pid && (p.alive() || p.state == taskZombie) && p != k.init {
			return p
		}
	}
	return nil
}

// findThread looks up a thread by tid as t sees it.
func (k *Kernel) findThread(t *Task, tid int) *Task {
	if tid <= 0 {
		return nil
	}
	n := t.activePIDNS()
	for _, p := range k.tasks {
		if p.nrIn(n) == tid && p.alive() && p != k.init {
			return p
		}
	}
	return nil
}

// sortedTasks lists the tasks by global tid (deterministic iteration).
func (k *Kernel) sortedTasks() []*Task {
	out := make([]*Task, 0, len(k.tasks))
	for _, t := range k.tasks {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].tid < out[j].tid })
	return out
}

// zapPIDNS is zap_pid_ns_processes: the init of n is exiting, so the
// namespace takes no more tasks and every other task in it (nested
// namespaces included) is killed.
func (k *Kernel) zapPIDNS(n *ns.PIDNS, init *Task) {
	n.Adding = false
	for _, p := range k.sortedTasks() {
		if p != init && p.alive() && p.nrIn(n) != 0 {
			k.sendSignal(p, int(unix.SIGKILL), nil)
		}
	}
}

// installPidfd is S23: a pidfd for the child in the fd table the child
// will use, its number stored at args.pidfd.
func (k *Kernel) installPidfd(cur, p *Task, addr uint64) unix.Errno {
	if k.shouldFail(p, sitePidfd) {
		return unix.ENOMEM
	}
	f := &file{kind: filePidfd, pidfd: p, refs: 1, flags: unix.O_RDWR}
	fd, e := p.files.install(f, 0, true, p.tg.rlimits[unix.RLIMIT_NOFILE].cur)
	if e != 0 {
		return e
	}
	k.Stats.LiveFiles++
	p.pidfdNum = fd
	if e := cur.mm.writeU32(addr, uint32(fd)); e != 0 {
		p.files.uninstall(fd)
		k.Stats.LiveFiles--
		return e
	}
	return 0
}

// uninstallPidfd undoes installPidfd (bad_fork_put_pidfd).
func (k *Kernel) uninstallPidfd(p *Task, args *cloneArgs) {
	if p.pidfdNum >= 0 && p.pidfdNum < len(p.files.fds) {
		if f := p.files.fds[p.pidfdNum].f; f != nil && f.kind == filePidfd {
			p.files.uninstall(p.pidfdNum)
			k.Stats.LiveFiles--
		}
	}
}

// sysPidfdOpen: pidfd_open(pid, flags).
func sysPidfdOpen(t *Task, a *args) int64 {
	pid, flags := int32(a[0]), a[1]
	if flags&^uint64(unix.O_NONBLOCK) != 0 || pid <= 0 {
		return errno(unix.EINVAL)
	}
	p := t.k.findProcess(t, int(pid))
	if p == nil || !p.alive() {
		return errno(unix.ESRCH)
	}
	f := &file{kind: filePidfd, pidfd: p, refs: 1, flags: unix.O_RDWR | int(flags)}
	fd, e := t.files.install(f, 0, true, t.tg.rlimits[unix.RLIMIT_NOFILE].cur)
	if e != 0 {
		return errno(e)
	}
	t.k.Stats.LiveFiles++
	return int64(fd)
}
