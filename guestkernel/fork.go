package guestkernel

// Process creation: fork, vfork, clone and clone3, modelled on Linux's
// kernel/fork.c (v6.x). copyProcess follows copy_process step by step,
// with the same names and one unwind ladder in reverse order, so that it
// can be read side by side with the kernel. Steps that only touch kernel
// machinery nsvm does not have (delay accounting, perf, audit, LSMs,
// cgroups, io contexts, SysV semaphore undo lists) are listed in place and
// do nothing. Every step that allocates is a named fault-injection site
// (failSite), checked through k.shouldFail.

import (
	"time"

	"golang.org/x/sys/unix"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
	"github.com/nsvm/nsvm/fault"
	"github.com/nsvm/nsvm/ns"
)

// Clone flags (include/uapi/linux/sched.h).
const (
	cloneCSignal      = 0x000000ff
	cloneNewTime      = 0x00000080
	cloneVM           = 0x00000100
	cloneFS           = 0x00000200
	cloneFiles        = 0x00000400
	cloneSighand      = 0x00000800
	clonePidfd        = 0x00001000
	clonePtrace       = 0x00002000
	cloneVfork        = 0x00004000
	cloneParent       = 0x00008000
	cloneThread       = 0x00010000
	cloneNewNS        = 0x00020000
	cloneSysVSem      = 0x00040000
	cloneSetTLS       = 0x00080000
	cloneParentSetTID = 0x00100000
	cloneChildClrTID  = 0x00200000
	cloneDetached     = 0x00400000
	cloneUntraced     = 0x00800000
	cloneChildSetTID  = 0x01000000
	cloneNewCgroup    = 0x02000000
	cloneNewUTS       = 0x04000000
	cloneNewIPC       = 0x08000000
	cloneNewUser      = 0x10000000
	cloneNewPID       = 0x20000000
	cloneNewNet       = 0x40000000
	cloneIO           = 0x80000000
	cloneClearSighand = 1 << 32
	cloneIntoCgroup   = 1 << 33
)

// failSite names an allocation copy_process can fail at (fault injection).
type failSite string

// The fault-injection sites of process creation, in copy_process order.
const (
	siteTaskStruct failSite = "dup_task_struct"      // S1: task_struct + stack
	siteFPU        failSite = "arch_dup_task_struct" // S1: the FPU buffer (fpu_alloc)
	siteCred       failSite = "copy_creds"           // S3
	siteFiles      failSite = "copy_files"           // S14
	siteFS         failSite = "copy_fs"              // S15
	siteSighand    failSite = "copy_sighand"         // S16
	siteSignal     failSite = "copy_signal"          // S17
	siteMM         failSite = "copy_mm"              // S18: mm_struct and VMAs
	sitePageTable  failSite = "pte_alloc"            // S18: a page-table page
	sitePage       failSite = "alloc_page"           // S18: a page copy
	siteNamespaces failSite = "copy_namespaces"      // S19
	siteThread     failSite = "copy_thread"          // S21
	sitePID        failSite = "alloc_pid"            // S22
	sitePidfd      failSite = "pidfd"                // S23
)

// shouldFail reports whether the allocation at site must fail (fault
// injection); without an injector it never does.
//
// As in Linux, the counter and flag consulted are those of the task in
// the syscall (current), also for sites reached on behalf of a child
// being created; t only names the context.
func (k *Kernel) shouldFail(t *Task, site failSite) bool {
	cur := k.current
	if k.cfg.Fault == nil || cur == nil {
		return false
	}
	return k.cfg.Fault.ShouldFail(cur.tid, &cur.fault, string(site))
}

// cloneArgs is struct kernel_clone_args.
type cloneArgs struct {
	flags      uint64
	exitSignal int
	pidfd      uint64
	childTID   uint64
	parentTID  uint64
	stack      uint64 // the new stack pointer (clone3: stack+stack_size)
	tls        uint64
	setTID     []int32
}

