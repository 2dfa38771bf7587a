package guestkernel

// Signal delivery to handlers (arch/x86/kernel/signal.c, signal_64.c):
// on the way back to user mode a pending, unblocked signal whose
// disposition is a handler gets an rt_sigframe on the user stack (or the
// sigaltstack): the return address (sa_restorer), a ucontext with the
// interrupted registers and signal mask, the siginfo, and the XSAVE image
// of the FPU (64-byte aligned, with the FP_XSTATE magic words). The
// handler runs with RDI=signo, RSI=&info, RDX=&uc and a fresh FPU;
// rt_sigreturn restores everything from the frame. A sleeping syscall is
// interrupted (EINTR, or restarted with SA_RESTART).

import (
	"golang.org/x/sys/unix"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
)

const (
	saSiginfo   = 0x00000004
	saOnstack   = 0x08000000
	saRestart   = 0x10000000
	saNodefer   = 0x40000000
	saResethand = 0x80000000
	saRestorer  = 0x04000000

	ucFPXstate        = 0x1
	ucSigcontextSS    = 0x2
	ucStrictRestoreSS = 0x4
	fpXstateMagic1    = 0x46505853
	fpXstateMagic2    = 0x46505845
	ucontextSize      = 304 // struct ucontext (kernel)
	siginfoSize       = 128
	sigframeSize      = 8 + ucontextSize + siginfoSize
	mcontextOffset    = 40 // in ucontext: uc_flags, uc_link, uc_stack
	sigmaskOffset     = mcontextOffset + 256
	ssDisable         = 2
	ssOnstack         = 1
	minSigstkSz       = 2048
	errSigreturn      = -515 // rt_sigreturn restored a full context
	siUser            = 0
	siKernel          = 0x80
	siTkill           = -6
	segvMaperr        = 1
	segvAccerr        = 2
)

// siginfo is the part of siginfo_t nsvm fills.
type siginfo struct {
	signo, code int32
	pid, uid    uint32 // kill/SIGCHLD
	status      int32  // SIGCHLD
	addr        uint64 // faults
	fault       bool
	chld        bool
}

func (si *siginfo) bytes() [siginfoSize]byte {
	var b [siginfoSize]byte
	le.PutUint32(b[0:], uint32(si.signo))
	le.PutUint32(b[8:], uint32(si.code))
	if si.fault {
		le.PutUint64(b[16:], si.addr)
	} else {
		le.PutUint32(b[16:], si.pid)
		le.PutUint32(b[20:], si.uid)
		if si.chld {
			le.PutUint32(b[24:], uint32(si.status))
		}
	}
	return b
}

// hasHandler reports whether sig's disposition is a user handler.
func (t *Task) hasHandler(sig int) bool {
	h := t.sighand.actions[sig-1].handler
	return h != sigDfl && h != sigIgn
}

// nextHandlerSignal returns a pending, unblocked signal with a handler
// (lowest first, as dequeue_signal), or 0.
func (t *Task) nextHandlerSignal() int {
	p := (t.pending | t.tg.pending) &^ t.sigmask
	for sig := 1; p != 0 && sig <= nsig; sig++ {
		if p&sigBit(sig) != 0 && t.hasHandler(sig) {
			return sig
		}
	}
	return 0
}

// interruptSleep wakes a task sleeping in a syscall because a signal
// with a handler arrived: the call fails with EINTR, or with SA_RESTART
// runs again after the handler (wait4, pipe reads and writes).
func (k *Kernel) interruptSleep(t *Task, sig int) {
	if t.state != taskBlocked || t.wait.kind == waitVfork {
		return
	}
	w := t.wait
	if k.cfg.Trace != nil {
		k.traceInterrupted(t)
	}
	k.cancelWait(t)
	restartable := w.kind == waitChild || w.kind == waitPipeRead || w.kind == waitPipeWrite
	restart := restartable && t.sighand.actions[sig-1].flags&saRestart != 0
	r := &t.ctx.regs
	switch {
	case w.restart && !restart:
		// The context re-executes the SYSCALL: move past it.
		r.RIP += 2
		r.RAX = uint64(errno(unix.EINTR))
	case !w.restart && restart:
		r.RIP -= 2
		r.RAX = w.nr
	case !w.restart:
		r.RAX = uint64(errno(unix.EINTR))
	}
	t.rwDone = 0
	t.state = taskRunnable
	k.runq = append(k.runq, t)
}

