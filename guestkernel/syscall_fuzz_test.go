package guestkernel

// FuzzSyscalls drives the syscall table with random syscall numbers and
// arguments, the way a guest's SYSCALL reaches it, without /dev/kvm: the
// kernel model runs on a fake vCPU (registers and an XSAVE image in
// memory) over real guest memory, and a small scheduler stands in for the
// VMM's switch so that forked children, woken sleepers and signal
// handlers make syscalls too. The rules it checks:
//
//   - no Go panic, whatever the guest passes (a bad pointer is EFAULT,
//     an unknown syscall ENOSYS);
//   - host memory stays bounded: one syscall may allocate at most
//     hostAllowance(), measured with runtime.MemStats.TotalAlloc (bytes
//     allocated, which no garbage collection can hide);
//   - when every task has been killed, every kernel object is gone and
//     the namespace counts agree (Objects, AuditNamespaces).
//
// CI runs it for a fixed number of inputs:
//
//	go test ./guestkernel -run '^$' -fuzz '^FuzzSyscalls$' -fuzztime 20000x
//
// A program is a byte string (see fuzzProgram for the encoding); the seed
// corpus is in testdata/fuzz/FuzzSyscalls and in fuzzSeeds.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
	"github.com/nsvm/nsvm/fault"
	"github.com/nsvm/nsvm/ns"
)

// fuzzCPU is a vCPU without KVM: the register file of the last exit and
// the FPU's XSAVE image.
type fuzzCPU struct {
	regs  kvm.Regs
	sregs kvm.Sregs
	fpu   []byte
}

func (c *fuzzCPU) Registers() (*kvm.Regs, *kvm.Sregs) { return &c.regs, &c.sregs }
func (c *fuzzCPU) MarkDirty(uint64)                   {}
func (c *fuzzCPU) XSAVESize() int                     { return len(c.fpu) }
func (c *fuzzCPU) GetXSAVE(b []byte) error            { copy(b, c.fpu); return nil }
func (c *fuzzCPU) SetXSAVE(b []byte) error            { copy(c.fpu, b); return nil }

// The fuzzed task's address space.
const (
	fzMem      = 32 << 20   // guest memory
	fzData     = 0x10000000 // 16 read-write pages the program writes into
	fzDataLen  = 16 * pageSize
	fzStrings  = 0x10020000 // one read-only page of strings
	fzUnmapped = 0x10100000 // nothing mapped here
	fzUserRIP  = 0x401002   // where the SYSCALLs "are" (never executed)
	fzMaxCalls = 64         // syscalls per program
	fzXCR0     = x86.XFeatureX87 | x86.XFeatureSSE
)

// fzStringTab is what pointer arguments of kind 3 point to: the paths and
// file contents the syscalls nsvm serves understand, and a few that are
// almost right.
var fzStringTab = []string{
	"/proc/self/status", "/proc/thread-self/fail-nth", "/proc/self/fail-nth", "/proc/self/make-it-fail",
	"/proc/self/ns/uts", "/proc/self/ns/ipc", "/proc/self/ns/pid", "/proc/self/ns/user", "/proc/self/ns/mnt",
	"/proc/self/ns/net", "/proc/self/ns/cgroup", "/proc/self/ns/time", "/proc/self/ns/pid_for_children",
	"/proc/self/ns/time_for_children", "/proc/self/uid_map", "/proc/self/gid_map", "/proc/self/setgroups",
	"/proc/self/exe", "/proc/2/status", "/proc/3/status", "/proc/1/status", "/proc/2/task/2/fail-nth",
	"/proc/2/task/3/fail-nth", "/proc/thread-self/ns/uts", "/proc/self/ns/", "/proc/self/", "/proc/", "",
	"relative", "/proc/99999999999999999999/status", "0 0 1\n", "0 1000 1\n", "0 0 4294967295\n", "1\n", "3\n",
	"deny\n", "allow\n", "-1\n", "0x7fffffff\n", "nsvm-fuzz-host",
}

// fzInteresting are the constants argument kind 5 picks from: edges of
// the kernel's limits and of the address space.
var fzInteresting = []uint64{
	0, 1, 2, 3, 7, 8, 15, 16, 63, 64, 65, 127, 128, 255, 256, 1023, 1024, 1025, 4095, 4096, 4097,
	8192, 8193, 16384, 65535, 65536, 1 << 20, 1<<20 + 1, 0x7ffff000, 0x7fff0000, 0x7fffffff, 0x80000000,
	0xffffffff, 1 << 32, 1<<47 - 4096, taskSize, taskSize - 1, x86.KernelBase, 1 << 63, 1<<63 - 1,
	^uint64(0), ^uint64(0) - 4095, ^uint64(0) - 1, unix.PathMax, unix.PathMax + 1, msgMax, msgMax + 1,
	uioMaxIOV, maxRWCount, pipeBufSize, nrOpen, nrOpen - 1,
	cloneVM | cloneFS | cloneFiles | cloneSighand | cloneThread | cloneSysVSem | cloneSetTLS | cloneParentSetTID | cloneChildClrTID,
	cloneNewNS, cloneNewUTS, cloneNewIPC, cloneNewPID, cloneNewUser, cloneNewNet, cloneNewCgroup, cloneNewTime,
	cloneVfork | cloneVM, cloneNewPID | cloneNewUser, uint64(unix.SIGCHLD), cloneNewUser | cloneNewUTS | cloneNewIPC,
	unix.MAP_PRIVATE | unix.MAP_ANONYMOUS, unix.MAP_SHARED | unix.MAP_ANONYMOUS,
	unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_FIXED, unix.MAP_SHARED | unix.MAP_ANONYMOUS | unix.MAP_FIXED,
	unix.PROT_READ | unix.PROT_WRITE, unix.O_RDWR, unix.O_WRONLY, unix.O_NONBLOCK, unix.O_CLOEXEC,
	ipcCreat | 0o666, ipcCreat | ipcExcl | 0o600, ipcNoWait, msgNoError | ipcNoWait, msgExcept, msgCopy,
	futexWait | futexPrivateFlag, futexWake | futexPrivateFlag, futexWaitBitset | futexClockRealtime,
	unix.WNOHANG, unix.WNOHANG | unix.WUNTRACED | unix.WCONTINUED, 0x40000000 /* __WALL */, unix.P_ALL, unix.P_PID,
	unix.P_PGID, 3 /* P_PIDFD */, unix.WEXITED | unix.WNOHANG, archSetFS, archGetFS, archGetGS, archGetCPUID,
	unix.PR_SET_NAME, unix.PR_GET_NAME, unix.PR_SET_PDEATHSIG, unix.F_DUPFD, unix.F_SETFL, unix.F_GETFD,
	unix.RLIMIT_NOFILE, unix.RLIMIT_STACK, sigsetSize, tcgets, tiocgwinsz, fionread, atEmptyPath,
}

