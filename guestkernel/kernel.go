// Package guestkernel is nsvm's guest kernel: a Go model of Linux that
// serves the syscalls and exceptions of static x86-64 programs running in
// guest user mode. It owns tasks, address spaces and the syscall table;
// it reaches the vCPU only through the CPU interface below, so the model
// can be driven without /dev/kvm.
//
// The flow of one guest syscall: user code executes SYSCALL, lands on the
// entry stub (arch/x86_64), whose `out` becomes a KVM_EXIT_IO; vm's run
// loop calls Kernel.HandleIO, which dispatches by RAX through the table
// in syscalls.go and resumes the guest with the result. One exit per
// syscall, no allocation on that path, registers read and written through
// the kvm_run sync area.
package guestkernel

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"

	x86 "nsvm/arch/x86_64"
	"nsvm/guestkernel/loader"
	"nsvm/vm"
)

// CPU is what the kernel model needs from a vCPU.
type CPU interface {
	// Registers returns the register file synced at the last exit.
	// Changes take effect on the next entry once marked dirty.
	Registers() (*kvm.Regs, *kvm.Sregs)
	MarkDirty(mask uint64)
	XSAVESize() int
	GetXSAVE(buf []byte) error
	SetXSAVE(buf []byte) error
}

// Config describes one guest run.
type Config struct {
	Image   []byte   // the ELF executable
	Path    string   // argv[0] as given; also AT_EXECFN
	ExePath string   // absolute path for /proc/self/exe
	Args    []string // argv, including argv[0]
	Env     []string // envp

	Stdin, Stdout, Stderr int // host fds bridged to guest fds 0-2

	// Bench enables the benchmark baselines: syscall NoWorkSyscall is
	// answered with no kernel work, and the user-callable `out` at
	// x86.BenchOutAddr exits and resumes. Off, both behave as on Linux
	// (ENOSYS, and SIGSEGV for a stray port access).
	Bench bool

	Trace io.Writer // strace-style syscall trace, or nil
	Log   io.Writer // warnings and crash reports (stderr)
}

// Kernel is one guest kernel instance, bound to one machine.
type Kernel struct {
	cfg   Config
	mem   []byte
	cpu   CPU
	pages *pageAllocator
	feat  x86.GuestFeatures

	tasks   map[int]*Task
	current *Task
	nextPID int

	// vm is the machine, for the shootdown fallback.
	vm *vm.Machine
	// shoot collects the page-table pages the VMM changed; they are
	// invalidated (and the TLB flushed) before the guest runs again.
	shoot x86.Shootdown

	// warned records the unknown syscalls already reported (once each).
	warned [512]bool

	// scratch is reused for syscall data copies (no allocation per exit).
	scratch []byte

	status Status
	done   bool

	// Stats counts what the kernel did, for benchmarks.
	Stats struct {
		Syscalls, Exceptions, PageFaults uint64
	}
}

// New prepares the guest kernel on machine m and vCPU c, loads the
// program from cfg and points the vCPU at its first instruction.
func New(m *vm.Machine, c *vm.VCPU, cfg Config) (*Kernel, error) {
	img, err := loader.Parse(cfg.Image)
	if err != nil {
		return nil, err
	}
	if uint64(len(m.Mem)) > x86.MaxGuestMem {
		return nil, fmt.Errorf("guest memory %d GiB is more than nsvm maps (%d GiB)", len(m.Mem)>>30, x86.MaxGuestMem>>30)
	}
	if uint64(len(m.Mem)) < x86.KernelAreaSize+4<<20 {
		return nil, fmt.Errorf("guest memory %d KiB is too small (need at least %d MiB)", len(m.Mem)>>10, (x86.KernelAreaSize+4<<20)>>20)
	}
	k := &Kernel{
		vm:      m,
		cfg:     cfg,
		mem:     m.Mem,
		cpu:     c,
		pages:   newPageAllocator(m.Mem, x86.KernelAreaSize),
		tasks:   map[int]*Task{},
		nextPID: 1,
		scratch: make([]byte, 64<<10),
	}
	if k.cfg.Log == nil {
		k.cfg.Log = os.Stderr
	}
	x86.SetupKernelArea(m.Mem)
	k.feat, err = x86.Boot(c, m.KVM().SupportedCPUID(), x86.XFeaturesUser)
	if err != nil {
		return nil, err
	}
	t := k.newInitTask()
	entry, sp, err := k.execImage(t, img, cfg.Path, cfg.Args, cfg.Env)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", cfg.Path, err)
	}
	t.regs = kvm.Regs{RIP: entry, RSP: sp, RFLAGS: x86.FlagReserved | x86.FlagIF}
	k.current = t
	// Enter the first task through the ioctls: the sync area is only
	// filled by an exit.
	r, s := c.Registers()
	x86.EnterUser(r, s, &t.regs, t.fsBase, t.gsBase, t.mm.pt.Root)
	if err := c.SetSregs(s); err != nil {
		return nil, err
	}
	if err := c.SetRegs(r); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *Kernel) newInitTask() *Task {
	t := &Task{k: k, pid: k.nextPID, tid: k.nextPID, comm: comm(k.cfg.Path), exe: k.cfg.ExePath}
	k.nextPID++
	t.files = newStdioTable(k.cfg.Stdin, k.cfg.Stdout, k.cfg.Stderr)
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	euid, egid := uint32(os.Geteuid()), uint32(os.Getegid())
	t.cred = cred{uid: uid, euid: euid, suid: euid, fsuid: euid, gid: gid, egid: egid, sgid: egid, fsgid: egid}
	t.initRlimits()
	k.tasks[t.tid] = t
	return t
}