// kernelClone is kernel_clone(): copy the process, report the new pid,
// wake the child, and for vfork wait until it lets go of the memory.
func (k *Kernel) kernelClone(cur *Task, args *cloneArgs) int64 {
	if k.cfg.MarkForks {
		k.ForkMarks = append(k.ForkMarks, k.counters())
	}
	// A pidfd and a parent tid stored through the same pointer would
	// overwrite each other.
	if args.flags&clonePidfd != 0 && args.flags&cloneParentSetTID != 0 && args.pidfd == args.parentTID {
		return errno(unix.EINVAL)
	}
	p, e := k.copyProcess(cur, args)
	if e != 0 {
		return errno(e)
	}
	// The child's pid as the caller sees it (pid_vnr).
	nr := int64(k.tidInNS(cur, p))
	if args.flags&cloneParentSetTID != 0 {
		// Past the point of no return: a fault here is ignored.
		cur.mm.writeU32(args.parentTID, uint32(nr))
	}
	if args.flags&cloneChildSetTID != 0 {
		// Linux stores it from the child at its first run
		// (schedule_tail); the child's memory is the same either way.
		p.mm.writeU32Child(args.childTID, uint32(k.tidInNS(p, p)))
	}
	if args.flags&cloneVfork != 0 {
		p.vforkParent = cur
		cur.inVfork = true
	}
	k.makeRunnable(p) // wake_up_new_task
	k.Stats.Forks++
	if args.flags&cloneVfork != 0 {
		// wait_for_vfork_done: the parent sleeps until the child
		// exits or execs; then fork returns the child's pid.
		return cur.blockResult(waitVfork, p, zeroTime, nr)
	}
	return nr
}

