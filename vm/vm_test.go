package vm_test

import (
	"encoding/binary"
	"errors"
	"github.com/nsvm/nsvm/internal/kvmtest"
	"strings"
	"testing"
	"time"

	"github.com/bobuhiro11/gokvm/kvm"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
	"github.com/nsvm/nsvm/vm"
)

func openKVM(tb testing.TB) *vm.KVM {
	tb.Helper()
	requireKVM(tb)
	k, err := vm.Open()
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { k.Close() })
	return k
}

func newMachine(tb testing.TB, k *vm.KVM, size uint64) *vm.Machine {
	tb.Helper()
	m, err := k.NewMachine(size)
	if err != nil {
		tb.Fatalf("NewMachine(%d): %v", size, err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

// handlerFunc adapts a function to vm.Handler.
type handlerFunc func(c *vm.VCPU, io vm.IOExit) (bool, error)

func (f handlerFunc) HandleIO(c *vm.VCPU, io vm.IOExit) (bool, error) { return f(c, io) }

func (f handlerFunc) HandleInterrupt(c *vm.VCPU) (bool, error) { return false, nil }

// Guest layout for the user-mode tests.
const (
	userCode  = 0x400000
	userStack = 0x800000 // initial RSP; the page below it is mapped
	guestMem  = 8 << 20
)

// userGuest boots a vCPU into nsvm's long-mode kernel area with code
// mapped at userCode (user, read+exec) and one stack page, and points it
// at the code in ring 3.
func userGuest(tb testing.TB, code []byte) (*vm.Machine, *vm.VCPU) {
	tb.Helper()
	k := openKVM(tb)
	m := newMachine(tb, k, guestMem)
	c, err := m.NewVCPU(0)
	if err != nil {
		tb.Fatalf("NewVCPU: %v", err)
	}
	x86.SetupKernelArea(m.Mem)
	if _, err := x86.Boot(c, k.SupportedCPUID(), x86.XFeaturesUser); err != nil {
		tb.Fatalf("Boot: %v", err)
	}
	next := uint64(x86.KernelAreaSize)
	alloc := func() (uint64, error) {
		pa := next
		next += x86.PageSize
		return pa, nil
	}
	pt, err := x86.NewPageTables(m.Mem, alloc, func(uint64) {}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	codePA, _ := alloc()
	copy(m.Mem[codePA:codePA+x86.PageSize], code)
	if err := pt.Map(userCode, codePA, x86.PTEFlags(true, false, true)); err != nil {
		tb.Fatal(err)
	}
	stackPA, _ := alloc()
	if err := pt.Map(userStack-x86.PageSize, stackPA, x86.PTEFlags(true, true, false)); err != nil {
		tb.Fatal(err)
	}
	r, s := c.Registers()
	regs := kvm.Regs{RIP: userCode, RSP: userStack, RFLAGS: x86.FlagReserved}
	x86.EnterUser(r, s, &regs, 0, 0, pt.Root)
	if err := c.SetSregs(s); err != nil {
		tb.Fatal(err)
	}
	if err := c.SetRegs(r); err != nil {
		tb.Fatal(err)
	}
	return m, c
}

var errWatchdog = errors.New("test watchdog: guest did not exit in time")

// runGuest runs c with h, kicking it after a generous deadline so that a
// broken guest fails the test instead of hanging it.
func runGuest(c *vm.VCPU, h vm.Handler) error {
	tm := time.AfterFunc(10*time.Second, func() { c.Kick(errWatchdog) })
	defer tm.Stop()
	return c.Run(h)
}

func TestOpenProbesCaps(t *testing.T) {
	k := openKVM(t)
	if k.Caps.APIVersion != 12 {
		t.Errorf("APIVersion = %d, want 12", k.Caps.APIVersion)
	}
	if k.Caps.SyncRegs&(vm.SyncRegs|vm.SyncSregs) != vm.SyncRegs|vm.SyncSregs {
		t.Errorf("SyncRegs = %#x, want regs and sregs", k.Caps.SyncRegs)
	}
	if !k.Caps.XSAVE || !k.Caps.XCRS || !k.Caps.ImmediateExit {
		t.Errorf("caps %+v: Open must refuse a KVM without XSAVE, XCRS and IMMEDIATE_EXIT", k.Caps)
	}
	switch k.Caps.Platform {
	case vm.PlatformVMX, vm.PlatformSVM, vm.PlatformPVM, vm.PlatformUnknown:
	default:
		t.Errorf("Platform = %q", k.Caps.Platform)
	}
	t.Logf("KVM caps: %+v", k.Caps)

	sup := k.SupportedCPUID()
	has := map[uint32]bool{}
	for _, e := range sup {
		has[e.Function] = true
	}
	if !has[0] || !has[1] || !has[0xd] {
		t.Errorf("supported CPUID (%d entries) lacks leaf 0, 1 or 0xd", len(sup))
	}
	// SupportedCPUID returns a copy.
	sup[0].EAX = 0xdeadbeef
	if k.SupportedCPUID()[0].EAX == 0xdeadbeef {
		t.Error("SupportedCPUID returned the KVM handle's own slice")
	}
}

func TestNewMachineSize(t *testing.T) {
	k := openKVM(t)
	for _, size := range []uint64{0, 1, 4095, 4097, 3*4096 + 1} {
		if m, err := k.NewMachine(size); err == nil {
			m.Close()
			t.Errorf("NewMachine(%d) succeeded, want an error", size)
		} else if !strings.Contains(err.Error(), "4 KiB") {
			t.Errorf("NewMachine(%d) error %q does not say what is wrong", size, err)
		}
	}
	for _, size := range []uint64{4096, 1 << 20, 3 * 4096} {
		m := newMachine(t, k, size)
		if uint64(len(m.Mem)) != size {
			t.Errorf("NewMachine(%d): %d bytes of memory", size, len(m.Mem))
		}
		if m.KVM() != k {
			t.Error("Machine.KVM() is not the handle it was made from")
		}
	}
}

func TestNewVCPUXSAVESize(t *testing.T) {
	k := openKVM(t)
	m := newMachine(t, k, 1<<20)
	c, err := m.NewVCPU(0)
	if err != nil {
		t.Fatal(err)
	}
	if c.XSAVESize() < 4096 {
		t.Errorf("XSAVESize = %d, want at least 4096", c.XSAVESize())
	}
	if want := max(4096, k.Caps.XSAVE2Size); c.XSAVESize() != want {
		t.Errorf("XSAVESize = %d, want %d (KVM_CAP_XSAVE2 %d)", c.XSAVESize(), want, k.Caps.XSAVE2Size)
	}
	if c.ID != 0 {
		t.Errorf("ID = %d", c.ID)
	}
}

func TestUserOutExit(t *testing.T) {
	// mov $0x2a,%eax; out %al,$BenchPort; jmp .
	code := []byte{0xb8, 0x2a, 0x00, 0x00, 0x00, 0xe6, x86.BenchPort, 0xeb, 0xfe}
	_, c := userGuest(t, code)
	var got []vm.IOExit
	var cpl int
	var rip uint64
	err := runGuest(c, handlerFunc(func(c *vm.VCPU, io vm.IOExit) (bool, error) {
		io.Data = append([]byte(nil), io.Data...) // it aliases kvm_run
		got = append(got, io)
		r, s := c.Registers()
		cpl, rip = x86.CPL(s), r.RIP
		return true, nil
	}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("%d I/O exits, want 1", len(got))
	}
	io := got[0]
	if io.Port != x86.BenchPort || !io.Out || io.Size != 1 || len(io.Data) != 1 || io.Data[0] != 0x2a {
		t.Errorf("exit %+v, want out of 0x2a on port %#x", io, x86.BenchPort)
	}
	if cpl != 3 {
		t.Errorf("CPL at the exit = %d, want 3", cpl)
	}
	// VMX reports RIP at the out, PVM after it.
	if rip != userCode+5 && rip != userCode+7 {
		t.Errorf("RIP at the exit = %#x, want %#x or %#x", rip, userCode+5, userCode+7)
	}
	if c.Exits.IO != 1 || c.Exits.Total < 1 {
		t.Errorf("exit counters %+v", c.Exits)
	}
}

func TestExceptionFrame(t *testing.T) {
	// ud2 in user mode: #UD goes through the IDT to the ring-0 stub,
	// whose out on ExceptionPort exits with the vector, error code and
	// hardware frame on the kernel stack.
	m, c := userGuest(t, []byte{0x0f, 0x0b})
	var fr [7]uint64
	var port uint16
	var cpl int
	var rip, rsp uint64
	err := runGuest(c, handlerFunc(func(c *vm.VCPU, io vm.IOExit) (bool, error) {
		r, s := c.Registers()
		port, cpl, rip, rsp = io.Port, x86.CPL(s), r.RIP, r.RSP
		if r.RSP >= x86.KernelBase+x86.PhysKStack && r.RSP+7*8 <= x86.KStackTop {
			b := m.Mem[r.RSP-x86.KernelBase:]
			for i := range fr {
				fr[i] = binary.LittleEndian.Uint64(b[i*8:])
			}
		}
		return true, nil
	}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if port != x86.ExceptionPort {
		t.Fatalf("exit on port %#x, want %#x", port, x86.ExceptionPort)
	}
	if cpl != 0 {
		t.Errorf("CPL at the exception exit = %d, want 0", cpl)
	}
	stub := uint64(x86.StubBase) + uint64(16*x86.VecUD)
	if rip < stub || rip >= stub+16 {
		t.Errorf("RIP %#x is not in the #UD stub at %#x", rip, stub)
	}
	// RSP0 = KStackTop; the stub pushed two words below the 5-word
	// hardware frame.
	if want := uint64(x86.KStackTop) - 7*8; rsp != want {
		t.Fatalf("kernel RSP at the exit = %#x, want %#x", rsp, want)
	}
	want := []struct {
		name string
		v    uint64
	}{
		{"vector", x86.VecUD}, {"error code", 0}, {"RIP", userCode}, {"CS", x86.SelUserCS},
	}
	for i, w := range want {
		if fr[i] != w.v {
			t.Errorf("frame %s = %#x, want %#x", w.name, fr[i], w.v)
		}
	}
	if fr[5] != userStack || fr[6] != x86.SelUserDS {
		t.Errorf("frame RSP:SS = %#x:%#x, want %#x:%#x", fr[5], fr[6], userStack, x86.SelUserDS)
	}
}

func TestKick(t *testing.T) {
	_, c := userGuest(t, []byte{0xeb, 0xfe}) // jmp .
	errStop := errors.New("stopped by the test")
	kicked := make(chan struct{})
	tm := time.AfterFunc(100*time.Millisecond, func() {
		c.Kick(errStop)
		close(kicked)
	})
	defer tm.Stop()
	// Kick must be finished before the machine is closed (see
	// TestKickAfterClose).
	defer func() { <-kicked }()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		done <- c.Run(handlerFunc(func(c *vm.VCPU, io vm.IOExit) (bool, error) {
			return true, errors.New("unexpected I/O exit from a spinning guest")
		}))
	}()
	select {
	case err := <-done:
		if !errors.Is(err, errStop) {
			t.Errorf("Run = %v, want the Kick reason", err)
		}
		if d := time.Since(start); d < 90*time.Millisecond {
			t.Errorf("Run returned after %v, before the Kick", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of Kick")
	}
}

func TestKickBeforeRun(t *testing.T) {
	_, c := userGuest(t, []byte{0xeb, 0xfe})
	c.Kick(nil)
	done := make(chan error, 1)
	go func() { done <- c.Run(handlerFunc(func(*vm.VCPU, vm.IOExit) (bool, error) { return true, nil })) }()
	select {
	case err := <-done:
		if !errors.Is(err, vm.ErrStopped) {
			t.Errorf("Run after Kick(nil) = %v, want ErrStopped", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not honour a Kick made before it started")
	}
}

// A Kick that arrives after the machine is closed (a timeout timer firing
// as the guest exits, with Run already returned and the VM torn down) must
// be harmless.
func TestKickAfterClose(t *testing.T) {
	k := openKVM(t)
	m, err := k.NewMachine(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.NewVCPU(0)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("Kick after Machine.Close panicked: %v", r)
		}
	}()
	c.Kick(errors.New("late timeout"))
}

func TestXSAVERoundTrip(t *testing.T) {
	// sub $8,%rsp; stmxcsr (%rsp); mov (%rsp),%eax; out %al,$BenchPort; jmp .
	code := []byte{0x48, 0x83, 0xec, 0x08, 0x0f, 0xae, 0x1c, 0x24, 0x8b, 0x04, 0x24, 0xe6, x86.BenchPort, 0xeb, 0xfe}
	_, c := userGuest(t, code)
	n := c.XSAVESize()
	buf := make([]byte, n)
	if err := c.GetXSAVE(buf); err != nil {
		t.Fatalf("GetXSAVE: %v", err)
	}
	const mxcsrOff, xstateBV = 24, 512
	if got := binary.LittleEndian.Uint32(buf[mxcsrOff:]); got != 0x1f80 {
		t.Errorf("initial MXCSR = %#x, want 0x1f80", got)
	}
	binary.LittleEndian.PutUint32(buf[mxcsrOff:], 0x1f90)
	bv := binary.LittleEndian.Uint64(buf[xstateBV:])
	binary.LittleEndian.PutUint64(buf[xstateBV:], bv|3) // x87 and SSE state valid
	if err := c.SetXSAVE(buf); err != nil {
		t.Fatalf("SetXSAVE: %v", err)
	}
	back := make([]byte, n)
	if err := c.GetXSAVE(back); err != nil {
		t.Fatalf("GetXSAVE: %v", err)
	}
	if got := binary.LittleEndian.Uint32(back[mxcsrOff:]); got != 0x1f90 {
		t.Errorf("MXCSR after SetXSAVE = %#x, want 0x1f90", got)
	}
	// The guest sees it too.
	var seen byte
	err := runGuest(c, handlerFunc(func(c *vm.VCPU, io vm.IOExit) (bool, error) {
		if len(io.Data) == 1 {
			seen = io.Data[0]
		}
		return true, nil
	}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if seen != 0x90 {
		t.Errorf("guest stmxcsr low byte = %#x, want 0x90", seen)
	}

	short := make([]byte, n-1)
	if err := c.GetXSAVE(short); err == nil {
		t.Error("GetXSAVE with a short buffer succeeded")
	}
	if err := c.SetXSAVE(short); err == nil {
		t.Error("SetXSAVE with a short buffer succeeded")
	}
}

func TestSetterLimits(t *testing.T) {
	k := openKVM(t)
	m := newMachine(t, k, 1<<20)
	c, err := m.NewVCPU(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetMSRs(make([]vm.MSR, 17)...); err == nil {
		t.Error("SetMSRs with 17 MSRs succeeded")
	}
	if err := c.SetCPUID(make([]vm.CPUIDEntry, 257)); err == nil {
		t.Error("SetCPUID with 257 entries succeeded")
	}
	if err := c.SetMSRs(vm.MSR{Index: x86.MSRLSTAR, Value: x86.SyscallEntry}); err != nil {
		t.Errorf("SetMSRs(LSTAR): %v", err)
	}
}

func TestDumpRegsAndExitError(t *testing.T) {
	r := &kvm.Regs{RIP: 0x401000, RSP: 0x7ffe0000, RAX: 0x2a, R15: 0xf}
	s := &kvm.Sregs{CS: kvm.Segment{Selector: 0x33}, SS: kvm.Segment{Selector: 0x2b}, CR2: 0xdead000, EFER: 0xd01}
	d := vm.DumpRegs(r, s)
	for _, want := range []string{
		"RIP: 0000000000401000", "RSP: 000000007ffe0000", "RAX: 000000000000002a",
		"R15: 000000000000000f", "CS: 0033 SS: 002b", "CR2: 000000000dead000", "EFER: d01",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("DumpRegs lacks %q:\n%s", want, d)
		}
	}
	if d := vm.DumpRegs(r, nil); strings.Contains(d, "CR0") || !strings.Contains(d, "RIP") {
		t.Errorf("DumpRegs without sregs:\n%s", d)
	}
	e := &vm.ExitError{Reason: "SHUTDOWN", Detail: "triple fault"}
	if got := e.Error(); got != "vCPU stopped: SHUTDOWN (triple fault)" {
		t.Errorf("ExitError = %q", got)
	}
	if got := (&vm.ExitError{Reason: "HLT"}).Error(); got != "vCPU stopped: HLT" {
		t.Errorf("ExitError without detail = %q", got)
	}
}

func requireKVM(tb testing.TB) { kvmtest.Require(tb) }