// comm is the task name Linux derives from the file name (16 bytes max).
func comm(path string) string {
	b := filepath.Base(path)
	if len(b) > 15 {
		b = b[:15]
	}
	return b
}

// NoWorkSyscall is the syscall number of the no-work benchmark baseline
// (not a Linux syscall: Linux and nsvm without Config.Bench give ENOSYS).
const NoWorkSyscall = 0x4e53

// ErrTimeout is returned by Run when the guest ran past its deadline.
var ErrTimeout = errors.New("guest timed out")

// Run runs the guest until its last task exits, and returns how it ended.
// timeout 0 means no limit.
func (k *Kernel) Run(c *vm.VCPU, timeout time.Duration) (Status, error) {
	if timeout > 0 {
		tm := time.AfterFunc(timeout, func() { c.Kick(ErrTimeout) })
		defer tm.Stop()
	}
	err := c.Run(k)
	if err != nil {
		return k.status, err
	}
	return k.status, nil
}

// HandleIO is the VMM side of every syscall and exception (vm.Handler).
func (k *Kernel) HandleIO(c *vm.VCPU, io vm.IOExit) (bool, error) {
	r, s := c.Registers()
	t := k.current
	var dirty uint64
	frameAt := r.RSP // where the stub's iretq frame is
	switch {
	case io.Port == x86.SyscallPort && x86.IsSyscallExit(r, s):
		f, ok := x86.Frame(k.mem, r.RSP)
		if !ok {
			return true, &vm.ExitError{Reason: "bad syscall frame", Detail: fmt.Sprintf("kernel RSP %#x", r.RSP), Dump: vm.DumpRegs(r, s)}
		}
		if !f.FromEntry() {
			// The program's own int3: a breakpoint trap.
			u := *r
			u.RIP, u.RSP, u.RFLAGS = f.UserRIP(), f.UserRSP(), f.UserRFLAGS()
			k.fatalSignal(t, unix.SIGTRAP, x86.VecBP, 0, 0, u.RIP, &u, s)
			break
		}
		if r.RAX == NoWorkSyscall && k.cfg.Bench {
			// The benchmark's baseline: the whole entry and return
			// path, and no kernel work at all.
			r.RAX = 0
			f.SyscallReturn(r)
			c.MarkDirty(vm.SyncRegs)
			return false, nil
		}
		dirty = k.syscall(t, r, s, f)
	case io.Port == x86.BenchPort && k.cfg.Bench && (r.RIP == x86.BenchOutAddr || r.RIP == x86.BenchOutAddr+2):
		// The platform floor: a bare CPL3 `out` exit and re-entry.
		return false, nil
	case io.Port == x86.ExceptionPort && x86.CPL(s) == 0 && r.RIP >= x86.StubBase && r.RIP < x86.StubBase+x86.PageSize:
		var err error
		frameAt = r.RSP + 16 // past the vector and error code
		dirty, err = k.exception(t, r, s)
		if err != nil {
			return true, err
		}
	default:
		// User code executed in/out itself. On VMX that is a #GP
		// (IOPL 0, no I/O bitmap); PVM lets it exit, so make it one.
		k.fatalSignal(t, unix.SIGSEGV, x86.VecGP, 0, 0, r.RIP, r, s)
	}
	if k.done {
		return true, nil
	}
	if k.shoot.Pending() {
		if err := k.shootdown(r, s, frameAt); err != nil {
			return true, err
		}
		dirty |= vm.SyncRegs
	}
	c.MarkDirty(dirty)
	return false, nil
}

// shootdown arranges for the guest to invalidate the page-table pages
// the VMM changed, flush its TLB and only then return to user mode: the
// vCPU resumes at the shootdown stub with RSP at the iretq frame (see
// arch/x86_64/shootdown.go).
func (k *Kernel) shootdown(r *kvm.Regs, s *kvm.Sregs, frame uint64) error {
	if k.shoot.Overflow {
		if err := k.vm.InvalidateShadow(); err != nil {
			return err
		}
	}
	k.shoot.Commit(k.mem, s.CR3)
	r.RSP = frame
	r.RIP = x86.ShootdownStub
	return nil
}

// exitTask ends the current task (do_exit) and, as it is the only one,
// the guest.
func (k *Kernel) exitTask(t *Task, code int, sig unix.Signal, core bool) {
	t.exitCode, t.exitSignal, t.coreDumped = code, sig, core
	t.state = taskZombie
	if t.mm != nil {
		t.mm.put()
		t.mm = nil
	}
	delete(k.tasks, t.tid)
	if len(k.tasks) == 0 {
		k.status = Status{Code: code, Signal: sig, Core: core}
		k.done = true
	}
}

// Pages reports live and free guest pages (for tests and stats).
func (k *Kernel) Pages() (live, free int) { return k.pages.Live(), k.pages.Free() }