// copyProcess is copy_process(): it creates the child task as a copy of
// cur, sharing or duplicating each resource as args.flags says. On
// failure everything taken so far is released in reverse order (the
// bad_fork_* ladder) and the errno is returned.
func (k *Kernel) copyProcess(cur *Task, args *cloneArgs) (*Task, unix.Errno) {
	var (
		p     *Task
		e     unix.Errno
		flags = args.flags
	)
	// 1.3.1: early flag validation, no allocation yet.
	if flags&(cloneNewNS|cloneFS) == cloneNewNS|cloneFS {
		return nil, unix.EINVAL // V1
	}
	if flags&(cloneNewUser|cloneFS) == cloneNewUser|cloneFS {
		return nil, unix.EINVAL // V2
	}
	if flags&cloneThread != 0 && flags&cloneSighand == 0 {
		return nil, unix.EINVAL // V3: threads share the handlers
	}
	if flags&cloneSighand != 0 && flags&cloneVM == 0 {
		return nil, unix.EINVAL // V4: shared handlers need a shared mm
	}
	if flags&cloneParent != 0 && cur.tg.unkillable() {
		return nil, unix.EINVAL // V5: an init has no siblings
	}
	if flags&cloneThread != 0 && (flags&(cloneNewUser|cloneNewPID) != 0 || !k.samePidNSForChildren(cur)) {
		return nil, unix.EINVAL // V6
	}
	if flags&clonePidfd != 0 && flags&cloneDetached != 0 {
		return nil, unix.EINVAL // V7 (v6.9+: CLONE_THREAD is allowed)
	}

	// S1: dup_task_struct, with arch_dup_task_struct copying the FPU.
	p, e = k.dupTaskStruct(cur)
	if e != 0 {
		goto forkOut
	}
	// S2
	if flags&cloneChildSetTID != 0 {
		p.setChildTID = args.childTID
	}
	if flags&cloneChildClrTID != 0 {
		p.clearChildTID = args.childTID
	}
	// S3: copy_creds.
	if e = k.copyCreds(p, flags); e != 0 {
		goto badForkFree
	}
	// S4: RLIMIT_NPROC, for non-root real users.
	if p.cred.uid != 0 && uint64(k.processesOf(p.cred.uid)) >= cur.tg.rlimits[unix.RLIMIT_NPROC].cur {
		e = unix.EAGAIN
		goto badForkCleanupCount
	}
	// S5: kernel.threads-max.
	if k.nrThreads >= k.maxThreads {
		e = unix.EAGAIN
		goto badForkCleanupCount
	}
	// S6-S12: accounting, sched_fork, perf, audit, LSM: nothing to do.
	// S13: copy_semundo: no SysV semaphores yet.
	// S14: copy_files.
	if e = k.copyFiles(p, flags); e != 0 {
		goto badForkCleanupSemundo
	}
	// S15: copy_fs.
	if e = k.copyFS(p, flags); e != 0 {
		goto badForkCleanupFiles
	}
	// S16: copy_sighand.
	if e = k.copySighand(p, flags); e != 0 {
		goto badForkCleanupFS
	}
	// S17: copy_signal.
	if e = k.copySignal(p, flags); e != 0 {
		goto badForkCleanupSighand
	}
	// S18: copy_mm.
	if e = k.copyMM(p, flags); e != 0 {
		goto badForkCleanupSignal
	}
	// S19: copy_namespaces.
	if e = k.copyNamespaces(p, flags); e != 0 {
		goto badForkCleanupMM
	}
	// S20: copy_io: no io contexts.
	// S21: copy_thread (the child's registers; the FPU was copied in S1).
	if e = k.copyThread(p, cur, args); e != 0 {
		goto badForkCleanupNamespaces
	}
	// S22: alloc_pid.
	if e = k.allocPID(p, args); e != 0 {
		goto badForkCleanupThread
	}
	// S23: the pidfd, in the child's (possibly shared) fd table.
	if flags&clonePidfd != 0 {
		if e = k.installPidfd(cur, p, args.pidfd); e != 0 {
			goto badForkFreePID
		}
	}
	// S24-S26: futex and robust-list state start empty (zero values);
	// cgroups: nothing.
	// S27: choose the parent and the exit signal.
	if flags&(cloneParent|cloneThread) != 0 {
		p.parent = cur.parent
		if flags&cloneThread != 0 {
			p.exitSignal = -1
		} else {
			p.exitSignal = cur.tg.leader.exitSignal
		}
	} else {
		p.parent = cur
		p.exitSignal = args.exitSignal
	}
	// S28: the pid namespace must still accept new tasks.
	if !k.pidNSAccepting(p) {
		e = unix.ENOMEM
		goto badForkCancelCgroup
	}
	// S29: a fatal signal for the parent cancels the fork.
	if cur.tg.exiting {
		e = unix.EINTR
		goto badForkCancelCgroup
	}
	// S30: point of no return: attach the child.
	k.attachTask(p, flags)
	return p, 0

	// The unwind ladder: entering at a label runs it and all below.
badForkCancelCgroup:
	if flags&clonePidfd != 0 {
		k.uninstallPidfd(p, args)
	}
badForkFreePID:
	k.freePID(p)
badForkCleanupThread:
	// exit_thread: nothing was allocated for the registers.
badForkCleanupNamespaces:
	k.exitTaskNamespaces(p)
badForkCleanupMM:
	if p.mm != nil {
		p.mm.put()
		p.mm = nil
	}
badForkCleanupSignal:
	if flags&cloneThread == 0 && p.tg != nil {
		p.tg.refs--
	}
	p.tg = nil
badForkCleanupSighand:
	p.sighand.refs--
	p.sighand = nil
badForkCleanupFS:
	p.fs.users--
	p.fs = nil
badForkCleanupFiles:
	if !faultbugSkipFilesUnwind {
		p.files.put()
	}
	p.files = nil
badForkCleanupSemundo:
badForkCleanupCount:
	k.putCred(p.cred)
	p.cred = nil
badForkFree:
	k.freeTask(p)
forkOut:
	return nil, e
}