// fzSyscalls are the numbers kind-0 syscall selectors pick from: every
// row of the table.
var fzSyscalls = func() []uint64 {
	var nrs []uint64
	for nr, e := range syscallTable {
		if e.fn != nil {
			nrs = append(nrs, uint64(nr))
		}
	}
	return nrs
}()

// fzReader hands out the program's bytes, zeros once they run out.
type fzReader struct {
	b   []byte
	off int
}

func (r *fzReader) done() bool { return r.off >= len(r.b) }

func (r *fzReader) u8() byte {
	if r.off >= len(r.b) {
		r.off++
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *fzReader) uN(n int) uint64 {
	var v uint64
	for i := 0; i < n; i++ {
		v |= uint64(r.u8()) << (8 * i)
	}
	return v
}

// fuzzEnv is a kernel on a fake vCPU with one task, ready for syscalls.
type fuzzEnv struct {
	k   *Kernel
	cpu *fuzzCPU
	fr  x86.SyscallFrame
	log bytes.Buffer
}

// Program header bits.
const (
	fzTrace    = 1 << 0 // --trace on (to io.Discard)
	fzRoot     = 1 << 1 // the task is root with every capability
	fzInject   = 1 << 2 // probabilistic fault injection
	fzLowLimit = 1 << 3 // RLIMIT_NOFILE 64/4096 instead of 1024/4096
)

// fzArena is the guest memory, reused from one program to the next: only
// the part the page allocator handed out (dirty) needs clearing, which is
// much cheaper than a fresh allocation of fzMem bytes each time.
var fzArena struct {
	mem   []byte
	dirty uint64
}

func fuzzMemory() []byte {
	if fzArena.mem == nil {
		fzArena.mem = make([]byte, fzMem)
	} else {
		clear(fzArena.mem[:fzArena.dirty])
	}
	fzArena.dirty = fzMem // until the program ends normally
	return fzArena.mem
}

func newFuzzEnv(tb testing.TB, flags, seed byte, null *os.File) *fuzzEnv {
	tb.Helper()
	e := &fuzzEnv{cpu: &fuzzCPU{}}
	k := &Kernel{
		mem:        fuzzMemory(),
		cpu:        e.cpu,
		tasks:      map[int]*Task{},
		pids:       map[int]bool{},
		scratch:    make([]byte, 4096),
		maxThreads: 64,
	}
	e.k = k
	k.nsw = ns.NewWorld(ns.HostNames{Sysname: "Linux", Nodename: "fuzz", Release: "6.1.0", Version: "#1", Machine: "x86_64"}, k.maxThreads/2)
	k.feat.XCR0 = fzXCR0
	k.cfg.Log = &e.log
	k.cfg.Path, k.cfg.ExePath = "fuzz", "/fuzz"
	fd := int(null.Fd())
	k.cfg.Stdin, k.cfg.Stdout, k.cfg.Stderr = fd, fd, fd
	if flags&fzTrace != 0 {
		k.cfg.Trace = io.Discard
	}
	if os.Getenv("NSVM_FUZZ_TRACE") != "" {
		k.cfg.Trace = os.Stderr // to read what a program does
	}
	k.cfg.Fault = fault.NewInjector(uint64(seed))
	if flags&fzInject != 0 {
		for _, a := range k.cfg.Fault.Attrs {
			a.Probability = uint64(1 + seed%20)
			a.Times = -1
			a.Verbose = 0
		}
	}
	k.pages = newPageAllocator(k.mem, x86.KernelAreaSize)
	x86.SetupKernelArea(k.mem)
	mm, err := k.newMM()
	if err != nil {
		tb.Fatalf("newMM: %v", err)
	}
	e.cpu.fpu = make([]byte, x86.LayoutFor(fzXCR0).Size)
	x86.FPUInit(e.cpu.fpu)

	t := k.newFirstTask()
	t.mm = mm
	mm.brkStart, mm.brk = 0x20000000, 0x20000000
	t.fpu = make([]byte, len(e.cpu.fpu))
	x86.FPUInit(t.fpu)
	k.fpuOwner = t
	c := t.cred
	if flags&fzRoot != 0 {
		c.uid, c.euid, c.suid, c.fsuid, c.gid, c.egid, c.sgid, c.fsgid = 0, 0, 0, 0, 0, 0, 0, 0
		c.capEff, c.capPrm = capFull, capFull
	} else {
		c.uid, c.euid, c.suid, c.fsuid, c.gid, c.egid, c.sgid, c.fsgid = 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000
		c.capEff, c.capPrm, c.capInh = 0, 0, 0
	}
	// Linux's own defaults, not the host's: the same limits everywhere.
	for i := range t.tg.rlimits {
		t.tg.rlimits[i] = rlimit{^uint64(0), ^uint64(0)}
	}
	t.tg.rlimits[unix.RLIMIT_NOFILE] = rlimit{1024, 4096}
	if flags&fzLowLimit != 0 {
		t.tg.rlimits[unix.RLIMIT_NOFILE] = rlimit{64, 4096}
	}
	t.tg.rlimits[unix.RLIMIT_STACK] = rlimit{8 << 20, ^uint64(0)}
	k.current = t
	t.onCPU = true

	// The program's memory: data pages, then a read-only page of
	// strings, with unmapped pages after each.
	fixed := uint64(unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_FIXED)
	if r := sysMmap(t, &args{fzData, fzDataLen, unix.PROT_READ | unix.PROT_WRITE, fixed, noFD, 0}); r != fzData {
		tb.Fatalf("mmap data: %d", r)
	}
	if r := sysMmap(t, &args{fzStrings, pageSize, unix.PROT_READ | unix.PROT_WRITE, fixed, noFD, 0}); r != fzStrings {
		tb.Fatalf("mmap strings: %d", r)
	}
	off := uint64(0)
	for _, s := range fzStringTab {
		mm.copyOutKernel(fzStrings+off, append([]byte(s), 0))
		off += uint64(len(s)) + 1
	}
	// The page ends in a string without its NUL.
	for a := fzStrings + off; a < fzStrings+pageSize; a++ {
		mm.copyOutKernel(a, []byte{'x'})
	}
	if r := sysMprotect(t, &args{fzStrings, pageSize, unix.PROT_READ}); r != 0 {
		tb.Fatalf("mprotect strings: %d", r)
	}

	// The exit's registers: the syscall stub's frame on the kernel
	// stack, the user context in it.
	e.cpu.regs.RSP = x86.KStackTop - 5*8
	fr, ok := x86.Frame(k.mem, e.cpu.regs.RSP)
	if !ok {
		tb.Fatal("no syscall frame")
	}
	e.fr = fr
	t.ctx.regs = kvm.Regs{RIP: fzUserRIP, RSP: fzData + fzDataLen - 256, RFLAGS: x86.FlagReserved | x86.FlagIF}
	e.load(t)
	k.shoot.Commit(k.mem, mm.pt.Root)
	return e
}

// load puts t's context on the fake vCPU, as switchTo does.
func (e *fuzzEnv) load(t *Task) {
	r, s := &e.cpu.regs, &e.cpu.sregs
	w := e.k.frameWords(x86.KStackTop - 5*8)
	*r = t.ctx.regs
	le.PutUint64(w[0:], t.ctx.regs.RIP)
	le.PutUint64(w[8:], x86.SelUserCS)
	le.PutUint64(w[16:], t.ctx.regs.RFLAGS&x86.FlagsUser|x86.FlagReserved)
	le.PutUint64(w[24:], t.ctx.regs.RSP)
	le.PutUint64(w[32:], x86.SelUserDS)
	r.RSP = x86.KStackTop - 5*8
	r.RIP = x86.IretStub
	s.FS.Base, s.GS.Base = t.ctx.fsBase, t.ctx.gsBase
}

// strAddr is the address of fzStringTab[i].
func strAddr(i int) uint64 {
	a := uint64(fzStrings)
	for _, s := range fzStringTab[:i%len(fzStringTab)] {
		a += uint64(len(s)) + 1
	}
	return a
}

// arg decodes one argument: a kind byte, then its payload.
func (e *fuzzEnv) arg(r *fzReader) uint64 {
	switch kind := r.u8(); kind % 12 {
	case 0:
		return uint64(r.u8())
	case 1:
		return -uint64(r.u8()) - 1
	case 2:
		return fzData + r.uN(2)%fzDataLen
	case 3:
		return strAddr(int(r.u8()))
	case 4:
		return r.uN(8)
	case 5:
		return fzInteresting[int(r.u8())%len(fzInteresting)]
	case 6:
		return fzData + fzDataLen - uint64(r.u8()) // runs into unmapped memory
	case 7:
		return fzUnmapped + uint64(r.u8())*pageSize
	case 8:
		return fzStrings + uint64(r.u8())*8 // read-only
	case 9:
		return r.uN(4)
	case 10:
		return fzData + uint64(r.u8())*8
	default:
		return x86.KernelBase + uint64(r.u8())*pageSize
	}
}

// Program opcodes (the first byte of each step).
const (
	opLinuxNr = 0xe0 // syscall by a number below 512 (Linux's table)
	opRawNr   = 0xf0 // syscall by a 16-bit number
	opHugeNr  = 0xf8 // syscall by a 64-bit number
	opTrap    = 0xfb // the task takes an exception
	opPoke    = 0xfc // the program stores bytes into its data pages
	opSetRSP  = 0xfd // the program moves its stack pointer
	opPokePtr = 0xfe // the program stores an argument-encoded word
)

// fuzzProgram runs one program:
//
//	header: flags (fzTrace, fzRoot, fzInject, fzLowLimit), seed
//	steps:  [opcode][...]
//	   opcode < opLinuxNr: syscall fzSyscalls[opcode % n]
//	   opLinuxNr..:        syscall (opcode&1)<<8 | byte (Linux's numbers,
//	                       nsvm's or not: ENOSYS and --trace's decoders)
//	   opRawNr..:          syscall uint16
//	   opHugeNr..:        syscall uint64
//	     then a count byte (args given = count % 7), each arg a kind
//	     byte and its payload (see arg)
//	   opPoke:    offset uint16, length byte, bytes
//	   opSetRSP:  an argument (the new user RSP)
//	   opTrap:    vector byte, error code uint32, CR2 and RIP arguments
//	   opPokePtr: offset uint16, an argument (8 bytes stored there)
func fuzzProgram(tb testing.TB, prog []byte, null *os.File) {
	r := &fzReader{b: prog}
	flags, seed := r.u8(), r.u8()
	e := newFuzzEnv(tb, flags, seed, null)
	k := e.k
steps:
	for calls := 0; calls < fzMaxCalls && !r.done(); {
		t := k.current
		if t == nil || !t.onCPU || t.state != taskRunnable {
			break
		}
		op := r.u8()
		switch {
		case op == opPoke:
			off, n := r.uN(2)%fzDataLen, int(r.u8())
			b := make([]byte, n)
			for i := range b {
				b[i] = r.u8()
			}
			if t.mm != nil {
				t.mm.copyOutKernel(fzData+off, b[:min(uint64(n), fzDataLen-off)])
			}
			continue
		case op == opPokePtr:
			off := r.uN(2) % (fzDataLen - 8)
			v := e.arg(r)
			if t.mm != nil {
				var b [8]byte
				le.PutUint64(b[:], v)
				t.mm.copyOutKernel(fzData+off, b[:])
			}
			continue
		case op == opSetRSP:
			e.fr.SetUserRSP(e.arg(r))
			continue
		case op == opTrap:
			vec, code := uint64(r.u8()%32), r.uN(4)
			cr2, rip := e.arg(r), e.arg(r)
			calls++
			if !e.trap(tb, t, vec, code, cr2, rip) || !e.schedule() {
				break steps
			}
			continue
		case op == 0xff:
			continue // reserved
		}
		var nr uint64
		switch {
		case op < opLinuxNr:
			nr = fzSyscalls[int(op)%len(fzSyscalls)]
		case op < opRawNr:
			nr = uint64(op&1)<<8 | uint64(r.u8())
		case op < opHugeNr:
			nr = r.uN(2)
		default:
			nr = r.uN(8)
		}
		var a args
		for i := range int(r.u8() % 7) {
			a[i] = e.arg(r)
		}
		calls++
		e.syscall(tb, t, nr, a)
		e.auditKmem(tb, nr)
		if !e.schedule() {
			break
		}
	}
	e.killAll(tb)
	fzArena.dirty = k.pages.next
}

// trap delivers an exception to t as the IDT stub forwards it: the vector
// and error code on the kernel stack above the hardware frame (the same
// words the syscall frame uses), CR2 for a page fault. It reports false
// when the kernel stopped the run (an ExitError, not a panic).
func (e *fuzzEnv) trap(tb testing.TB, t *Task, vec, code, cr2, rip uint64) bool {
	r, s := &e.cpu.regs, &e.cpu.sregs
	at := uint64(x86.KStackTop - 7*8)
	w := e.k.frameWords(at)
	le.PutUint64(w[0:], vec)
	le.PutUint64(w[8:], code)
	e.fr.SetUserRIP(rip)
	s.CR2 = cr2
	r.RSP = at
	before := allocated()
	err := e.k.exception(t, r, s)
	grew := allocated() - before
	r.RSP = x86.KStackTop - 5*8
	if limit := e.hostAllowance(); grew > limit {
		tb.Fatalf("exception %d at %#x (CR2 %#x) allocated %d bytes of host memory (allowed %d)", vec, rip, cr2, grew, limit)
	}
	e.auditKmem(tb, ^uint64(0))
	return err == nil
}

// syscall makes t's syscall nr through the dispatcher, as HandleIO does,
// and checks the host memory it took.
func (e *fuzzEnv) syscall(tb testing.TB, t *Task, nr uint64, a args) {
	r := &e.cpu.regs
	r.RAX = nr
	r.RDI, r.RSI, r.RDX, r.R10, r.R8, r.R9 = a[0], a[1], a[2], a[3], a[4], a[5]
	r.RCX, r.R11 = e.fr.UserRIP(), e.fr.UserRFLAGS()
	before := allocated()
	e.k.syscall(t, r, &e.cpu.sregs, e.fr)
	grew := allocated() - before
	if limit := e.hostAllowance(); grew > limit {
		tb.Fatalf("%s(%#x, %#x, %#x, %#x, %#x, %#x) allocated %d bytes of host memory (allowed %d)",
			sysName(nr), a[0], a[1], a[2], a[3], a[4], a[5], grew, limit)
	}
}

// hostAllowance is what one syscall may allocate: a transfer chunk and
// the runtime's own small change, plus a copy of the largest structures
// Linux's limits bound but whose size the guest chooses (an fd table of
// up to RLIMIT_NOFILE slots, a VMA list of up to max_map_count entries),
// which fork copies and growth reallocates.
func (e *fuzzEnv) hostAllowance() uint64 {
	fds, vmas := 0, 0
	for _, t := range e.k.tasks {
		if t.files != nil {
			fds = max(fds, cap(t.files.fds))
		}
		if t.mm != nil {
			vmas = max(vmas, cap(t.mm.vmas))
		}
	}
	const slack = 256 << 10
	return chunkMax + slack + 3*uint64(fds)*16 + 3*uint64(vmas)*48
}

// schedule finishes the exit as finishExit and switchTo do on a vCPU:
// the blocked task leaves the CPU, handlers get their frames, and the
// next runnable task is loaded. Time moves on when everything sleeps:
// the earliest timeout expires at once. It reports false when no task
// can run.
func (e *fuzzEnv) schedule() bool {
	k := e.k
	r, s := &e.cpu.regs, &e.cpu.sregs
	fr := exitFrame{at: r.RSP, ok: true}
	if cur := k.current; cur != nil && cur.onCPU && (cur.state == taskBlocked || cur.state == taskStopped) {
		cur.ctx = k.liveCtx(r, s, fr)
		cur.onCPU = false
	}
	if cur := k.current; cur != nil && cur.onCPU && cur.state == taskRunnable && cur.nextHandlerSignal() != 0 {
		if err := k.saveCurrent(cur, fr); err != nil {
			panic(err)
		}
		k.setupFrames(cur)
		if cur.state == taskRunnable {
			k.runq = append([]*Task{cur}, k.runq...)
		}
	}
	var next *Task
	for next == nil {
		if cur := k.current; cur != nil && cur.state == taskRunnable && cur.onCPU {
			next = cur
			break
		}
		if len(k.runq) > 0 {
			next = k.runq[0]
			k.runq = k.runq[1:]
		} else {
			var first *Task
			for _, t := range k.sortedTasks() {
				if t.state == taskBlocked && !t.wait.deadline.IsZero() && (first == nil || t.wait.deadline.Before(first.wait.deadline)) {
					first = t
				}
			}
			if first == nil {
				return false // every task exited, or a deadlock
			}
			k.timeout(first)
			continue
		}
		if !next.onCPU && next.nextHandlerSignal() != 0 {
			k.setupFrames(next)
			if next.state != taskRunnable {
				next = nil
			}
		}
	}
	prev := k.current
	if next == prev && prev.onCPU {
		if prev.sregsDirty {
			prev.sregsDirty = false
			s.FS.Base, s.GS.Base = prev.ctx.fsBase, prev.ctx.gsBase
		}
	} else {
		if prev != nil && prev.onCPU {
			if prev.alive() {
				prev.ctx = k.liveCtx(r, s, fr)
			}
			prev.onCPU = false
		}
		e.load(next)
		next.sregsDirty = false
		if k.fpuOwner != next {
			if o := k.fpuOwner; o != nil && o.alive() {
				e.cpu.GetXSAVE(o.fpu)
			}
			e.cpu.SetXSAVE(next.fpu)
			k.fpuOwner = next
		}
		next.onCPU = true
		k.current = next
	}
	if k.shoot.Pending() {
		k.shoot.Commit(k.mem, next.mm.pt.Root)
	}
	return true
}

// killAll ends the run as SIGKILL to every process would, then checks
// that nothing the program made outlives it.
func (e *fuzzEnv) killAll(tb testing.TB) {
	k := e.k
	for _, t := range k.sortedTasks() {
		if t.alive() {
			k.exitGroup(t.tg, signaledStatus(int(unix.SIGKILL)))
		}
	}
	if o := k.Objects(); o != (Objects{}) {
		tb.Fatalf("objects left after every task was killed: %+v", o)
	}
	if err := k.AuditNamespaces(); err != nil {
		tb.Fatalf("namespace audit after every task was killed: %v", err)
	}
	e.auditKmem(tb, ^uint64(0))
}

// auditKmem checks the kernel-memory account (kmem.go) against the
// objects that hold charges: it must never exceed its budget, and must
// equal what the live fd tables, files, pipes, address spaces and
// message queues hold, so that no charge leaks or is given back twice.
func (e *fuzzEnv) auditKmem(tb testing.TB, after uint64) {
	k := e.k
	used, limit := k.KernelMemory()
	if used > limit {
		tb.Fatalf("after %s: kernel memory %d over its budget %d", sysName(after), used, limit)
	}
	want := 0
	tables, files, mms, pipes := map[*fdTable]bool{}, map[*file]bool{}, map[*MM]bool{}, map[*pipe]bool{}
	for _, t := range k.sortedTasks() {
		if t.files != nil && !tables[t.files] {
			tables[t.files] = true
			want += t.files.charged * kmemFDSlot
			for _, fe := range t.files.fds {
				if f := fe.f; f != nil && !files[f] {
					files[f] = true
					want += f.kmem
					if p := f.pipe; p != nil && !pipes[p] {
						pipes[p] = true
						want += len(p.buf)
					}
				}
			}
		}
		if t.mm != nil && !mms[t.mm] {
			mms[t.mm] = true
			want += t.mm.vmaSlots * kmemVMA
		}
	}
	for _, n := range k.nsw.Live {
		if i, ok := n.(*ns.IPCNS); ok && i.Objects != nil {
			for _, q := range i.Objects.(*ipcState).queues {
				if q != nil {
					want += q.kmem()
				}
			}
		}
	}
	if used != want {
		tb.Fatalf("after %s: kernel memory charged %d, the objects hold %d", sysName(after), used, want)
	}
}

// fzProg builds programs for the seeds.
type fzProg struct{ b []byte }

func newProg(flags byte) *fzProg { return &fzProg{b: []byte{flags, 7}} }

// fzArg is an encoded argument.
type fzArg []byte

func aSmall(v byte) fzArg    { return fzArg{0, v} }
func aNeg(v byte) fzArg      { return fzArg{1, v} } // -(v+1)
func aData(off uint16) fzArg { return fzArg{2, byte(off), byte(off >> 8)} }
func aStr(s string) fzArg {
	for i, x := range fzStringTab {
		if x == s {
			return fzArg{3, byte(i)}
		}
	}
	panic("no string " + s)
}
func aRaw(v uint64) fzArg {
	return binary.LittleEndian.AppendUint64([]byte{4}, v)
}
func aEnd(back byte) fzArg       { return fzArg{6, back} }
func aUnmapped(page byte) fzArg  { return fzArg{7, page} }
func aReadOnly(word byte) fzArg  { return fzArg{8, word} }
func aKernel(page byte) fzArg    { return fzArg{11, page} }
func dataAddr(off uint16) uint64 { return fzData + uint64(off) }

// call appends syscall nr with its arguments.
func (p *fzProg) call(nr uint64, as ...fzArg) *fzProg {
	idx := -1
	for i, n := range fzSyscalls {
		if n == nr {
			idx = i
		}
	}
	switch {
	case idx >= 0 && idx < opLinuxNr:
		p.b = append(p.b, byte(idx))
	case nr < 512:
		p.b = append(p.b, opLinuxNr|byte(nr>>8), byte(nr))
	case nr < 1<<16:
		p.b = append(p.b, opRawNr, byte(nr), byte(nr>>8))
	default:
		p.b = binary.LittleEndian.AppendUint64(append(p.b, opHugeNr), nr)
	}
	p.b = append(p.b, byte(len(as)))
	for _, a := range as {
		p.b = append(p.b, a...)
	}
	return p
}

// poke stores b at the data pages' offset off.
func (p *fzProg) poke(off uint16, b []byte) *fzProg {
	p.b = append(p.b, opPoke, byte(off), byte(off>>8), byte(len(b)))
	p.b = append(p.b, b...)
	return p
}

// pokeU64 stores words at off.
func (p *fzProg) pokeU64(off uint16, vs ...uint64) *fzProg {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return p.poke(off, b)
}

// trap makes the current task take exception vec.
func (p *fzProg) trap(vec byte, code uint32, cr2, rip fzArg) *fzProg {
	p.b = append(p.b, opTrap, vec, byte(code), byte(code>>8), byte(code>>16), byte(code>>24))
	p.b = append(append(p.b, cr2...), rip...)
	return p
}

func (p *fzProg) setRSP(a fzArg) *fzProg {
	p.b = append(append(p.b, opSetRSP), a...)
	return p
}

// fuzzSeeds are programs that reach the interesting paths: vectored I/O
// with huge lengths, pipes, SysV messages, /proc, fork and namespaces,
// signals and sigreturn, mappings, exceptions, and unknown numbers.
func fuzzSeeds() map[string][]byte {
	seeds := map[string][]byte{}
	add := func(name string, p *fzProg) { seeds[name] = p.b }

	// The writev: a 0x7fff0000-byte iovec over the data pages.
	add("writev-huge", newProg(0).
		pokeU64(0x100, dataAddr(0x1000), 0x7fff0000, dataAddr(0x2000), 0x7fff0000).
		call(20, aSmall(1), aData(0x100), aSmall(1)).
		call(20, aSmall(1), aData(0x100), aSmall(2)).
		call(19, aSmall(0), aData(0x100), aSmall(2)).
		call(1, aSmall(1), aData(0), aRaw(0x7fff0000)).
		call(0, aSmall(0), aData(0), aRaw(0x7fff0000)).
		call(20, aSmall(1), aData(0x100), aRaw(uioMaxIOV+1)))
	add("pipe-vectored", newProg(fzTrace).
		call(22, aData(0x80)).
		pokeU64(0x100, dataAddr(0x1000), 0x7fff0000, dataAddr(0x2000), 0x7fff0000).
		poke(0x80, []byte{3, 0, 0, 0, 4, 0, 0, 0}).
		call(72, aSmall(4), aSmall(unix.F_SETFL), aRaw(unix.O_NONBLOCK)).
		call(20, aSmall(4), aData(0x100), aSmall(2)).
		call(19, aSmall(3), aData(0x100), aSmall(2)).
		call(20, aSmall(3), aData(0x100), aSmall(1)).
		call(19, aSmall(4), aData(0x100), aSmall(1)).
		call(16, aSmall(3), aRaw(fionread), aData(0x200)).
		call(3, aSmall(4)).
		call(0, aSmall(3), aData(0x300), aSmall(100)))
	add("msg", newProg(fzRoot).
		call(68, aSmall(0), aRaw(ipcCreat|0o666)).
		pokeU64(0x400, 1).
		call(69, aSmall(0), aData(0x400), aRaw(msgMax), aRaw(ipcNoWait)).
		call(69, aSmall(0), aData(0x400), aRaw(msgMax+1), aRaw(ipcNoWait)).
		call(69, aSmall(0), aData(0x400), aSmall(0), aRaw(ipcNoWait)).
		call(70, aSmall(0), aData(0x400), aRaw(0x7fff0000), aSmall(0), aRaw(ipcNoWait|msgNoError)).
		call(71, aSmall(0), aSmall(ipcStat), aData(0x800)).
		pokeU64(0x800+88, 1<<62).
		call(71, aSmall(0), aSmall(ipcSet), aData(0x800)).
		call(69, aSmall(0), aData(0x400), aRaw(msgMax), aRaw(ipcNoWait)).
		call(71, aSmall(0), aSmall(ipcRmid), aSmall(0)))
	add("proc", newProg(0).
		call(257, aNeg(99), aStr("/proc/self/status"), aSmall(0)).
		call(0, aSmall(3), aData(0), aRaw(0x7fff0000)).
		call(2, aStr("/proc/thread-self/fail-nth"), aSmall(unix.O_RDWR)).
		call(1, aSmall(4), aStr("3\n"), aSmall(2)).
		call(20, aSmall(4), aData(0x100), aSmall(1)).
		call(19, aSmall(3), aData(0x100), aSmall(1)).
		call(2, aStr("/proc/self/ns/uts"), aSmall(0)).
		call(1, aSmall(5), aData(0), aSmall(8)).
		call(20, aSmall(5), aData(0x100), aSmall(1)).
		call(89, aStr("/proc/self/exe"), aData(0), aRaw(0x7fff0000)).
		call(262, aNeg(99), aStr(""), aData(0), aRaw(atEmptyPath)).
		call(2, aEnd(3), aSmall(0)).
		call(2, aReadOnly(200), aSmall(0)))
	add("fork-ns", newProg(fzRoot|fzTrace).
		call(57).
		call(61, aNeg(0), aData(0), aSmall(0), aSmall(0)).
		call(56, aRaw(cloneNewPID|cloneNewUTS|cloneNewIPC|uint64(unix.SIGCHLD))).
		call(170, aStr("nsvm-fuzz-host"), aSmall(14)).
		call(272, aRaw(cloneNewUser|cloneNewNS)).
		call(2, aStr("/proc/self/uid_map"), aSmall(unix.O_WRONLY)).
		call(1, aSmall(3), aStr("0 0 1\n"), aSmall(6)).
		call(60, aSmall(3)).
		call(61, aNeg(0), aData(0), aSmall(0), aSmall(0)))
	add("clone3", newProg(fzRoot).
		pokeU64(0x200, cloneNewPID, 0, 0, 0, uint64(unix.SIGCHLD), 0, 0, 0, dataAddr(0x300), 2, 0).
		pokeU64(0x300, 1<<40, 7).
		call(435, aData(0x200), aSmall(88)).
		call(435, aData(0x200), aRaw(pageSize+1)).
		call(435, aData(0x200), aRaw(pageSize)).
		call(58).
		call(231, aSmall(0)))
	add("signals", newProg(0).
		pokeU64(0x200, fzUserRIP, 0x04000000, fzUserRIP, 0).
		call(13, aSmall(10), aData(0x200), aSmall(0), aSmall(8)).
		call(62, aSmall(2), aSmall(10)).
		call(15).
		call(131, aData(0x300), aData(0x400)).
		setRSP(aUnmapped(0)).
		call(15).
		call(200, aSmall(2), aSmall(11)))
	add("mm", newProg(0).
		call(9, aSmall(0), aRaw(1<<40), aSmall(0), aRaw(unix.MAP_PRIVATE|unix.MAP_ANONYMOUS), aNeg(0), aSmall(0)).
		call(10, aRaw(0x7f0000000000), aRaw(pageSize), aSmall(1)).
		call(9, aSmall(0), aRaw(0x7fff0000), aSmall(3), aRaw(unix.MAP_SHARED|unix.MAP_ANONYMOUS), aNeg(0), aSmall(0)).
		call(12, aRaw(0x30000000)).
		call(28, aData(0), aRaw(fzDataLen), aSmall(unix.MADV_DONTNEED)).
		call(11, aData(0), aRaw(1<<46)).
		call(318, aData(0), aRaw(0x7fff0000), aSmall(0)).
		call(1, aSmall(1), aKernel(0), aSmall(8)).
		call(0, aSmall(0), aKernel(1), aSmall(8)))
	add("unknown", newProg(0).
		call(167).
		call(511).
		call(512).
		call(1<<40).
		call(^uint64(0)).
		call(NoWorkSyscall))
	add("futex-sleep", newProg(0).
		pokeU64(0x200, 0, 5000).
		call(202, aData(0x100), aSmall(futexWait), aSmall(0), aData(0x200)).
		call(35, aData(0x200), aSmall(0)).
		call(230, aSmall(unix.CLOCK_MONOTONIC), aSmall(0), aData(0x200), aSmall(0)).
		call(34))
	add("ids", newProg(fzInject).
		pokeU64(0x200, linuxCapV3).
		call(125, aData(0x200), aData(0x300)).
		call(126, aData(0x200), aData(0x300)).
		call(116, aRaw(65537), aData(0)).
		call(157, aRaw(unix.PR_SET_NAME), aEnd(5)).
		call(157, aRaw(unix.PR_SET_NAME), aReadOnly(100)).
		call(117, aNeg(0), aRaw(1000), aNeg(0)).
		call(302, aSmall(0), aSmall(unix.RLIMIT_NOFILE), aData(0x200), aData(0x300)).
		call(33, aSmall(0), aRaw(4095)).
		call(33, aSmall(0), aRaw(1<<20)).
		call(57))
	add("threads", newProg(0).
		call(56, aRaw(cloneVM|cloneFS|cloneFiles|cloneSighand|cloneThread|cloneSysVSem|cloneSetTLS|cloneParentSetTID|cloneChildClrTID),
			aData(0x8000), aData(0x100), aData(0x108), aData(0x200)).
		call(202, aData(0x108), aSmall(futexWait), aSmall(0), aSmall(0)).
		call(186).
		call(234, aSmall(2), aSmall(3), aSmall(10)).
		call(218, aData(0x300)).
		call(60, aSmall(0)).
		call(202, aData(0x300), aSmall(futexWake), aSmall(1)).
		call(231, aSmall(1)))
	add("setns", newProg(fzRoot).
		call(272, aRaw(cloneNewUTS|cloneNewIPC|cloneNewUser)).
		call(2, aStr("/proc/self/ns/uts"), aSmall(0)).
		call(57).
		call(308, aSmall(3), aRaw(cloneNewUTS)).
		call(434, aSmall(2), aSmall(0)).
		call(308, aSmall(4), aRaw(cloneNewUTS|cloneNewIPC)).
		call(247, aSmall(3), aSmall(4), aData(0x100), aRaw(unix.WEXITED|unix.WNOHANG), aSmall(0)).
		call(62, aSmall(3), aSmall(9)).
		call(247, aSmall(unix.P_ALL), aSmall(0), aData(0x100), aRaw(unix.WEXITED), aSmall(0)))
	add("pgrp", newProg(0).
		call(57).
		call(109, aSmall(0), aSmall(0)).
		call(112).
		call(124, aSmall(0)).
		call(121, aSmall(3)).
		call(62, aNeg(2), aSmall(0)).
		call(62, aNeg(0), aSmall(0)).
		call(62, aNeg(0), aSmall(19)).
		call(61, aNeg(0), aData(0x100), aRaw(unix.WUNTRACED|unix.WCONTINUED|unix.WNOHANG), aData(0x200)).
		call(62, aSmall(3), aSmall(18)).
		call(61, aNeg(0), aData(0x100), aRaw(unix.WCONTINUED), aSmall(0)))
	add("traps", newProg(0).
		poke(0x1000, []byte{0x0f, 0x0b, 0xcc, 0x31, 0xc0, 0xf7, 0xf0, 0xc3}).
		trap(14, 4|2, aData(0x2000), aData(0x1000)).
		pokeU64(0x200, fzUserRIP, 0x04000000, fzUserRIP, 0).
		call(13, aSmall(11), aData(0x200), aSmall(0), aSmall(8)).
		trap(14, 4|1|2, aReadOnly(1), aData(0x1000)).
		call(15).
		trap(13, 0, aSmall(0), aRaw(^uint64(0)-100)).
		call(15).
		call(57).
		trap(6, 0, aSmall(0), aData(0x1000)).
		trap(0, 0, aSmall(0), aRaw(0xfffffffffffff064)).
		trap(14, 4, aUnmapped(1), aData(0x1000)))
	add("traced-enosys", newProg(fzTrace).
		pokeU64(0x100, dataAddr(0x1000), 0x7fff0000, 0, 1<<63).
		call(7, aData(0x100), aSmall(3), aSmall(0)).
		call(23, aSmall(64), aData(0x100), aData(0x200), aData(0x300), aData(0x400)).
		call(46, aSmall(3), aData(0x100), aSmall(0)).
		call(47, aSmall(3), aData(0x100), aSmall(0)).
		call(44, aSmall(3), aData(0x1000), aRaw(0x7fff0000), aSmall(0), aData(0x100), aSmall(16)).
		call(59, aStr("/proc/self/exe"), aData(0x100), aData(0x100)).
		call(4, aStr("/proc/self/status"), aData(0x100)).
		call(17, aSmall(0), aData(0x1000), aRaw(0x7fff0000), aRaw(1<<40)).
		call(232, aSmall(3), aData(0x100), aRaw(0x7fffffff), aNeg(0)).
		call(270, aSmall(64), aData(0x100), aData(0x200), aData(0x300), aData(0x400), aData(0x500)).
		call(281, aSmall(3), aData(0x100), aRaw(1<<20), aSmall(0), aData(0x200), aSmall(8)).
		call(299, aSmall(3), aData(0x100), aRaw(1024), aSmall(0), aData(0x200)).
		call(332, aNeg(99), aStr(""), aRaw(0x1000), aRaw(0xfff), aData(0x100)).
		call(425, aSmall(8), aData(0x100)).
		call(14, aSmall(0), aData(0x100), aData(0x200), aRaw(128)).
		call(13, aSmall(2), aData(0x100), aData(0x200), aRaw(16)))
	add("sigaltstack", newProg(0).
		pokeU64(0x200, fzUserRIP, 0x04000000|0x08000000, fzUserRIP, ^uint64(0)).
		pokeU64(0x300, dataAddr(0x4000), 0, 0x4000).
		call(131, aData(0x300), aSmall(0)).
		call(13, aSmall(11), aData(0x200), aData(0x280), aSmall(8)).
		call(14, aSmall(unix.SIG_BLOCK), aData(0x208), aData(0x210), aSmall(8)).
		call(200, aSmall(2), aSmall(11)).
		call(127, aData(0x400), aSmall(8)).
		call(14, aSmall(unix.SIG_SETMASK), aData(0x400), aSmall(0), aSmall(8)).
		call(15).
		call(35, aData(0x500), aSmall(0)))
	return seeds
}

func FuzzSyscalls(f *testing.F) {
	// The seeds are the files in testdata/fuzz/FuzzSyscalls (see
	// TestFuzzSeedCorpus).
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { null.Close() })
	f.Fuzz(func(t *testing.T, prog []byte) {
		fuzzProgram(t, prog, null)
	})
}

// TestFuzzSeedCorpus keeps testdata/fuzz/FuzzSyscalls in step with
// fuzzSeeds: NSVM_WRITE_SEEDS=1 rewrites the seed files.
func TestFuzzSeedCorpus(t *testing.T) {
	dir := "testdata/fuzz/FuzzSyscalls"
	for name, p := range fuzzSeeds() {
		path := dir + "/seed-" + name
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", p)
		if os.Getenv("NSVM_WRITE_SEEDS") != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Errorf("%s is not the seed %q encodes (NSVM_WRITE_SEEDS=1 go test -run TestFuzzSeedCorpus ./guestkernel rewrites it)", path, name)
		}
	}
}
