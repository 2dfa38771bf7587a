package vm

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"
)

// KVM_SYNC_X86_* bits for kvm_run.kvm_valid_regs / kvm_dirty_regs.
const (
	SyncRegs   = 1 << 0
	SyncSregs  = 1 << 1
	SyncEvents = 1 << 2
)

// KVM exit reasons nsvm handles.
const (
	exitException     = 1
	exitIO            = 2
	exitDebug         = 4
	exitHlt           = 5
	exitMMIO          = 6
	exitShutdown      = 8
	exitFailEntry     = 9
	exitIntr          = 10
	exitInternalError = 17
	exitSystemEvent   = 24
)

// Offsets into struct kvm_run (x86-64), checked against <linux/kvm.h>.
const (
	runImmediateExit = 1
	runExitReason    = 8
	runExitUnion     = 32
	runValidRegs     = 288
	runDirtyRegs     = 296
	runSyncRegs      = 304
	runSyncSregs     = runSyncRegs + 144
)

// IOExit describes a KVM_EXIT_IO. Data aliases the kvm_run page and is
// valid only until the next Run iteration.
type IOExit struct {
	Port uint16
	Out  bool
	Size uint8
	Data []byte
}

// Handler gets the exits the run loop cannot settle itself.
type Handler interface {
	// HandleIO handles port I/O, which is how nsvm's guest stubs reach the
	// VMM. Returning stop=true (or an error) ends Run.
	HandleIO(c *VCPU, io IOExit) (stop bool, err error)
	// HandleInterrupt runs after KVM_RUN was interrupted by Interrupt
	// (a timer tick): the guest may be anywhere, in ring 3 or in a stub.
	HandleInterrupt(c *VCPU) (stop bool, err error)
}

// ExitError is a vCPU exit nsvm cannot continue from (shutdown, internal
// error, failed entry, an unexpected exit reason). It carries a register
// dump taken at the exit.
type ExitError struct {
	Reason string
	Detail string
	Dump   string
}

func (e *ExitError) Error() string {
	s := "vCPU stopped: " + e.Reason
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// ExitStats counts KVM_RUN returns and splits the time between the guest
// (inside KVM_RUN) and the handlers (the VMM's Go code). Intr counts every
// interrupted KVM_RUN (a Go runtime signal as well as Interrupt and Kick);
// Ticks counts those Interrupt asked for, each handed to
// Handler.HandleInterrupt.
type ExitStats struct {
	Total, IO, Intr   uint64
	Ticks             uint64
	InGuest, InHandle time.Duration
}

// VCPU is one virtual CPU. Its registers live in the kvm_run page's
// KVM_CAP_SYNC_REGS area: after each exit Regs and Sregs hold the guest
// state, and changes made through them are pushed back on the next entry
// when marked with MarkDirty. That replaces GET/SET_REGS ioctls (2-3 µs
// each) on the syscall path.
type VCPU struct {
	m     *Machine
	ID    int
	fd    int
	run   []byte
	Regs  *kvm.Regs
	Sregs *kvm.Sregs

	// mu guards run against unmapping while another goroutine kicks.
	mu       sync.Mutex
	tid      atomic.Int32
	stopReq  atomic.Bool
	irqReq   atomic.Bool
	stopErr  atomic.Pointer[error]
	xsaveLen int

	// PinCPU, if >= 0, pins the thread that runs the vCPU to that host
	// CPU (set before Run).
	PinCPU int

	// Exits counts KVM_RUN returns, by kind, and the time spent inside
	// KVM_RUN (guest plus KVM) versus in the handler (the VMM), for
	// benchmarks and their cost breakdowns.
	Exits ExitStats
}

// NewVCPU creates vCPU id and maps its kvm_run page.
func (m *Machine) NewVCPU(id int) (*VCPU, error) {
	var fd uintptr
	err := retry(func() (err error) { fd, err = kvm.CreateVCPU(uintptr(m.fd), id); return err })
	if err != nil {
		return nil, fmt.Errorf("KVM_CREATE_VCPU %d: %w", id, err)
	}
	run, err := unix.Mmap(int(fd), 0, m.kvm.runSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(int(fd))
		return nil, fmt.Errorf("mmap kvm_run of vCPU %d: %w", id, err)
	}
	c := &VCPU{m: m, ID: id, fd: int(fd), run: run, PinCPU: -1}
	c.Regs, c.Sregs = syncArea(run)
	c.xsaveLen = 4096
	if m.kvm.Caps.XSAVE2Size > c.xsaveLen {
		c.xsaveLen = m.kvm.Caps.XSAVE2Size
	}
	// Ask KVM to publish regs and sregs at every exit.
	putU64(run, runValidRegs, SyncRegs|SyncSregs)
	m.vcpus = append(m.vcpus, c)
	return c, nil
}

func (c *VCPU) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.run != nil {
		unix.Munmap(c.run)
		c.run = nil
	}
	unix.Close(c.fd)
}

