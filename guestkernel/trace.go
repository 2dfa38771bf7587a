package guestkernel

// --trace: the kernel tells package strace what happens, when it
// happens, and strace prints it as strace -f would.
//
// A syscall's entry prints before its handler runs and its result after,
// on the same line unless another task printed in between. A syscall
// that sleeps prints its result when the task really runs again (the
// switch to it), so that a parent's wait4 result comes after its child's
// "+++ exited" line. A pipe read or write that sleeps re-executes its
// SYSCALL when woken: that second execution continues the first line. A
// signal with a handler that interrupts a sleep ends the call with the
// kernel's restart code (ERESTARTSYS, ...), as the tracer of a real
// kernel sees it, before the "--- SIG ---" line of its delivery. Signals
// whose action is to ignore them still print when their target next
// returns to user mode, as under ptrace. A task killed while another runs
// is reported after that task's current syscall line, the order in which
// the victim would notice on Linux.

import (
	"slices"

	"golang.org/x/sys/unix"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
	"github.com/nsvm/nsvm/guestkernel/loader"
	"github.com/nsvm/nsvm/guestkernel/strace"
)

// kernelTrace is the trace of a run.
type kernelTrace struct {
	tr *strace.Tracer
	// sys is the task whose syscall is being executed now.
	sys *Task
	// later holds what other tasks do meanwhile (die, stop), printed
	// once the current syscall's line is out; ends, the "+++" lines of
	// the tasks that died, printed after that, a thread group's leader
	// last, as strace reports them.
	later []func()
	ends  []traceEnd
}

type traceEnd struct {
	leader bool
	f      func()
}

// taskTrace is a task's part of the trace.
type taskTrace struct {
	p     *strace.Proc
	state traceState
	// result of a syscall that finished while the task slept
	// (traceResumed); code, the restart code of one a signal
	// interrupted (traceInterrupted).
	result int64
	code   int
	// death, set when the task dies inside its own syscall: reported
	// when the syscall returns.
	death *traceDeath
	// sigs are ignored signals to show when the task next returns to
	// user mode.
	sigs []strace.Siginfo
}

type traceDeath struct {
	status int
	si     strace.Siginfo
}

type traceState uint8

const (
	trIdle    traceState = iota
	trRunning            // its syscall is being executed now
	trRestart            // asleep; the syscall runs again when woken
	trSleep              // asleep; the waker sets the result
	trWoken              // the syscall finished while asleep: result
	trIntr               // a signal with a handler interrupted the sleep: code
)

func (k *Kernel) tracing() *kernelTrace {
	if k.trace == nil {
		k.trace = &kernelTrace{tr: strace.New(k.cfg.Trace)}
	}
	return k.trace
}

// traceOf returns t's trace, and starts tracing t on its first event.
func (k *Kernel) traceOf(t *Task) *taskTrace {
	if t.trace == nil {
		t.trace = &taskTrace{p: k.tracing().tr.Attach(t.tid)}
	}
	return t.trace
}

// traceMem reads guest memory for the trace as a tracer's
// process_vm_readv would: nothing is faulted in or counted as a user
// copy, and a page of a readable mapping that was never touched reads as
// the zeros the first touch would give it.
type traceMem struct{ mm *MM }

func (m traceMem) Read(addr uint64, b []byte) bool {
	mm := m.mm
	if mm == nil || addr+uint64(len(b)) < addr || addr+uint64(len(b)) > taskSize {
		return len(b) == 0
	}
	for len(b) > 0 {
		n := min(uint64(len(b)), pageDown(addr)+pageSize-addr)
		pte := mm.pt.Lookup(addr)
		switch {
		case pte&x86.PTEPresent != 0 && pte&x86.PTEUser != 0:
			pa := pte&x86.PTEAddr + addr&(pageSize-1)
			copy(b[:n], mm.k.mem[pa:pa+n])
		case pte&x86.PTEPresent == 0:
			i := mm.find(addr)
			if i < 0 || mm.vmas[i].prot&(loader.ProtRead|loader.ProtWrite|loader.ProtExec) == 0 {
				return false
			}
			clear(b[:n])
		default:
			return false
		}
		b, addr = b[n:], addr+n
	}
	return true
}

// traceEnter prints the entry of t's syscall nr, unless it is the second
// execution of a syscall that slept (trRestart), which goes on with the
// first one's line.
func (k *Kernel) traceEnter(t *Task, nr uint64, a *args) {
	kt, tt := k.tracing(), k.traceOf(t)
	kt.sys = t
	if tt.state == trRestart && tt.p.InSyscall() {
		if n, _ := tt.p.Syscall(); n == nr {
			tt.state = trRunning
			return
		}
	}
	tt.state = trRunning
	tt.p.Enter(nr, *a, traceMem{t.mm}, k.sysUserRSP)
}

