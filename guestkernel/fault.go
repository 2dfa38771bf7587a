package guestkernel

import (
	"fmt"
	"strings"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
	"github.com/nsvm/nsvm/vm"
)

// trapFrame is what the CPU and the exception stub left on the kernel
// stack: the vector and error code the stub pushed, then the hardware
// frame.
type trapFrame struct {
	vector, errCode          uint64
	rip, cs, rflags, rsp, ss uint64
}

func (k *Kernel) readFrame(rsp uint64) (trapFrame, bool) {
	if rsp < x86.KernelBase+x86.PhysKStack || rsp+7*8 > x86.KStackTop {
		return trapFrame{}, false
	}
	b := k.mem[rsp-x86.KernelBase:]
	w := func(i int) uint64 { return le.Uint64(b[i*8:]) }
	return trapFrame{w(0), w(1), w(2), w(3), w(4), w(5), w(6)}, true
}

// exception handles an exception the IDT stub forwarded. A page fault the
// VMA allows is served (demand paging) and the stub's iretq resumes the
// instruction; anything else kills the task with Linux's signal for that
// vector (the exc_* handlers in arch/x86/kernel/traps.c).
func (k *Kernel) exception(t *Task, r *kvm.Regs, s *kvm.Sregs) error {
	k.Stats.Exceptions++
	f, ok := k.readFrame(r.RSP)
	if !ok {
		return &vm.ExitError{Reason: "bad exception frame", Detail: fmt.Sprintf("kernel RSP %#x", r.RSP), Dump: vm.DumpRegs(r, s)}
	}
	if f.cs&3 != 3 {
		// The guest's ring-0 code is only the stubs: a fault there is
		// an nsvm bug, not a program's.
		return &vm.ExitError{Reason: "exception in guest kernel mode",
			Detail: fmt.Sprintf("%s at %#x, error code %#x, CR2 %#x", x86.VectorName(int(f.vector)), f.rip, f.errCode, s.CR2),
			Dump:   vm.DumpRegs(r, s)}
	}
	vec := int(f.vector)
	if vec == x86.VecPF {
		k.Stats.PageFaults++
		addr := s.CR2
		good, err := t.mm.faultIn(addr, f.errCode&x86.PFWrite != 0, f.errCode&x86.PFInstr != 0)
		if err != nil {
			// Out of guest memory: Linux's OOM killer would SIGKILL.
			fmt.Fprintf(k.cfg.Log, "nsvm: out of guest memory serving a fault at %#x; killing %s (raise --mem)\n", addr, t.comm)
			k.fatalSignal(t, unix.SIGKILL, vec, f.errCode, addr, f.rip, userRegs(r, &f), s)
			return nil
		}
		if good {
			return nil // the stub's iretq retries the access
		}
		k.fatalSignal(t, unix.SIGSEGV, vec, f.errCode, addr, f.rip, userRegs(r, &f), s)
		return nil
	}
	sig := signalFor(vec)
	k.fatalSignal(t, sig, vec, f.errCode, 0, f.rip, userRegs(r, &f), s)
	return nil
}

// userRegs rebuilds the user register file at the fault: general
// registers are live in the vCPU, RIP/RSP/RFLAGS come from the frame.
func userRegs(r *kvm.Regs, f *trapFrame) *kvm.Regs {
	u := *r
	u.RIP, u.RSP, u.RFLAGS = f.rip, f.rsp, f.rflags
	return &u
}

// signalFor maps an exception vector to the signal Linux sends for it
// from user mode.
func signalFor(vec int) unix.Signal {
	switch vec {
	case x86.VecDE, x86.VecMF, x86.VecXM:
		return unix.SIGFPE
	case x86.VecDB, x86.VecBP:
		return unix.SIGTRAP
	case x86.VecUD:
		return unix.SIGILL
	case x86.VecNP, x86.VecSS, x86.VecAC:
		return unix.SIGBUS
	}
	return unix.SIGSEGV // #GP, #PF, #OF, #BR, #TS, ...
}