// MarkDirty tells KVM to load Regs and/or Sregs from the sync area on the
// next entry.
func (c *VCPU) MarkDirty(mask uint64) {
	putU64(c.run, runDirtyRegs, getU64(c.run, runDirtyRegs)|mask)
}

// SetRegs and SetSregs set state with an ioctl; use them at setup, when the
// sync area has not been filled by an exit yet. They refresh the sync area.
func (c *VCPU) SetRegs(r *kvm.Regs) error {
	if err := retry(func() error { return kvm.SetRegs(uintptr(c.fd), r) }); err != nil {
		return fmt.Errorf("KVM_SET_REGS: %w", err)
	}
	*c.Regs = *r
	return nil
}

// SetSregs sets the special registers with KVM_SET_SREGS.
func (c *VCPU) SetSregs(s *kvm.Sregs) error {
	if err := retry(func() error { return kvm.SetSregs(uintptr(c.fd), s) }); err != nil {
		return fmt.Errorf("KVM_SET_SREGS: %w", err)
	}
	*c.Sregs = *s
	return nil
}

// SetXCR0 sets the guest's XCR0 (KVM_SET_XCRS).
func (c *VCPU) SetXCR0(v uint64) error {
	x := kvm.XCRS{NrXRCS: 1}
	x.Registers[0].XRC = 0
	x.Registers[0].Value = v
	if err := retry(func() error { return kvm.SetXCRS(uintptr(c.fd), &x) }); err != nil {
		return fmt.Errorf("KVM_SET_XCRS (XCR0=%#x): %w", v, err)
	}
	return nil
}

// ErrStopped is returned by Run when Kick was called without a reason.
var ErrStopped = errors.New("vCPU stopped by request")

// Kick makes a running (or about to run) vCPU leave KVM_RUN and Run return
// reason. Safe to call from any goroutine.
func (c *VCPU) Kick(reason error) {
	if reason == nil {
		reason = ErrStopped
	}
	c.stopErr.Store(&reason)
	c.stopReq.Store(true)
	// A timeout can fire while the machine is being torn down: the
	// kvm_run page may be gone already.
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.run == nil {
		return
	}
	// immediate_exit covers the window before the thread enters KVM_RUN;
	// the signal covers a thread already inside it. SIGURG is the Go
	// runtime's own preemption signal, so its handler tolerates it.
	setImmediateExit(c.run, true)
	if tid := c.tid.Load(); tid != 0 {
		unix.Tgkill(unix.Getpid(), int(tid), unix.SIGURG)
	}
}