// dupTaskStruct is dup_task_struct(): a new task_struct that starts as a
// copy of the parent's, with its own FPU buffer (arch_dup_task_struct).
func (k *Kernel) dupTaskStruct(cur *Task) (*Task, unix.Errno) {
	if k.shouldFail(cur, siteTaskStruct) {
		return nil, unix.ENOMEM
	}
	p := &Task{
		k:        k,
		comm:     cur.comm,
		exe:      cur.exe,
		state:    taskRunnable,
		sigmask:  cur.sigmask,
		pidfdNum: -1,
		// dup_task_struct: fail-nth starts at 0, make-it-fail is
		// inherited with the task_struct copy.
		fault: fault.TaskState{MakeItFail: cur.fault.MakeItFail},
		// Shared pointers are copied as in the memcpy of the
		// task_struct; each copy_X below takes its reference or
		// replaces them.
		files:   cur.files,
		fs:      cur.fs,
		sighand: cur.sighand,
		cred:    cur.cred,
		mm:      cur.mm,
		tg:      cur.tg,
		nsproxy: cur.nsproxy,
	}
	k.Stats.LiveTasks++
	if e := k.archDupTaskStruct(p, cur); e != 0 {
		k.freeTask(p)
		return nil, e
	}
	return p, 0
}

// archDupTaskStruct is the x86 arch_dup_task_struct() together with
// fpu_clone(): allocate the child's FPU buffer (the XSAVE size from CPUID
// 0xD, as KVM reports it) and fill it with the parent's register state,
// read from the vCPU with KVM_GET_XSAVE2 when the parent's registers are
// live there, then clear what Linux never lets a child inherit.
func (k *Kernel) archDupTaskStruct(p, cur *Task) unix.Errno {
	if k.shouldFail(cur, siteFPU) {
		return unix.ENOMEM
	}
	buf, err := x86.FPUAlloc(k.cpu.XSAVESize())
	if err != nil {
		return unix.ENOMEM
	}
	if k.fpuOwner == cur {
		if k.shouldFail(cur, "kvm_get_xsave") {
			return unix.ENOMEM
		}
		if err := k.cpu.GetXSAVE(buf); err != nil {
			// A VMM failure: the fork fails cleanly, the parent
			// is untouched.
			k.logf("nsvm: fork: KVM_GET_XSAVE2 failed: %v", err)
			return unix.ENOMEM
		}
		k.Stats.XSAVEGets++
	} else {
		copy(buf, cur.fpu)
	}
	x86.FPUClone(buf)
	p.fpu = buf
	if xsaveAudit != nil {
		parent := make([]byte, len(buf))
		if k.fpuOwner == cur {
			k.cpu.GetXSAVE(parent)
		} else {
			copy(parent, cur.fpu)
		}
		xsaveAudit("fork", parent, buf)
	}
	return 0
}

// freeTask is free_task(): the last of a task that never ran.
func (k *Kernel) freeTask(p *Task) {
	p.fpu = nil
	p.state = taskDead
	k.Stats.LiveTasks--
}

// copyCreds: CLONE_THREAD shares the creds, anything else gets a copy.
func (k *Kernel) copyCreds(p *Task, flags uint64) unix.Errno {
	if flags&cloneThread != 0 {
		p.cred.refs++
		return 0
	}
	if k.shouldFail(p, siteCred) {
		return unix.ENOMEM
	}
	if flags&cloneNewUser != 0 {
		c, e := k.newUserNSCred(p, p.cred)
		if e != 0 {
			return e
		}
		p.cred = c
		return 0
	}
	p.cred = k.copyCred(p.cred)
	if p.cred.userNS != k.nsw.InitUser {
		ns.Get(p.cred.userNS)
	}
	return 0
}

// processesOf counts the live processes of a real uid (the NPROC ucount).
func (k *Kernel) processesOf(uid uint32) int {
	n := 0
	for _, t := range k.tasks {
		if t.alive() && t.cred.uid == uid {
			n++
		}
	}
	return n
}

// copyFiles: CLONE_FILES shares the fd table, else it is duplicated (the
// open file descriptions are shared either way).
func (k *Kernel) copyFiles(p *Task, flags uint64) unix.Errno {
	if flags&cloneFiles != 0 {
		p.files.refs++
		return 0
	}
	if k.shouldFail(p, siteFiles) {
		return unix.ENOMEM
	}
	files, e := p.files.dup()
	if e != 0 {
		return e
	}
	p.files = files
	return 0
}

