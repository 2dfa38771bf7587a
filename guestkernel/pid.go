package guestkernel

// Process ids (kernel/pid.c). Until PID namespaces are modelled there is
// one pid space: pid 1 is nsvm's own init, which reaps orphans and never
// runs guest code; the program starts as pid 2. alloc_pid hands out the
// next free number, wrapping from pid_max back to RESERVED_PIDS as Linux
// does.

import (
	"sort"

	"golang.org/x/sys/unix"
)

const (
	pidMax       = 4194304 // /proc/sys/kernel/pid_max on 64-bit
	reservedPIDs = 300
)

// allocPID is alloc_pid for the child (S22); set_tid asks for a number.
func (k *Kernel) allocPID(p *Task, args *cloneArgs) unix.Errno {
	if k.shouldFail(p, sitePID) {
		return unix.ENOMEM
	}
	if len(args.setTID) > 0 {
		// One pid-namespace level: more entries than levels, or a
		// bad number, is EINVAL; a taken one EEXIST.
		if len(args.setTID) > 1 {
			return unix.EINVAL
		}
		want := int(args.setTID[0])
		if want <= 0 || want >= pidMax {
			return unix.EINVAL
		}
		if p.cred.euid != 0 {
			return unix.EPERM
		}
		if k.pids[want] {
			return unix.EEXIST
		}
		p.tid = want
		k.pids[want] = true
		return 0
	}
	for range pidMax {
		k.lastPID++
		if k.lastPID >= pidMax {
			k.lastPID = reservedPIDs
		}
		if !k.pids[k.lastPID] {
			p.tid = k.lastPID
			k.pids[p.tid] = true
			return 0
		}
	}
	return unix.EAGAIN
}

// freePID is free_pid.
func (k *Kernel) freePID(p *Task) {
	if p.tid != 0 {
		delete(k.pids, p.tid)
	}
}

// attachPID links a new task's pid (attach_pid); nothing more to do with
// one pid space.
func (k *Kernel) attachPID(p *Task) {}

// pidInNS is the pid of t as w sees it (pid_vnr).
func (k *Kernel) pidInNS(w, t *Task) int { return t.pid() }

// visible reports whether t can see p (same or ancestor pid namespace).
func (k *Kernel) visible(t, p *Task) bool { return p != k.init }

// samePidNSForChildren is V6's test; always true with one pid space.
func (k *Kernel) samePidNSForChildren(t *Task) bool { return true }

// pidNSAccepting is S28's test; the one pid space always accepts.
func (k *Kernel) pidNSAccepting(p *Task) bool { return true }

// reaperFor is find_child_reaper: nsvm's init.
func (k *Kernel) reaperFor(t *Task) *Task { return k.init }

// unkillable is SIGNAL_UNKILLABLE: set on an init.
func (tg *threadGroup) unkillable() bool { return tg.tgid == 1 }

// findProcess looks up a process by pid as t sees it.
func (k *Kernel) findProcess(t *Task, pid int) *Task {
	p := k.tasks[pid]
	if p == nil || !p.alive() && p.state != taskZombie || !k.visible(t, p) {
		return nil
	}
	return p.tg.leader
}

// findThread looks up a thread by tid as t sees it.
func (k *Kernel) findThread(t *Task, tid int) *Task {
	p := k.tasks[tid]
	if p == nil || !p.alive() || !k.visible(t, p) {
		return nil
	}
	return p
}

// sortedTasks lists the tasks by tid (deterministic iteration).
func (k *Kernel) sortedTasks() []*Task {
	out := make([]*Task, 0, len(k.tasks))
	for _, t := range k.tasks {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].tid < out[j].tid })
	return out
}

// copyNamespaces is copy_namespaces (S19). Namespaces are the next piece
// of the model; until then a CLONE_NEW* request is refused rather than
// pretended.
func (k *Kernel) copyNamespaces(p *Task, flags uint64) unix.Errno {
	if flags&cloneNewNSFlags == 0 && flags&cloneNewUser == 0 {
		return 0
	}
	if k.shouldFail(p, siteNamespaces) {
		return unix.ENOMEM
	}
	k.warnOnce("namespaces", "nsvm: CLONE_NEW* namespaces are not modelled yet: refusing with EINVAL")
	return unix.EINVAL
}

// exitTaskNamespaces drops the task's namespace references.
func (k *Kernel) exitTaskNamespaces(p *Task) {}

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
		p.files.fds[fd] = fdEntry{}
		k.Stats.LiveFiles--
		return e
	}
	return 0
}

// uninstallPidfd undoes installPidfd (bad_fork_put_pidfd).
func (k *Kernel) uninstallPidfd(p *Task, args *cloneArgs) {
	if p.pidfdNum >= 0 && p.pidfdNum < len(p.files.fds) {
		if f := p.files.fds[p.pidfdNum].f; f != nil && f.kind == filePidfd {
			p.files.fds[p.pidfdNum] = fdEntry{}
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
