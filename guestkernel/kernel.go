// Package guestkernel is nsvm's guest kernel: a Go model of Linux that
// serves the syscalls and exceptions of static x86-64 programs running in
// guest user mode. It owns tasks, address spaces and the syscall table;
// it reaches the vCPU only through the CPU interface below, so the model
// can be driven without /dev/kvm.
//
// The flow of one guest syscall: user code executes SYSCALL and lands on
// the `int3` at LSTAR (arch/x86_64); its #BP enters the ring-0 stub on the
// IST1 stack, whose `out` becomes a KVM_EXIT_IO. vm's run loop calls
// Kernel.HandleIO, which checks that the exit came from the entry
// (x86.IsSyscallExit, SyscallFrame.FromEntry: a program's own int3 is a
// SIGTRAP), dispatches by RAX through the table in syscalls.go, writes the
// result to RAX and rewrites the stub's iretq frame as sysretq would
// (SyscallFrame.SyscallReturn); the stub's iretq returns to user mode. One
// exit per syscall, no allocation on that path, registers read and written
// through the kvm_run sync area.
package guestkernel

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
	"github.com/nsvm/nsvm/fault"
	"github.com/nsvm/nsvm/guestkernel/loader"
	"github.com/nsvm/nsvm/ns"
	"github.com/nsvm/nsvm/vm"
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

	// Fault, when set, is asked at every fault-injection site of the
	// kernel model; true makes that allocation fail.
	Fault *fault.Injector
	// FailArm arms fail-nth on the task making a chosen syscall, for one
	// call (nsvm inject); its results land in Sweep.
	FailArm *FailArm
	// InitialFailNth arms the program's first task from its start.
	InitialFailNth uint32

	// MarkForks records the counters at every fork (Kernel.ForkMarks),
	// so that a benchmark can split the time of its timed loop only.
	MarkForks bool

	// XCR0Limit caps the vector state the guest gets (x86.XFeature*;
	// 0: everything the host and KVM offer), for FPU-size benchmarks.
	XCR0Limit uint64

	// OnMainExit, if set, is called once when the program's first thread
	// starts to exit, before it lets go of anything.
	OnMainExit func(k *Kernel)

	Trace io.Writer // strace-style syscall trace, or nil
	Log   io.Writer // warnings and crash reports (stderr)
}

// Kernel is one guest kernel instance, bound to one machine. It runs on
// the vCPU's thread only: no locks.
type Kernel struct {
	cfg   Config
	mem   []byte
	cpu   CPU
	pages *pageAllocator
	feat  x86.GuestFeatures

	// vm is the machine, for the shootdown fallback.
	vm *vm.Machine
	// nsw holds every namespace (package ns).
	nsw *ns.World
	// shoot collects the page-table pages the VMM changed; they are
	// invalidated (and the TLB flushed) before the guest runs again.
	shoot x86.Shootdown

	tasks    map[int]*Task // by tid: live tasks and zombies
	pids     map[int]bool  // allocated pids
	lastPID  int
	init     *Task        // pid 1: nsvm's own init, the reaper of orphans
	mainTG   *threadGroup // the program nsvm was asked to run
	current  *Task        // the task whose context is on the vCPU
	fpuOwner *Task        // whose registers the vCPU's FPU holds
	runq     []*Task
	// tick is the preemption tick of Run, armed (tickArmed) only while
	// it has work: see updateTick.
	tick      *time.Ticker
	tickArmed bool

	nrThreads, maxThreads int
	trace                 *kernelTrace // --trace (trace.go)
	futexQ                []futexWaiter
	pipeIno               uint64

	// sregs is the synced sregs of the current exit.
	sregs *kvm.Sregs
	// sysArgs holds the arguments of the syscall being served, and
	// sysUserRSP the caller's stack pointer.
	sysArgs    args
	sysUserRSP uint64
	// forkFrame is the user context of the task in a syscall, for
	// copy_thread (set by the dispatcher for the process-creating
	// syscalls).
	forkFrame uctx

	// warned records the unknown syscalls already reported (once each).
	warned [512]bool

	// scratch is reused for syscall data copies (no allocation per exit).
	scratch []byte
	// kmem is the kernel memory charged to the guest (kmem.go).
	kmem int

	status      Status
	done        bool
	mainExiting bool

	// history records every task of the run (--ps); dumpReq asks for a
	// task table at the next tick (SIGQUIT).
	history []*taskRecord
	dumpReq atomic.Bool

	// boot is when the kernel started (sysinfo's uptime).
	boot time.Time

	// Stats counts what the kernel did, for tests and benchmarks.
	Stats Stats
	// ForkMarks are the counters at each fork's entry (Config.MarkForks).
	ForkMarks []Counters
}