// copyFS: CLONE_FS shares cwd/root/umask, else they are copied.
func (k *Kernel) copyFS(p *Task, flags uint64) unix.Errno {
	if flags&cloneFS != 0 {
		p.fs.users++
		return 0
	}
	if k.shouldFail(p, siteFS) {
		return unix.ENOMEM
	}
	p.fs = &fsStruct{umask: p.fs.umask, users: 1}
	return 0
}

// copySighand: CLONE_SIGHAND shares the handler table, else it is copied;
// CLONE_CLEAR_SIGHAND resets every handler that is not SIG_IGN.
func (k *Kernel) copySighand(p *Task, flags uint64) unix.Errno {
	if flags&cloneSighand != 0 {
		p.sighand.refs++
		return 0
	}
	if k.shouldFail(p, siteSighand) {
		return unix.ENOMEM
	}
	sh := &sighand{actions: p.sighand.actions, refs: 1}
	if flags&cloneClearSighand != 0 {
		for i := range sh.actions {
			if sh.actions[i].handler != sigIgn {
				sh.actions[i] = sigaction{}
			}
		}
	}
	p.sighand = sh
	return 0
}

// copySignal: CLONE_THREAD joins the parent's thread group; otherwise the
// child gets a new signal_struct with the rlimits, process group and
// session copied and nothing pending.
func (k *Kernel) copySignal(p *Task, flags uint64) unix.Errno {
	if flags&cloneThread != 0 {
		return 0
	}
	if k.shouldFail(p, siteSignal) {
		return unix.ENOMEM
	}
	old := p.tg
	p.tg = &threadGroup{rlimits: old.rlimits, pgid: old.pgid, sid: old.sid, refs: 1}
	return 0
}

// copyMM: CLONE_VM shares the address space, else dupMM copies it.
func (k *Kernel) copyMM(p *Task, flags uint64) unix.Errno {
	if flags&cloneVM != 0 {
		p.mm.users++
		return 0
	}
	if k.shouldFail(p, siteMM) {
		return unix.ENOMEM
	}
	t0 := time.Now()
	mm, err := p.mm.dup(p)
	k.Stats.ForkCopyTime += time.Since(t0)
	if err != nil {
		return unix.ENOMEM
	}
	p.mm = mm
	return 0
}

// copyThread is copy_thread(): the child's user registers are an exact
// copy of the parent's syscall frame, except RAX=0 (fork returns 0 in
// the child), the new stack if one was given, and the FS base from
// CLONE_SETTLS.
func (k *Kernel) copyThread(p, cur *Task, args *cloneArgs) unix.Errno {
	if k.shouldFail(cur, siteThread) {
		return unix.ENOMEM
	}
	p.ctx = k.forkFrame
	p.ctx.regs.RAX = 0
	if args.stack != 0 {
		p.ctx.regs.RSP = args.stack
	}
	if args.flags&cloneSetTLS != 0 {
		if args.tls >= taskSize {
			return unix.EPERM // do_arch_prctl_64(ARCH_SET_FS) refuses it
		}
		p.ctx.fsBase = args.tls
	}
	return 0
}

// attachTask is the point of no return (S30): link the child into the
// task lists, its parent's children or its thread group.
func (k *Kernel) attachTask(p *Task, flags uint64) {
	if flags&cloneThread != 0 {
		p.tg.threads = append(p.tg.threads, p)
	} else {
		p.tg.tgid = p.tid
		p.tg.leader = p
		p.tg.threads = []*Task{p}
		p.parent.children = append(p.parent.children, p)
	}
	k.tasks[p.tid] = p
	k.nrThreads++
	k.attachPID(p)
	k.recordTask(p)
}

// Syscall entry points.

// sysFork: fork() is clone with SIGCHLD and nothing shared.
func sysFork(t *Task, a *args) int64 {
	return t.k.kernelClone(t, &cloneArgs{exitSignal: int(unix.SIGCHLD)})
}

// sysVfork: vfork() shares the memory and suspends the parent.
func sysVfork(t *Task, a *args) int64 {
	return t.k.kernelClone(t, &cloneArgs{flags: cloneVfork | cloneVM, exitSignal: int(unix.SIGCHLD)})
}

