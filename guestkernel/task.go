package guestkernel

import (
	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"
)

// Task states.
const (
	taskRunning = iota
	taskZombie
	taskDead
)

// cred is struct cred's ids. The first task gets the host ids of the nsvm
// process, so a program sees the same uid/gid as it would natively.
type cred struct {
	uid, euid, suid, fsuid uint32
	gid, egid, sgid, fsgid uint32
}

// sigaction is struct k_sigaction as the x86-64 rt_sigaction ABI passes it.
type sigaction struct {
	handler, flags, restorer, mask uint64
}

// Task is a task_struct: one thread of a guest program with its own
// registers and (possibly shared) address space and files.
type Task struct {
	k     *Kernel
	pid   int // tgid
	tid   int
	ppid  int
	comm  string
	exe   string
	state int

	mm    *MM
	files *fdTable
	cred  cred

	// User context while the task is not on the vCPU.
	regs           kvm.Regs
	fsBase, gsBase uint64
	// sregsDirty asks the syscall return to load fsBase/gsBase.
	sregsDirty bool

	// traceLine holds a --trace line between entry and exit.
	traceLine string

	clearChildTID uint64
	robustList    uint64
	robustLen     uint64

	sigactions [64]sigaction
	sigmask    uint64
	rlimits    [rlimNlimits]rlimit

	// Exit status once a zombie.
	exitCode   int
	exitSignal unix.Signal
	coreDumped bool
}

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