// Stats are the kernel's counters: work done, and live objects (which
// must return to their baseline after every fork and exit).
type Stats struct {
	Syscalls, Exceptions, PageFaults uint64
	Forks, Switches, Preemptions     uint64
	XSAVEGets, XSAVESets             uint64
	XSAVETime                        time.Duration
	PagesCopied, PagesShared         uint64
	COWCopies, COWReused             uint64
	Shootdowns, ShootdownPages       uint64
	SignalsDelivered                 uint64
	ForkEager                        bool
	ForkCopyTime                     time.Duration // in dup_mm

	LiveTasks, LiveCreds, LiveFiles, LiveFDTables int
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
		pids:    map[int]bool{},
		scratch: make([]byte, 64<<10),
		boot:    time.Now(),
	}
	// max_threads as fork_init computes it: an eighth of memory in
	// kernel stacks (16 KiB each).
	k.maxThreads = max(len(m.Mem)/(8*16<<10), 20)
	// The initial UTS names are the host's: the guest kernel models the
	// Linux it runs on. user.max_*_namespaces = threads-max / 2.
	k.nsw = ns.NewWorld(hostNames(), k.maxThreads/2)
	if k.cfg.Log == nil {
		k.cfg.Log = os.Stderr
	}
	if k.cfg.Fault == nil {
		// The guest's /proc/<pid>/fail-nth works in every run, as on a
		// kernel built with CONFIG_FAULT_INJECTION; probabilistic
		// injection stays off (probability 0).
		// Linux logs injections to the kernel log, not the program's
		// stderr: no log unless asked for (nsvm run --fail-verbose).
		k.cfg.Fault = fault.NewInjector(0)
	}
	x86.SetupKernelArea(m.Mem)
	xcr0 := cfg.XCR0Limit
	if xcr0 == 0 {
		xcr0 = x86.XFeaturesUser
	}
	k.feat, err = x86.Boot(c, m.KVM().SupportedCPUID(), xcr0)
	if err != nil {
		return nil, err
	}
	t := k.newFirstTask()
	entry, sp, err := k.execImage(t, img, cfg.Path, cfg.Args, cfg.Env)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", cfg.Path, err)
	}
	t.ctx = uctx{regs: kvm.Regs{RIP: entry, RSP: sp, RFLAGS: x86.FlagReserved | x86.FlagIF}}
	t.fpu, _ = x86.FPUAlloc(c.XSAVESize())
	x86.FPUInit(t.fpu)
	k.fpuOwner = t // the vCPU's reset FPU state is execve's initial one
	k.current = t
	t.onCPU = true
	// Enter the first task through the ioctls: the sync area is only
	// filled by an exit.
	r, s := c.Registers()
	x86.EnterUser(r, s, &t.ctx.regs, 0, 0, t.mm.pt.Root)
	if err := c.SetSregs(s); err != nil {
		return nil, err
	}
	if err := c.SetRegs(r); err != nil {
		return nil, err
	}
	return k, nil
}