// traceExit prints the result of t's syscall (or how t died in it), then
// what happened to other tasks meanwhile.
func (k *Kernel) traceExit(t *Task, nr uint64, ret int64) {
	kt, tt := k.tracing(), k.traceOf(t)
	kt.sys = nil
	tt.state = trIdle
	if d := tt.death; d != nil {
		// Its "+++" line comes after what the tasks that died with it
		// print (traceLater).
		tt.death = nil
		end := k.traceDying(tt, d, ret, true, traceMem{})
		kt.ends = append(kt.ends, traceEnd{t.isLeader(), end})
	} else {
		tt.p.Exit(ret, traceMem{t.mm})
	}
	if forks(nr) && ret > 0 {
		k.traceAttachNew()
	}
	k.traceLater()
	k.traceSigs(t)
}

// traceSleep notes that t's syscall went to sleep: restart, it runs again
// when t is woken; otherwise the waker sets its result.
func (k *Kernel) traceSleep(t *Task, nr uint64, restart bool) {
	kt, tt := k.tracing(), k.traceOf(t)
	kt.sys = nil
	tt.state = trSleep
	if restart {
		tt.state = trRestart
	}
	if forks(nr) {
		k.traceAttachNew() // vfork's child
	}
	k.traceLater()
}

// traceResumed notes the result of a sleeping syscall that finished
// (wake); it prints when the task runs (traceRun).
func (k *Kernel) traceResumed(t *Task, nr uint64, result int64) {
	tt := k.traceOf(t)
	if tt.state == trSleep {
		tt.state, tt.result = trWoken, result
	}
}

// traceInterrupted notes that a signal with a handler cut t's sleep
// short: the tracer of a real kernel sees the syscall return its restart
// code.
func (k *Kernel) traceInterrupted(t *Task) {
	tt := k.traceOf(t)
	if tt.state == trSleep || tt.state == trRestart {
		tt.state, tt.code = trIntr, k.restartCode(tt)
	}
}

// restartCode is what the syscall in progress returns to the kernel's
// signal code when a signal interrupts its sleep.
func (k *Kernel) restartCode(tt *taskTrace) int {
	nr, a := tt.p.Syscall()
	switch nr {
	case 34: // pause
		return strace.ERESTARTNOHAND
	case 35: // nanosleep
		return strace.ERESTARTRESTARTBLOCK
	case 230: // clock_nanosleep
		if a[1]&1 != 0 { // TIMER_ABSTIME
			return strace.ERESTARTNOHAND
		}
		return strace.ERESTARTRESTARTBLOCK
	case 202: // futex: a wait with a timeout restarts through restart_syscall
		if op := a[1] & 127; (op == 0 || op == 9) && a[3] != 0 {
			return strace.ERESTARTRESTARTBLOCK
		}
	case 69, 70: // msgsnd, msgrcv
		return strace.ERESTARTNOHAND
	}
	return strace.ERESTARTSYS
}

// traceRun is called when t gets the vCPU back: a syscall that finished
// or was interrupted while it slept prints its result now, then the
// ignored signals it takes on its way to user mode.
func (k *Kernel) traceRun(t *Task) {
	if t.trace == nil {
		return
	}
	tt := t.trace
	switch tt.state {
	case trWoken:
		tt.state = trIdle
		tt.p.Exit(tt.result, traceMem{t.mm})
	case trIntr:
		tt.state = trIdle
		tt.p.Exit(-int64(tt.code), traceMem{t.mm})
	}
	if tt.state == trIdle {
		k.traceSigs(t)
	}
}

// traceHandler prints the delivery of sig to a handler.
func (k *Kernel) traceHandler(t *Task, sig int, si siginfo) {
	tt := k.traceOf(t)
	if tt.state == trRestart {
		// Woken to run its syscall again, but a handler comes first:
		// the syscall ends with its restart code and runs afresh after
		// the handler.
		tt.state, tt.code = trIntr, k.restartCode(tt)
	}
	k.traceRun(t)
	tt.p.Signal(traceInfo(si, sig))
}

// traceIgnored notes a signal whose action was to ignore it: under
// ptrace it is still delivered, and strace shows it.
func (k *Kernel) traceIgnored(t *Task, sig int) {
	tt := k.traceOf(t)
	tt.sigs = append(tt.sigs, traceInfo(t.sigInfo[sig-1], sig))
	if t == k.current && t.onCPU && k.trace.sys == nil {
		k.traceSigs(t)
	}
}

