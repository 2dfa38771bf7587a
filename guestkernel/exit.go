package guestkernel

// Exit: do_exit, exit_group, the zombie state and release_task, modelled
// on kernel/exit.c. A task lets go of its resources in exit_mm,
// exit_files, exit_fs order, its children go to a reaper, and its parent
// gets the exit signal and a wake-up in wait4. Its credentials stay until
// it is reaped (release_task → put_task_struct → __put_task_struct puts
// them), so that a zombie still has its uid and pins its user namespace.

import (
	"golang.org/x/sys/unix"
)

// Wait status words (the encoding wait4 returns).
func exitedStatus(code int) int   { return (code & 0xff) << 8 }
func signaledStatus(sig int) int  { return sig & 0x7f }
func stoppedStatus(sig int) int   { return sig<<8 | 0x7f }
func wifsignaled(status int) bool { return status&0x7f != 0 && status&0x7f != 0x7f }

// sysExit: exit(2) ends the calling thread only.
func sysExit(t *Task, a *args) int64 {
	t.k.doExit(t, exitedStatus(int(a[0])))
	return 0
}

// sysExitGroup: exit_group(2) ends every thread of the process.
func sysExitGroup(t *Task, a *args) int64 {
	t.k.exitGroup(t.tg, exitedStatus(int(a[0])))
	return 0
}

// exitGroup is do_group_exit: the first caller sets the group's status,
// every thread exits with it. sig > 0 means a fatal signal (the status
// is its number).
func (k *Kernel) exitGroup(tg *threadGroup, status int) {
	if tg.exiting {
		return
	}
	tg.exiting = true
	tg.exitStatus = status
	for _, th := range append([]*Task(nil), tg.threads...) {
		if th.alive() {
			k.doExit(th, status)
		}
	}
}

// doExit is do_exit for one thread.
func (k *Kernel) doExit(t *Task, status int) {
	if !t.alive() {
		return
	}
	if t.tg == k.mainTG && !k.mainExiting {
		// The program nsvm runs is leaving: the moment `nsvm ns`
		// takes its picture, with everything still in place.
		k.mainExiting = true
		if k.cfg.OnMainExit != nil {
			k.cfg.OnMainExit(k)
		}
	}
	if t.tg.exiting {
		status = t.tg.exitStatus
	}
	if k.cfg.Trace != nil {
		k.traceDeath(t, status)
	}
	wasBlocked := t.state == taskBlocked
	if wasBlocked {
		k.cancelWait(t)
	}
	k.dequeue(t)
	t.state = taskZombie
	t.exitStatus = status
	if t.record != nil {
		t.record.ended, t.record.status = true, status
	}
	if t.onCPU {
		t.onCPU = false
	}
	if k.fpuOwner == t {
		k.fpuOwner = nil // nothing worth saving any more
	}
	k.exitMM(t)
	t.files.put()
	t.files = nil
	t.fs.users--
	t.fs = nil
	t.sighand.refs--
	// The creds stay with the zombie: releaseTask puts them.
	// A pid namespace's init takes its namespace down with it.
	if t.isLeader() && len(t.pids) > 1 && t.pids[len(t.pids)-1].nr == 1 {
		k.zapPIDNS(t.activePIDNS(), t)
	}
	k.exitTaskNamespaces(t)
	t.fpu = nil
	k.exitNotify(t)
	k.auditPoint()
}

// exitMM is exit_mm with mm_release: clear and wake the CLONE_CHILD_CLEARTID
// word while the memory is still shared, and let a vfork parent go.
func (k *Kernel) exitMM(t *Task) {
	mm := t.mm
	if mm == nil {
		return
	}
	if t.clearChildTID != 0 {
		if mm.users > 1 {
			mm.writeU32(t.clearChildTID, 0)
			k.futexWake(t, mm, t.clearChildTID, 1, ^uint32(0))
		}
		t.clearChildTID = 0
	}
	k.vforkDone(t)
	t.mm = nil
	mm.put()
}

// vforkDone releases the parent sleeping in vfork (complete_vfork_done).
func (k *Kernel) vforkDone(t *Task) {
	if p := t.vforkParent; p != nil {
		t.vforkParent = nil
		p.inVfork = false
		if p.state == taskBlocked && p.wait.kind == waitVfork {
			k.wake(p, p.wait.result)
		}
	}
}