// newFirstTask makes nsvm's init (pid 1, a kernel-side reaper that never
// runs guest code) and the program's task (pid 2), its child. The
// program is not pid 1, so that, as natively, it has no init semantics
// (signal protection, reaping): its output then matches a native run.
func (k *Kernel) newFirstTask() *Task {
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	euid, egid := uint32(os.Geteuid()), uint32(os.Getegid())
	cr := &cred{uid: uid, euid: euid, suid: euid, fsuid: euid, gid: gid, egid: egid, sgid: egid, fsgid: egid, refs: 1,
		userNS: k.nsw.InitUser, capBnd: capFull}
	if euid == 0 {
		// root holds every capability, as a native root process does.
		cr.capEff, cr.capPrm = capFull, capFull
	}
	k.Stats.LiveCreds++
	ip := k.nsw.InitPID
	initTG := &threadGroup{tgid: 1, pgid: 1, sid: 1, refs: 1}
	k.init = &Task{k: k, tid: 1, tg: initTG, comm: "init", state: taskBlocked, cred: cr, exitSignal: int(unix.SIGCHLD),
		nsproxy: k.nsw.InitNsproxy, pids: []pidLink{{ip, 1}}}
	ip.Reaper = k.init
	initTG.leader = k.init
	initTG.threads = []*Task{k.init}
	k.pids[1] = true
	cr.refs++

	tg := &threadGroup{tgid: 2, pgid: 2, sid: 2, refs: 1}
	t := &Task{k: k, tid: 2, tg: tg, comm: comm(k.cfg.Path), exe: k.cfg.ExePath, parent: k.init,
		exitSignal: int(unix.SIGCHLD), cred: cr, pidfdNum: -1, pids: []pidLink{{ip, 2}}}
	t.nsproxy = k.nsw.InitNsproxy
	k.nsw.InitNsproxy.Refs++
	ip.Used[1], ip.Used[2], ip.LastPID, ip.Allocated = true, true, 2, 2
	tg.leader = t
	tg.threads = []*Task{t}
	tg.initRlimits()
	k.init.children = []*Task{t}
	t.files = k.newStdioTable(k.cfg.Stdin, k.cfg.Stdout, k.cfg.Stderr)
	t.fs = &fsStruct{umask: 0o022, users: 1}
	t.sighand = &sighand{refs: 1}
	k.pids[2] = true
	k.lastPID = 2
	k.tasks[2] = t
	k.mainTG = tg
	t.fault.FailNth = k.cfg.InitialFailNth
	k.recordTask(t)
	k.nrThreads = 1
	k.Stats.LiveTasks = 1
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

// Run runs the guest until its last task exits, and returns how the
// program ended. timeout 0 means no limit. While another task waits to
// run, or a sleeper's timeout is pending, a 10 ms tick interrupts the
// vCPU (HandleInterrupt): it preempts the task on the vCPU and expires
// timeouts. A lone task with no timeout pending runs without ticks.
func (k *Kernel) Run(c *vm.VCPU, timeout time.Duration) (Status, error) {
	if timeout > 0 {
		tm := time.AfterFunc(timeout, func() { c.Kick(ErrTimeout) })
		defer tm.Stop()
	}
	stop := make(chan struct{})
	defer close(stop)
	tick := time.NewTicker(tickPeriod)
	tick.Stop() // armed by updateTick
	k.tick, k.tickArmed = tick, false
	defer func() {
		tick.Stop()
		k.tick, k.tickArmed = nil, false
	}()
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				c.Interrupt()
			}
		}
	}()
	k.updateTick()
	err := c.Run(k)
	k.traceFlush()
	if err != nil {
		return k.status, err
	}
	return k.status, nil
}

// HandleIO is the VMM side of every syscall and exception (vm.Handler).
func (k *Kernel) HandleIO(c *vm.VCPU, io vm.IOExit) (stop bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			stop, err = true, k.bug(p)
		}
	}()
	r, s := c.Registers()
	t := k.current
	fr := exitFrame{at: r.RSP, ok: true}
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
		if k.syscall(t, r, s, f) {
			// The fast path: the same task goes on. It set no
			// timeout (it would have blocked), but it may have
			// woken or made another task.
			if len(k.runq) > 0 && !k.tickArmed {
				k.updateTick()
			}
			c.MarkDirty(vm.SyncRegs)
			return false, nil
		}
	case io.Port == x86.BenchPort && k.cfg.Bench && (r.RIP == x86.BenchOutAddr || r.RIP == x86.BenchOutAddr+2):
		// The platform floor: a bare CPL3 `out` exit and re-entry.
		return false, nil
	case io.Port == x86.ExceptionPort && x86.CPL(s) == 0 && r.RIP >= x86.StubBase && r.RIP < x86.StubBase+x86.PageSize:
		fr.at = r.RSP + 16 // past the vector and error code
		if err := k.exception(t, r, s); err != nil {
			return true, err
		}
	default:
		// User code executed in/out itself. On VMX/SVM that is a #GP
		// (IOPL 0, and the I/O bitmap opens only BenchPort); PVM lets
		// it exit, so make it one.
		k.fatalSignal(t, unix.SIGSEGV, x86.VecGP, 0, 0, r.RIP, r, s)
		fr.ok = x86.CPL(s) == 0
	}
	return k.finishExit(c, r, s, fr)
}

// finishExit picks the task to run next and resumes it.
func (k *Kernel) finishExit(c *vm.VCPU, r *kvm.Regs, s *kvm.Sregs, fr exitFrame) (bool, error) {
	if cur := k.current; cur != nil && cur.onCPU && cur.state == taskBlocked || cur != nil && cur.onCPU && cur.state == taskStopped {
		cur.ctx = k.liveCtx(r, s, fr)
		cur.onCPU = false
	}
	// A handler to run: the task's context moves into its task struct,
	// gets a signal frame, and is loaded again (first in line).
	if cur := k.current; cur != nil && cur.onCPU && cur.state == taskRunnable && cur.nextHandlerSignal() != 0 {
		if err := k.saveCurrent(cur, fr); err != nil {
			return true, err
		}
		k.setupFrames(cur)
		if cur.state == taskRunnable {
			k.runq = append([]*Task{cur}, k.runq...)
		}
	}
	next, err := k.pickNext(c)
	if err != nil {
		return true, err
	}
	if next == nil {
		k.done = true
		return true, nil
	}
	if !next.onCPU && next.nextHandlerSignal() != 0 {
		k.setupFrames(next)
		if next.state != taskRunnable {
			return k.finishExit(c, r, s, fr)
		}
	}
	dirty, err := k.switchTo(c, next, r, s, fr)
	if err != nil {
		return true, err
	}
	c.MarkDirty(dirty)
	k.updateTick()
	return false, nil
}