// traceSigs prints the ignored signals t took.
func (k *Kernel) traceSigs(t *Task) {
	tt := t.trace
	if tt == nil || tt.state != trIdle {
		return
	}
	if !t.alive() {
		tt.sigs = nil
		return
	}
	for _, si := range tt.sigs {
		tt.p.Signal(si)
	}
	tt.sigs = tt.sigs[:0]
}

// traceStop reports the group stop of t's process by sig.
func (k *Kernel) traceStop(t *Task, sig int) {
	si := traceInfo(t.sigInfo[sig-1], sig)
	threads := slices.Clone(t.tg.threads)
	k.traceDefer(func() {
		k.traceOf(t).p.Signal(si)
		for _, th := range threads {
			k.traceOf(th).p.Stopped(sig)
		}
	})
}

// traceDeath is called as t exits with wait status status.
func (k *Kernel) traceDeath(t *Task, status int) {
	kt, tt := k.tracing(), k.traceOf(t)
	d := &traceDeath{status: status}
	if sig := status & 0x7f; sig != 0 {
		d.si = traceInfo(t.sigInfo[sig-1], sig)
	}
	if t == kt.sys {
		tt.death = d // its syscall returns first
		return
	}
	leader := t.isLeader()
	k.traceDefer(func() {
		end := k.traceDying(tt, d, 0, false, traceMem{})
		kt.ends = append(kt.ends, traceEnd{leader, end})
	})
}

// traceDefer runs f once the current syscall's line is out, or now.
func (k *Kernel) traceDefer(f func()) {
	kt := k.tracing()
	kt.later = append(kt.later, f)
	if kt.sys == nil {
		k.traceLater()
	}
}

func (k *Kernel) traceLater() {
	kt := k.trace
	for len(kt.later) > 0 {
		f := kt.later[0]
		kt.later = kt.later[1:]
		f()
	}
	ends := kt.ends
	kt.ends = nil
	for _, leaders := range []bool{false, true} {
		for _, e := range ends {
			if e.leader == leaders {
				e.f()
			}
		}
	}
}

// traceDying prints how a task's syscall and signal delivery ended as it
// died, given where it was: in a syscall that returned ret (haveRet),
// asleep in one, or in user mode. A fatal signal other than SIGKILL is
// delivered first ("--- SIGTERM ... ---"), after the restart code of a
// syscall it interrupted. It returns the printing of the "+++" line.
func (k *Kernel) traceDying(tt *taskTrace, d *traceDeath, ret int64, haveRet bool, m traceMem) func() {
	p := tt.p
	sig := d.status & 0x7f
	defer func() { tt.state = trIdle }()
	if sig == 0 {
		p.Died()
		return func() { p.Exited(d.status >> 8 & 0xff) }
	}
	if sig != int(unix.SIGKILL) && p.InSyscall() {
		switch {
		case haveRet:
			p.Exit(ret, m)
		case tt.state == trWoken:
			p.Exit(tt.result, m)
		case tt.state == trIntr:
			p.Exit(-int64(tt.code), m)
		default:
			p.Exit(-int64(k.restartCode(tt)), m)
		}
	}
	if sig != int(unix.SIGKILL) {
		p.Signal(d.si)
	}
	p.Died()
	return func() { p.Killed(sig, d.status&0x80 != 0) }
}

// traceAttachNew starts tracing the tasks a fork just made.
func (k *Kernel) traceAttachNew() {
	for _, t := range k.sortedTasks() {
		if t.trace == nil && t != k.init && t.alive() {
			k.traceOf(t)
		}
	}
}

// traceFlush ends the trace of a run: a line left open (a task asleep in
// a syscall when the run stopped) is written.
func (k *Kernel) traceFlush() {
	if k.trace != nil {
		k.trace.tr.Flush()
	}
}

// traceInfo is the siginfo strace prints for signal sig.
func traceInfo(si siginfo, sig int) strace.Siginfo {
	if si.signo == 0 {
		return strace.Siginfo{Signo: int32(sig), Code: siKernel}
	}
	out := strace.Siginfo{Signo: si.signo, Code: si.code}
	if si.fault {
		out.Addr = si.addr
	} else {
		out.Pid, out.UID, out.Status = si.pid, si.uid, si.status
	}
	return out
}

func sysName(nr uint64) string { return strace.Name(nr) }