// Interrupt makes the vCPU leave KVM_RUN soon and the run loop call
// Handler.HandleInterrupt (a preemption tick). Safe from any goroutine.
func (c *VCPU) Interrupt() {
	c.irqReq.Store(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.run == nil {
		return
	}
	setImmediateExit(c.run, true)
	if tid := c.tid.Load(); tid != 0 {
		unix.Tgkill(unix.Getpid(), int(tid), unix.SIGURG)
	}
}

// StopRequested returns the reason given to Kick, or nil. A handler that
// waits on the host (an idle guest) polls it.
func (c *VCPU) StopRequested() error {
	if c.stopReq.Load() {
		return *c.stopErr.Load()
	}
	return nil
}

// Run enters the guest and dispatches exits until the handler stops, an
// unrecoverable exit happens, or Kick is called. It runs on a locked OS
// thread: a vCPU belongs to the thread that runs it, and KVM_RUN must be
// interruptible by a signal sent to that thread.
func (c *VCPU) Run(h Handler) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if c.PinCPU >= 0 {
		var set unix.CPUSet
		set.Set(c.PinCPU)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return fmt.Errorf("pinning the vCPU thread to CPU %d: %w", c.PinCPU, err)
		}
		// The thread is not given back to the runtime pinned.
		defer func() {
			var all unix.CPUSet
			for i := 0; i < runtime.NumCPU(); i++ {
				all.Set(i)
			}
			unix.SchedSetaffinity(0, &all)
		}()
	}
	c.tid.Store(int32(unix.Gettid()))
	defer c.tid.Store(0)
	for {
		if c.stopReq.Load() {
			setImmediateExit(c.run, false)
			return *c.stopErr.Load()
		}
		t0 := time.Now()
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(c.fd), kvmRun, 0)
		t1 := time.Now()
		c.Exits.InGuest += t1.Sub(t0)
		c.Exits.Total++
		if e != 0 {
			if e == unix.EINTR || e == unix.EAGAIN {
				// Go's preemption signal, Interrupt, or Kick:
				// re-enter unless a stop was requested.
				c.Exits.Intr++
				if c.irqReq.Swap(false) && !c.stopReq.Load() {
					setImmediateExit(c.run, false)
					c.Exits.Ticks++
					stop, err := h.HandleInterrupt(c)
					if err != nil || stop {
						return err
					}
				}
				continue
			}
			return fmt.Errorf("KVM_RUN: %w", e)
		}
		switch reason := getU32(c.run, runExitReason); reason {
		case exitIO:
			c.Exits.IO++
			stop, err := h.HandleIO(c, c.ioExit())
			c.Exits.InHandle += time.Since(t1)
			if err != nil || stop {
				return err
			}
		case exitIntr:
			c.Exits.Intr++
		case exitHlt:
			return c.exitError("HLT", "")
		case exitShutdown:
			return c.exitError("SHUTDOWN", "triple fault: the guest could not deliver an exception")
		case exitFailEntry:
			return c.exitError("FAIL_ENTRY", fmt.Sprintf("hardware entry failure reason %#x", getU64(c.run, runExitUnion)))
		case exitInternalError:
			sub := getU32(c.run, runExitUnion)
			n := getU32(c.run, runExitUnion+4)
			var d []string
			for i := uint32(0); i < n && i < 16; i++ {
				d = append(d, fmt.Sprintf("%#x", getU64(c.run, runExitUnion+8+int(i)*8)))
			}
			return c.exitError("INTERNAL_ERROR", fmt.Sprintf("suberror %d, data [%s]", sub, strings.Join(d, " ")))
		case exitMMIO:
			return c.exitError("MMIO", fmt.Sprintf("guest touched unbacked physical address %#x", getU64(c.run, runExitUnion)))
		default:
			return c.exitError(fmt.Sprintf("exit reason %d", reason), "")
		}
	}
}

func (c *VCPU) ioExit() IOExit {
	u := runExitUnion
	size := c.run[u+1]
	off := int(getU64(c.run, u+8))
	count := int(getU32(c.run, u+4))
	n := int(size) * count
	if off < 0 || off+n > len(c.run) {
		n = 0
		off = 0
	}
	return IOExit{
		Out:  c.run[u] == 1,
		Size: size,
		Port: uint16(getU16(c.run, u+2)),
		Data: c.run[off : off+n],
	}
}

func (c *VCPU) exitError(reason, detail string) error {
	return &ExitError{Reason: reason, Detail: detail, Dump: DumpRegs(c.Regs, c.Sregs)}
}

// DumpRegs formats a register file the way a crash report shows it.
func DumpRegs(r *kvm.Regs, s *kvm.Sregs) string {
	var b strings.Builder
	fmt.Fprintf(&b, "RIP: %016x RSP: %016x RFLAGS: %08x\n", r.RIP, r.RSP, r.RFLAGS)
	fmt.Fprintf(&b, "RAX: %016x RBX: %016x RCX: %016x\n", r.RAX, r.RBX, r.RCX)
	fmt.Fprintf(&b, "RDX: %016x RSI: %016x RDI: %016x\n", r.RDX, r.RSI, r.RDI)
	fmt.Fprintf(&b, "RBP: %016x R08: %016x R09: %016x\n", r.RBP, r.R8, r.R9)
	fmt.Fprintf(&b, "R10: %016x R11: %016x R12: %016x\n", r.R10, r.R11, r.R12)
	fmt.Fprintf(&b, "R13: %016x R14: %016x R15: %016x\n", r.R13, r.R14, r.R15)
	if s != nil {
		fmt.Fprintf(&b, "CS: %04x SS: %04x FS_BASE: %016x GS_BASE: %016x\n", s.CS.Selector, s.SS.Selector, s.FS.Base, s.GS.Base)
		fmt.Fprintf(&b, "CR0: %016x CR2: %016x CR3: %016x CR4: %016x EFER: %x", s.CR0, s.CR2, s.CR3, s.CR4, s.EFER)
	}
	return b.String()
}

// Registers returns the register file KVM synced at the last exit.
func (c *VCPU) Registers() (*kvm.Regs, *kvm.Sregs) { return c.Regs, c.Sregs }

func getSregs(c *VCPU, s *kvm.Sregs) error {
	var v *kvm.Sregs
	err := retry(func() (err error) { v, err = kvm.GetSregs(uintptr(c.fd)); return err })
	if err != nil {
		return err
	}
	*s = *v
	return nil
}