// saveCurrent moves the live context (and FPU) of the task on the vCPU
// into its task struct, so that it can be edited and reloaded.
func (k *Kernel) saveCurrent(t *Task, fr exitFrame) error {
	r, s := k.cpu.Registers()
	t.ctx = k.liveCtx(r, s, fr)
	t.onCPU = false
	if k.fpuOwner == t {
		if err := k.cpu.GetXSAVE(t.fpu); err != nil {
			return err
		}
		k.fpuOwner = nil
	}
	return nil
}

// setupFrames delivers every deliverable handler signal to t (which is
// off the vCPU), nesting frames as Linux does for several at once.
func (k *Kernel) setupFrames(t *Task) {
	for i := 0; i < nsig; i++ {
		sig := t.nextHandlerSignal()
		if sig == 0 || !t.alive() {
			return
		}
		t.pending &^= sigBit(sig)
		t.tg.pending &^= sigBit(sig)
		if !k.setupFrame(t, sig) {
			return
		}
	}
}

// setupFrame builds one rt_sigframe (setup_rt_frame). A frame that cannot
// be written kills the task with SIGSEGV, as force_sigsegv does.
func (k *Kernel) setupFrame(t *Task, sig int) bool {
	act := t.sighand.actions[sig-1]
	r := &t.ctx.regs
	sp := r.RSP - 128 // the red zone
	onAlt := t.altSize != 0 && r.RSP-t.altSP < t.altSize
	if act.flags&saOnstack != 0 && t.altSize != 0 && t.altFlags&ssDisable == 0 && !onAlt {
		sp = t.altSP + t.altSize
	}
	layout := x86.LayoutFor(k.feat.XCR0)
	size := uint64(layout.Size)
	fpstate := (sp - size - 4) &^ 63 // + FP_XSTATE_MAGIC2
	frame := (fpstate-sigframeSize)&^15 - 8
	// The XSAVE image with the software-reserved bytes.
	img := make([]byte, size+4)
	copy(img, t.fpu[:size])
	le.PutUint32(img[464:], fpXstateMagic1)
	le.PutUint32(img[468:], uint32(size+4))
	le.PutUint64(img[472:], k.feat.XCR0)
	le.PutUint32(img[480:], uint32(size))
	clear(img[484:512])
	le.PutUint32(img[size:], fpXstateMagic2)
	// ucontext and siginfo.
	b := make([]byte, sigframeSize)
	le.PutUint64(b[0:], act.restorer)
	uc := b[8:]
	le.PutUint64(uc[0:], ucFPXstate|ucSigcontextSS|ucStrictRestoreSS)
	le.PutUint64(uc[16:], t.altSP)
	flags := uint32(0)
	if t.altSize == 0 || t.altFlags&ssDisable != 0 {
		flags = ssDisable
	} else if onAlt {
		flags = ssOnstack
	}
	le.PutUint32(uc[24:], flags)
	le.PutUint64(uc[32:], t.altSize)
	mc := uc[mcontextOffset:]
	for i, v := range []uint64{r.R8, r.R9, r.R10, r.R11, r.R12, r.R13, r.R14, r.R15, r.RDI, r.RSI, r.RBP, r.RBX,
		r.RDX, r.RAX, r.RCX, r.RSP, r.RIP, r.RFLAGS} {
		le.PutUint64(mc[i*8:], v)
	}
	le.PutUint16(mc[144:], x86.SelUserCS)
	le.PutUint16(mc[150:], x86.SelUserDS)
	si := t.sigInfo[sig-1]
	if si.fault {
		le.PutUint64(mc[152:], t.faultErr)
		le.PutUint64(mc[160:], t.faultTrap)
		le.PutUint64(mc[176:], si.addr) // cr2
	}
	le.PutUint64(mc[168:], t.sigmask) // oldmask
	le.PutUint64(mc[184:], fpstate)
	le.PutUint64(uc[sigmaskOffset:], t.sigmask)
	if si.signo == 0 {
		si = siginfo{signo: int32(sig), code: siKernel}
	}
	if k.cfg.Trace != nil {
		k.traceHandler(t, sig, si)
	}
	info := si.bytes()
	copy(b[8+ucontextSize:], info[:])
	if t.mm.copyOutKernel(fpstate, img) != 0 || t.mm.copyOutKernel(frame, b) != 0 {
		t.sighand.actions[unix.SIGSEGV-1] = sigaction{}
		k.exitGroup(t.tg, signaledStatus(int(unix.SIGSEGV)))
		return false
	}
	// The handler's context.
	r.RDI, r.RSI, r.RDX, r.RAX = uint64(sig), frame+8+ucontextSize, frame+8, 0
	r.RSP, r.RIP = frame, act.handler
	r.RFLAGS &^= x86.FlagDF | x86.FlagTF | x86.FlagRF | x86.FlagAC
	x86.FPUInit(t.fpu)
	// The mask while the handler runs.
	t.sigmask |= act.mask
	if act.flags&saNodefer == 0 {
		t.sigmask |= sigBit(sig)
	}
	t.sigmask &^= sigBit(sigKill) | sigBit(sigStop)
	if act.flags&saResethand != 0 {
		t.sighand.actions[sig-1] = sigaction{}
	}
	t.sigInfo[sig-1] = siginfo{}
	k.Stats.SignalsDelivered++
	return true
}