// fatalSignal raises a fault signal in t (force_sig_fault): a handler
// runs if there is one and the signal is not blocked; otherwise the
// process dies with the signal and nsvm prints a crash report.
func (k *Kernel) fatalSignal(t *Task, sig unix.Signal, vec int, errCode, addr, rip uint64, r *kvm.Regs, s *kvm.Sregs) {
	// force_sig_fault: a handler that is installed and not blocked
	// runs (the frame is built on the way back to user mode); otherwise
	// the disposition is reset to default and the process dies.
	// The siginfo Linux's trap handlers give (--trace prints it for a
	// fatal one too): a page fault's address, the instruction's for
	// #DE and #UD, SI_KERNEL for the rest (#GP, int3).
	code := int32(siKernel)
	switch vec {
	case x86.VecPF:
		code = segvMaperr
		if errCode&x86.PFPresent != 0 {
			code = segvAccerr
		}
	case x86.VecDE:
		code, addr = 1, rip // FPE_INTDIV
	case x86.VecUD:
		code, addr = 2, rip // ILL_ILLOPN
	}
	t.sigInfo[sig-1] = siginfo{signo: int32(sig), code: code, addr: addr, fault: true}
	if t.hasHandler(int(sig)) && t.sigmask&sigBit(int(sig)) == 0 {
		t.faultErr, t.faultTrap = errCode, uint64(vec)
		t.pending |= sigBit(int(sig))
		return
	}
	k.crashReport(t, sig, vec, errCode, addr, rip, r, s)
	k.exitGroup(t.tg, signaledStatus(int(sig)))
}

func (k *Kernel) crashReport(t *Task, sig unix.Signal, vec int, errCode, addr, rip uint64, r *kvm.Regs, s *kvm.Sregs) {
	var b strings.Builder
	fmt.Fprintf(&b, "nsvm: pid %d (%s) killed by %s (%s)\n", t.pid(), t.comm, sigName(sig), sig.String())
	fmt.Fprintf(&b, "  exception: %s (vector %d), error code %#x", x86.VectorName(vec), vec, errCode)
	if vec == x86.VecPF {
		fmt.Fprintf(&b, " [%s], fault address %#x", pfString(errCode), addr)
	}
	fmt.Fprintf(&b, "\n  at RIP %#x\n", rip)
	// r is the user's register file at the fault (userRegs: RIP, RSP and
	// RFLAGS from the exception frame, not the stub's). Show the user
	// segments too, not the stub's ring-0 ones.
	us := *s
	us.CS, us.SS = x86.UserCS(), x86.UserDS()
	for _, line := range strings.Split(vm.DumpRegs(r, &us), "\n") {
		b.WriteString("  " + line + "\n")
	}
	// Decode the code around RIP from whatever of it is mapped.
	const before, after = 48, 32
	base := rip - before
	if rip < before {
		base = 0
	}
	code := t.mm.peek(base, int(rip-base)+after)
	b.WriteString("  code:\n")
	for _, line := range strings.Split(strings.TrimRight(x86.Disassemble(code.bytes, code.base, rip, 4, 4), "\n"), "\n") {
		b.WriteString("  " + line + "\n")
	}
	fmt.Fprint(k.cfg.Log, b.String())
}

func sigName(s unix.Signal) string {
	n := unix.SignalName(s)
	if n == "" {
		return fmt.Sprintf("signal %d", int(s))
	}
	return n
}

func pfString(ec uint64) string {
	var p []string
	if ec&x86.PFUser != 0 {
		p = append(p, "user")
	} else {
		p = append(p, "kernel")
	}
	switch {
	case ec&x86.PFInstr != 0:
		p = append(p, "instruction fetch")
	case ec&x86.PFWrite != 0:
		p = append(p, "write")
	default:
		p = append(p, "read")
	}
	if ec&x86.PFPresent != 0 {
		p = append(p, "protection violation")
	} else {
		p = append(p, "not present")
	}
	return strings.Join(p, ", ")
}

// codeBytes is a run of guest code bytes starting at base.
type codeBytes struct {
	base  uint64
	bytes []byte
}

// peek reads up to n bytes at va without faulting anything in: only
// present, user-readable pages count. The longest readable run that
// contains the end of the range wins (the bytes around RIP).
func (mm *MM) peek(va uint64, n int) codeBytes {
	var out codeBytes
	// Only user pages can be readable; stopping at TASK_SIZE also keeps
	// the page walk from wrapping past 2^64 (a guest's RIP or buffer
	// can be anywhere).
	if va >= taskSize || n <= 0 {
		return out
	}
	stop := min(va+uint64(n), taskSize)
	for a := va; a < stop; {
		pte := mm.pt.Lookup(a)
		next := pageDown(a) + pageSize
		end := min(next, stop)
		if pte&x86.PTEPresent == 0 || pte&x86.PTEUser == 0 {
			out = codeBytes{}
			a = next
			continue
		}
		pa := pte&x86.PTEAddr + a&(pageSize-1)
		if len(out.bytes) == 0 {
			out.base = a
		}
		out.bytes = append(out.bytes, mm.k.mem[pa:pa+(end-a)]...)
		a = end
	}
	return out
}