// shootdown arranges for the guest to invalidate the page-table pages
// the VMM changed, flush its TLB, load cr3 and only then return to user
// mode: the vCPU resumes at the shootdown stub with RSP at the iretq
// frame (see arch/x86_64/shootdown.go).
func (k *Kernel) shootdown(r *kvm.Regs, s *kvm.Sregs, frame, cr3 uint64) error {
	if k.shoot.Overflow {
		if err := k.vm.InvalidateShadow(); err != nil {
			return err
		}
	}
	k.Stats.Shootdowns++
	k.Stats.ShootdownPages += uint64(k.shoot.Len())
	k.shoot.Commit(k.mem, cr3)
	r.RSP = frame
	r.RIP = x86.ShootdownStub
	return nil
}

// bug turns a panic in the kernel model (an nsvm bug, never the guest's
// fault), recovered by the handlers, into a clean error that ends the
// run instead of a crashed VMM.
func (k *Kernel) bug(p any) error {
	return fmt.Errorf("internal error in the guest kernel model: %v\n%s", p, debug.Stack())
}

func (k *Kernel) logf(format string, a ...any) {
	fmt.Fprintf(k.cfg.Log, format+"\n", a...)
}

// Pages reports live and free guest pages (for tests and stats).
func (k *Kernel) Pages() (live, free int) { return k.pages.Live(), k.pages.Free() }

// Objects counts the kernel model's live objects: after every task has
// exited all of them must be back to zero (the leak audit of tests and
// fault-injection sweeps).
type Objects struct {
	Tasks, Pids, Creds, Files, FDTables int
	Namespaces, Nsproxies               int // beyond the initial ones
	Pages                               int // guest pages in use, page tables included
	FutexWaiters, Runnable              int
}

// Objects returns the live object counts. nsvm's own init (pid 1) and its
// credentials are not counted.
func (k *Kernel) Objects() Objects {
	o := Objects{
		Tasks:        k.Stats.LiveTasks,
		Creds:        k.Stats.LiveCreds - 1,
		Files:        k.Stats.LiveFiles,
		FDTables:     k.Stats.LiveFDTables,
		Pages:        k.pages.Live(),
		FutexWaiters: len(k.futexQ),
		Namespaces:   len(k.nsw.Live) - 8,
		Nsproxies:    k.nsw.Proxies - 1,
		Runnable:     len(k.runq),
	}
	for pid := range k.pids {
		if pid != 1 {
			o.Pids++
		}
	}
	return o
}

// xsaveAudit, when set (tests), sees the FPU images fork and the
// scheduler move: "fork" with the parent's image and the child's, "set"
// with an image loaded into the vCPU and what the vCPU reports back.
var xsaveAudit func(event string, a, b []byte)

// VCPUExits returns the vCPU's exit counters and times.
func (k *Kernel) VCPUExits() vm.ExitStats {
	if c, ok := k.cpu.(*vm.VCPU); ok {
		return c.Exits
	}
	return vm.ExitStats{}
}

// hostNames reads the host's uname.
func hostNames() ns.HostNames {
	var u unix.Utsname
	unix.Uname(&u)
	str := func(b []byte) string {
		for i, c := range b {
			if c == 0 {
				return string(b[:i])
			}
		}
		return string(b)
	}
	return ns.HostNames{Sysname: str(u.Sysname[:]), Nodename: str(u.Nodename[:]), Release: str(u.Release[:]),
		Version: str(u.Version[:]), Machine: str(u.Machine[:]), Domainname: str(u.Domainname[:])}
}

// Counters is a snapshot of the cost counters (see ForkMarks).
type Counters struct {
	Exits                       uint64
	InGuest, InHandle           time.Duration
	XSAVETime, ForkCopyTime     time.Duration
	PagesCopied, ShootdownPages uint64
	COWFaults                   uint64
	At                          time.Time
}

func (k *Kernel) counters() Counters {
	c := k.VCPUExits()
	return Counters{Exits: c.Total, InGuest: c.InGuest, InHandle: c.InHandle, XSAVETime: k.Stats.XSAVETime,
		ForkCopyTime: k.Stats.ForkCopyTime, PagesCopied: k.Stats.PagesCopied, ShootdownPages: k.Stats.ShootdownPages,
		COWFaults: k.Stats.COWCopies + k.Stats.COWReused, At: time.Now()}
}