// exitNotify is exit_notify: hand the children to a reaper, and either
// report to the parent (a zombie to reap) or disappear at once.
func (k *Kernel) exitNotify(t *Task) {
	k.forgetOriginalParent(t)
	tg := t.tg
	tg.threads = removeTask(tg.threads, t)
	if !t.isLeader() {
		// A thread is reaped by itself (exit_signal -1).
		k.releaseTask(t)
		if len(tg.threads) == 0 && tg.leader.state == taskZombie {
			k.groupDead(tg)
		}
		return
	}
	if len(tg.threads) == 0 {
		k.groupDead(tg)
	}
	// Otherwise the leader stays a zombie until its threads are gone
	// (delay_group_leader).
}

// groupDead reports a finished process to its parent (do_notify_parent).
func (k *Kernel) groupDead(tg *threadGroup) {
	leader := tg.leader
	status := leader.exitStatus
	if tg.exiting {
		status = tg.exitStatus
	}
	leader.exitStatus = status
	if tg == k.mainTG {
		k.status = statusFromWait(status)
	}
	parent := leader.parent
	if parent == nil || !parent.alive() || parent == k.init {
		// The kernel's init reaps everything it adopts.
		k.releaseTask(leader)
		return
	}
	sig := leader.exitSignal
	if sig == int(unix.SIGCHLD) {
		act := parent.sighand.actions[unix.SIGCHLD-1]
		if act.handler == sigIgn || act.flags&saNoCldWait != 0 {
			// No zombies: the child is reaped at once and wait
			// will report ECHILD.
			k.releaseTask(leader)
			k.wakeWaiters(parent.tg)
			return
		}
	}
	if validSignal(sig) {
		code, data := int32(cldExited), int32(status>>8&0xff)
		if wifsignaled(status) {
			code, data = cldKilled, int32(status&0x7f)
		}
		for _, th := range parent.tg.threads {
			th.sigInfo[sig-1] = siginfo{signo: int32(sig), code: code, chld: true, status: data,
				pid: uint32(leader.nrIn(th.activePIDNS())), uid: th.viewUID(leader.cred.uid)}
		}
		// The waiter finishes its wait4 first; the handler runs
		// after it, on the way back to user mode.
		k.wakeWaiters(parent.tg)
		if !parent.tg.unkillable() || parent.hasHandler(sig) {
			parent.tg.pending |= sigBit(sig)
			k.deliver(parent.tg.threads[0], sig)
		}
		return
	}
	k.wakeWaiters(parent.tg)
}

// forgetOriginalParent reparents t's children: to another live thread of
// its group, else to the reaper (find_new_reaper). A zombie handed to the
// kernel's init is reaped right away.
func (k *Kernel) forgetOriginalParent(t *Task) {
	if len(t.children) == 0 {
		return
	}
	var reaper *Task
	for _, th := range t.tg.threads {
		if th != t && th.alive() {
			reaper = th
			break
		}
	}
	if reaper == nil {
		reaper = k.reaperFor(t)
	}
	for _, c := range t.children {
		c.parent = reaper
		if reaper == k.init {
			if c.state == taskZombie && len(c.tg.threads) == 0 {
				k.releaseTask(c)
			}
			continue
		}
		reaper.children = append(reaper.children, c)
		if c.state == taskZombie && len(c.tg.threads) == 0 {
			k.wakeWaiters(reaper.tg)
		}
	}
	t.children = nil
}

// releaseTask is release_task: the last trace of a task goes; its pid is
// free again, and the task_struct's last reference takes its credentials
// with it (__put_task_struct).
func (k *Kernel) releaseTask(t *Task) {
	if t.state == taskDead {
		return
	}
	t.state = taskDead
	if t.parent != nil {
		t.parent.children = removeTask(t.parent.children, t)
	}
	delete(k.tasks, t.tid)
	k.freePID(t)
	if t.isLeader() {
		t.tg.refs--
	}
	// A zombie counts against threads-max until it is reaped
	// (__unhash_process), so that unreaped children cannot pile up.
	k.nrThreads--
	k.putCred(t.cred)
	k.Stats.LiveTasks--
}

func removeTask(list []*Task, t *Task) []*Task {
	for i, x := range list {
		if x == t {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}

// cancelWait takes a sleeping task off whatever it waits on.
func (k *Kernel) cancelWait(t *Task) {
	if t.wait.kind == waitFutex {
		k.futexDequeue(t)
	}
	t.wait = waitState{}
}