// sysClone: clone(flags, newsp, parent_tid, child_tid, tls), x86-64's
// argument order. Legacy clone takes the low 32 flag bits, the exit
// signal from the low byte (not validated), and never rejects unknown
// bits.
func sysClone(t *Task, a *args) int64 {
	flags := a[0] & 0xffffffff
	return t.k.kernelClone(t, &cloneArgs{
		flags:      flags &^ cloneCSignal,
		exitSignal: int(flags & cloneCSignal),
		stack:      a[1],
		parentTID:  a[2],
		pidfd:      a[2],
		childTID:   a[3],
		tls:        a[4],
	})
}

// struct clone_args sizes.
const (
	cloneArgsSizeVer0 = 64
	cloneArgsSizeVer1 = 80
	cloneArgsSizeVer2 = 88
)

// sysClone3: clone3(args, size), with copy_clone_args_from_user and
// clone3_args_valid in the kernel's order (spec 1.2).
func sysClone3(t *Task, a *args) int64 {
	uargs, usize := a[0], a[1]
	if usize > pageSize {
		return errno(unix.E2BIG)
	}
	if usize < cloneArgsSizeVer0 {
		return errno(unix.EINVAL)
	}
	// Extensible struct: a larger struct's tail must be zero.
	raw := make([]byte, max(usize, cloneArgsSizeVer2))
	if e := t.mm.copyIn(raw[:usize], uargs); e != 0 {
		return errno(e)
	}
	if usize > cloneArgsSizeVer2 {
		for _, b := range raw[cloneArgsSizeVer2:usize] {
			if b != 0 {
				return errno(unix.E2BIG)
			}
		}
	}
	u := func(i int) uint64 { return le.Uint64(raw[i*8:]) }
	flags, pidfd, childTID, parentTID := u(0), u(1), u(2), u(3)
	exitSignal, stack, stackSize, tls := u(4), u(5), u(6), u(7)
	setTID, setTIDSize, cgroup := u(8), u(9), u(10)
	if setTIDSize > 32 {
		return errno(unix.EINVAL)
	}
	if setTID == 0 && setTIDSize > 0 || setTID != 0 && setTIDSize == 0 {
		return errno(unix.EINVAL)
	}
	if exitSignal&^0xff != 0 || exitSignal > 64 {
		return errno(unix.EINVAL)
	}
	if flags&cloneIntoCgroup != 0 && (cgroup > 0x7fffffff || usize < cloneArgsSizeVer2) {
		return errno(unix.EINVAL)
	}
	var tids []int32
	if setTIDSize > 0 {
		b := make([]byte, setTIDSize*4)
		if e := t.mm.copyIn(b, setTID); e != 0 {
			return errno(e)
		}
		for i := range setTIDSize {
			tids = append(tids, int32(le.Uint32(b[i*4:])))
		}
	}
	// clone3_args_valid.
	if flags&^(0xffffffff|cloneClearSighand|cloneIntoCgroup) != 0 {
		return errno(unix.EINVAL)
	}
	if flags&cloneDetached != 0 || flags&(cloneCSignal&^cloneNewTime) != 0 {
		return errno(unix.EINVAL)
	}
	if flags&(cloneSighand|cloneClearSighand) == cloneSighand|cloneClearSighand {
		return errno(unix.EINVAL)
	}
	if flags&(cloneThread|cloneParent) != 0 && exitSignal != 0 {
		return errno(unix.EINVAL)
	}
	if stack == 0 && stackSize != 0 || stack != 0 && stackSize == 0 {
		return errno(unix.EINVAL)
	}
	if stack != 0 {
		if !accessOK(stack, stackSize) {
			return errno(unix.EINVAL)
		}
		stack += stackSize
	}
	if flags&cloneIntoCgroup != 0 {
		return errno(unix.EBADF) // no cgroup2 file system to name
	}
	return t.k.kernelClone(t, &cloneArgs{
		flags:      flags,
		exitSignal: int(exitSignal),
		pidfd:      pidfd,
		childTID:   childTID,
		parentTID:  parentTID,
		stack:      stack,
		tls:        tls,
		setTID:     tids,
	})
}