// sysRtSigreturn: rt_sigreturn() restores the context saved in the
// signal frame the handler returns through.
func sysRtSigreturn(t *Task, a *args) int64 {
	k := t.k
	frame := k.sysUserRSP - 8
	b := make([]byte, sigframeSize)
	if e := t.mm.copyIn(b, frame); e != 0 {
		k.sendSignal(t, int(unix.SIGSEGV), nil)
		return 0
	}
	uc := b[8:]
	mc := uc[mcontextOffset:]
	g := func(i int) uint64 { return le.Uint64(mc[i*8:]) }
	var r = t.ctx.regs
	r.R8, r.R9, r.R10, r.R11, r.R12, r.R13, r.R14, r.R15 = g(0), g(1), g(2), g(3), g(4), g(5), g(6), g(7)
	r.RDI, r.RSI, r.RBP, r.RBX, r.RDX, r.RAX, r.RCX, r.RSP = g(8), g(9), g(10), g(11), g(12), g(13), g(14), g(15)
	r.RIP, r.RFLAGS = g(16), g(17)
	// The FPU image, if the frame carries a valid one.
	fp := le.Uint64(mc[184:])
	img := make([]byte, len(t.fpu))
	x86.FPUInit(img)
	if fp != 0 {
		size := uint64(x86.LayoutFor(k.feat.XCR0).Size)
		buf := make([]byte, size)
		if e := t.mm.copyIn(buf, fp); e == 0 && le.Uint32(buf[464:]) == fpXstateMagic1 {
			copy(img, buf)
			clear(img[464:512])
		}
	}
	// Now the live state is thrown away for the restored one.
	s := k.sregs
	t.ctx = uctx{regs: r, fsBase: s.FS.Base, gsBase: s.GS.Base}
	t.fpu = img
	if k.fpuOwner == t {
		k.fpuOwner = nil
	}
	t.sigmask = le.Uint64(uc[sigmaskOffset:]) &^ (sigBit(sigKill) | sigBit(sigStop))
	t.onCPU = false
	return errSigreturn
}

// sysSigaltstack: sigaltstack(ss, old_ss).
func sysSigaltstack(t *Task, a *args) int64 {
	ss, old := a[0], a[1]
	onAlt := t.altSize != 0 && t.k.sysUserRSP-t.altSP < t.altSize
	if old != 0 {
		var b [24]byte
		le.PutUint64(b[0:], t.altSP)
		f := uint32(t.altFlags)
		if t.altSize == 0 {
			f = ssDisable
		} else if onAlt {
			f = ssOnstack
		}
		le.PutUint32(b[8:], f)
		le.PutUint64(b[16:], t.altSize)
		if e := t.mm.copyOut(old, b[:]); e != 0 {
			return errno(e)
		}
	}
	if ss == 0 {
		return 0
	}
	var b [24]byte
	if e := t.mm.copyIn(b[:], ss); e != 0 {
		return errno(e)
	}
	if onAlt {
		return errno(unix.EPERM)
	}
	sp, flags, size := le.Uint64(b[0:]), le.Uint32(b[8:]), le.Uint64(b[16:])
	const ssAutodisarm = 1 << 31
	switch flags &^ ssAutodisarm {
	case ssDisable:
		t.altSP, t.altSize, t.altFlags = 0, 0, ssDisable
		return 0
	case 0, ssOnstack:
	default:
		return errno(unix.EINVAL)
	}
	if size < minSigstkSz {
		return errno(unix.ENOMEM)
	}
	t.altSP, t.altSize, t.altFlags = sp, size, 0
	return 0
}
