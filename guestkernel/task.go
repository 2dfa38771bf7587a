package guestkernel

import (
	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"

	"github.com/nsvm/nsvm/fault"
	"github.com/nsvm/nsvm/ns"
)

// Task states. A task is on the run queue only when taskRunnable.
const (
	taskRunnable = iota // running on the vCPU, or waiting for it
	taskBlocked         // sleeping on a wait queue, futex, pipe, timer or vfork
	taskStopped         // stopped by SIGSTOP and friends
	taskZombie          // exited, waiting to be reaped by its parent
	taskDead            // reaped (release_task)
)

// cred is struct cred: ids and capability sets. Tasks share one object
// (refs) until a change copies it, as prepare_creds/commit_creds do. The
// first task gets the host ids of the nsvm process, so a program sees the
// same uid/gid as it would natively.
type cred struct {
	uid, euid, suid, fsuid uint32 // kernel uids (the initial namespace's)
	gid, egid, sgid, fsgid uint32
	userNS                 *ns.UserNS
	// Capability sets: effective, permitted, inheritable, bounding.
	capEff, capPrm, capInh, capBnd uint64
	refs                           int
}

// sigaction is struct k_sigaction as the x86-64 rt_sigaction ABI passes it.
type sigaction struct {
	handler, flags, restorer, mask uint64
}

// sighand is struct sighand_struct: the handler table, shared with
// CLONE_SIGHAND.
type sighand struct {
	actions [64]sigaction
	refs    int
}

// fsStruct is struct fs_struct. nsvm has no file system, so only the
// umask is real; sharing (CLONE_FS) is modelled for the refcounts.
type fsStruct struct {
	umask uint32
	users int
}

// threadGroup is struct signal_struct: what the threads of one process
// share (CLONE_THREAD). Its id is the tgid, the process's pid.
type threadGroup struct {
	tgid    int
	leader  *Task
	threads []*Task // live threads, leader first
	rlimits [rlimNlimits]rlimit
	pgid    int
	sid     int
	// shared pending signals (sent to the process, not a thread)
	pending uint64

	// Group exit (exit_group, a fatal signal): every thread goes.
	exiting    bool
	exitStatus int // wait status of the group exit
	// Stop/continue reporting to the parent (WUNTRACED, WCONTINUED).
	stopped, stopReported bool
	stopSig               int
	continued             bool
	refs                  int
	// dumpable is PR_SET_DUMPABLE's flag (set: dumpableSet).
	dumpable, dumpableSet bool
}

// uctx is a task's user-mode context while it is off the vCPU: the
// general registers with the user RIP, RSP and RFLAGS, and the FS/GS
// bases.
type uctx struct {
	regs           kvm.Regs
	fsBase, gsBase uint64
}

// Task is a task_struct: one thread of a guest program.
type Task struct {
	k     *Kernel
	tid   int
	tg    *threadGroup
	comm  string
	exe   string
	state int

	// parent is real_parent; children are the tasks this one created
	// (or adopted) that are not threads of its own group.
	parent   *Task
	children []*Task
	// exitSignal is sent to the parent at exit (SIGCHLD for fork, what
	// clone asked for, -1 for threads: they are reaped silently).
	exitSignal int

	mm      *MM
	nsproxy *ns.Nsproxy
	// pids are the task's numbers, one per pid-namespace level.
	pids    []pidLink
	files   *fdTable
	fs      *fsStruct
	sighand *sighand
	cred    *cred

	ctx uctx   // valid while the task is off the vCPU
	fpu []byte // XSAVE image; stale while the task owns the vCPU's FPU

	setChildTID, clearChildTID uint64
	robustList, robustLen      uint64

	sigmask uint64
	pending uint64 // private pending signals
	// sigInfo is the siginfo of each pending signal (the last sent).
	sigInfo [nsig]siginfo
	// The sigaltstack.
	altSP, altSize uint64
	altFlags       uint32
	// The last fault's error code and vector (sigcontext err, trapno).
	faultErr, faultTrap uint64

	// Blocking state (see sched.go).
	wait waitState

	// vforkParent is the parent sleeping in vfork until this child
	// exits or execs (the vfork_done completion).
	vforkParent *Task
	inVfork     bool

	// exitStatus is the wait status once the task has exited.
	exitStatus int
	// onCPU reports that the task's context is live in the vCPU.
	onCPU bool

	// trace is the task's part of --trace (trace.go), nil when off.
	trace *taskTrace
	// sregsDirty asks the return to user mode to load fsBase/gsBase.
	sregsDirty bool
	// rwDone is how much of a blocking pipe write is done across its
	// restarts.
	rwDone uint64
	// record is the task's line in the run's history (--ps).
	record *taskRecord
	// fault is the task's fail-nth counter and make-it-fail flag.
	fault fault.TaskState
	// pdeathSig and keepCaps are prctl's.
	pdeathSig int
	keepCaps  bool
	// pidfdNum is the fd of the CLONE_PIDFD pidfd during copy_process.
	pidfdNum int
}

// pid is the process id (tgid) in the task's own pid namespace.
func (t *Task) pid() int {
	if l := t.tg.leader; l != nil && len(l.pids) > 0 {
		return l.nrIn(t.activePIDNS())
	}
	return t.tg.tgid
}

// ppid is the parent process's id as the task sees it: 0 when the parent
// is outside its pid namespace (or is the kernel).
func (t *Task) ppid() int {
	if t.parent == nil || len(t.parent.pids) == 0 {
		return 0
	}
	return t.parent.tg.leader.nrIn(t.activePIDNS())
}

func (t *Task) isLeader() bool { return t.tg.leader == t }

func (t *Task) alive() bool { return t.state < taskZombie }

func (mm *MM) put() {
	mm.users--
	if mm.users == 0 {
		mm.release()
	}
}

// Status is how a guest program ended.
type Status struct {
	Code   int         // exit code when Signal is 0
	Signal unix.Signal // the killing signal, or 0
	Core   bool
}

// ShellCode is the status a shell would report: the exit code, or
// 128+signal for a killed program.
func (s Status) ShellCode() int {
	if s.Signal != 0 {
		return 128 + int(s.Signal)
	}
	return s.Code
}

// statusFromWait decodes a wait status word.
func statusFromWait(w int) Status {
	if w&0x7f == 0 {
		return Status{Code: w >> 8 & 0xff}
	}
	return Status{Signal: unix.Signal(w & 0x7f), Core: w&0x80 != 0}
}
