// Package vm is nsvm's KVM machine: it opens /dev/kvm, probes what the
// platform offers, creates a VM with guest memory and vCPUs, and runs the
// vCPU loop, handing port-I/O exits to a handler. (nsvm's guest reaches the
// VMM only with `out` from its ring-0 stubs: see package x86.) Preemption
// ticks arrive as Interrupt, which makes KVM_RUN return EINTR.
//
// vm knows KVM and x86 register files and nothing about Linux semantics:
// the guest kernel model (package guestkernel) decides what an exit means.
//
// Most ioctls go through gokvm's kvm package. We bypass it where it is
// wrong or slow on a hot path, and say so beside each bypass:
//   - KVM_RUN: gokvm's Run swallows EINTR, and we need to see it to honour
//     a stop request (timeouts);
//   - registers: gokvm's GetRegs allocates on every call; we read the
//     KVM_CAP_SYNC_REGS area of the shared kvm_run page instead;
//   - KVM_GET_SUPPORTED_CPUID: gokvm passes the wrong ioctl size;
//   - XSAVE/XSAVE2 and MSRs: gokvm has no (or allocation-heavy) wrappers.
package vm

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"
)

// DevicePath is the KVM device node.
const DevicePath = "/dev/kvm"

// Platform names the kind of KVM behind /dev/kvm.
type Platform string

// Platforms nsvm knows. PVM (kvm_pvm, Pagetable-based Virtual Machine) runs
// guest ring 3 natively and emulates guest ring 0; it also does not switch
// to CPL0 on SYSCALL. VMX and SVM are hardware virtualization.
const (
	PlatformVMX     Platform = "VMX"
	PlatformSVM     Platform = "SVM"
	PlatformPVM     Platform = "PVM"
	PlatformUnknown Platform = "unknown"
)

// Caps is what the KVM in use offers nsvm.
type Caps struct {
	APIVersion    int
	SyncRegs      uint64 // KVM_CAP_SYNC_REGS: mask of KVM_SYNC_X86_* supported
	XSAVE         bool
	XSAVE2Size    int // KVM_CAP_XSAVE2: the buffer size KVM_GET_XSAVE2 needs (0 if absent)
	XCRS          bool
	ImmediateExit bool
	NrVCPUs       int // recommended
	MaxVCPUs      int
	Platform      Platform
}

// KVM is an open /dev/kvm.
type KVM struct {
	fd        int
	runSize   int
	Caps      Caps
	supported []CPUIDEntry // KVM_GET_SUPPORTED_CPUID, fetched once
}

// ErrNoKVM wraps every failure to open or use /dev/kvm; its message says
// what the user can do about it.
var ErrNoKVM = errors.New("KVM is not usable")

// Open opens /dev/kvm and probes its capabilities. The error says what to do
// when the device is missing, not permitted, or too old.
func Open() (*KVM, error) { return OpenPath(DevicePath) }

// OpenPath is Open for a device node elsewhere (tests).
func OpenPath(path string) (*KVM, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOENT):
			return nil, fmt.Errorf("%w: %s does not exist: load the kvm module (modprobe kvm_intel, kvm_amd or kvm_pvm) or run on a host or VM with nested virtualization", ErrNoKVM, path)
		case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
			return nil, fmt.Errorf("%w: %s: permission denied: run as root or add yourself to the group that owns %s (often 'kvm')", ErrNoKVM, path, path)
		default:
			return nil, fmt.Errorf("%w: open %s: %v", ErrNoKVM, path, err)
		}
	}
	k := &KVM{fd: fd}
	if err := k.probe(); err != nil {
		// Not a KVM device at all (an ordinary file, say) answers the
		// first ioctl with ENOTTY: probe says so.
		unix.Close(fd)
		return nil, err
	}
	return k, nil
}

func (k *KVM) check(c kvm.Capability) int {
	var v uintptr
	err := retry(func() (err error) { v, err = kvm.CheckExtension(uintptr(k.fd), c); return err })
	if err != nil {
		return 0
	}
	return int(v)
}

func (k *KVM) probe() error {
	var v uintptr
	err := retry(func() (err error) { v, err = kvm.GetAPIVersion(uintptr(k.fd)); return err })
	if err != nil {
		return fmt.Errorf("%w: KVM_GET_API_VERSION: %v", ErrNoKVM, err)
	}
	if v != 12 {
		return fmt.Errorf("%w: KVM API version %d, nsvm needs 12", ErrNoKVM, v)
	}
	k.Caps.APIVersion = int(v)
	k.Caps.SyncRegs = uint64(k.check(kvm.CapSyncRegs))
	k.Caps.XSAVE = k.check(kvm.CapXSave) != 0
	k.Caps.XSAVE2Size = k.check(kvm.CapXSave2)
	k.Caps.XCRS = k.check(kvm.CapXCRS) != 0
	k.Caps.ImmediateExit = k.check(kvm.CapImmediateExit) != 0
	k.Caps.NrVCPUs = k.check(kvm.CapNRVCPUS)
	k.Caps.MaxVCPUs = k.check(kvm.CapMAXVCPUS)
	k.Caps.Platform = probePlatform()
	if k.Caps.SyncRegs&(SyncRegs|SyncSregs) != SyncRegs|SyncSregs {
		return fmt.Errorf("%w: KVM_CAP_SYNC_REGS lacks regs+sregs (have %#x); nsvm needs Linux 4.16 or later", ErrNoKVM, k.Caps.SyncRegs)
	}
	if !k.Caps.XSAVE || !k.Caps.XCRS || !k.Caps.ImmediateExit {
		return fmt.Errorf("%w: KVM lacks XSAVE, XCRS or IMMEDIATE_EXIT; nsvm needs Linux 4.11 or later", ErrNoKVM)
	}
	var sz uintptr
	err = retry(func() (err error) { sz, err = kvm.GetVCPUMMmapSize(uintptr(k.fd)); return err })
	if err != nil {
		return fmt.Errorf("%w: KVM_GET_VCPU_MMAP_SIZE: %v", ErrNoKVM, err)
	}
	k.runSize = int(sz)
	k.supported, err = getSupportedCPUID(k.fd)
	if err != nil {
		return fmt.Errorf("%w: KVM_GET_SUPPORTED_CPUID: %v", ErrNoKVM, err)
	}
	return nil
}

// probePlatform tells PVM from VMX/SVM by the loaded module. It is
// informational (benchmarks print it); the syscall path never relies on it
// and decides from the live CPU state at each exit instead.
func probePlatform() Platform {
	for _, m := range []struct {
		mod string
		p   Platform
	}{{"kvm_pvm", PlatformPVM}, {"kvm_intel", PlatformVMX}, {"kvm_amd", PlatformSVM}} {
		if _, err := os.Stat("/sys/module/" + m.mod); err == nil {
			return m.p
		}
	}
	if b, err := os.ReadFile("/proc/modules"); err == nil {
		s := string(b)
		switch {
		case strings.Contains(s, "kvm_pvm"):
			return PlatformPVM
		case strings.Contains(s, "kvm_intel"):
			return PlatformVMX
		case strings.Contains(s, "kvm_amd"):
			return PlatformSVM
		}
	}
	return PlatformUnknown
}

// SupportedCPUID returns a copy of KVM_GET_SUPPORTED_CPUID.
func (k *KVM) SupportedCPUID() []CPUIDEntry {
	return append([]CPUIDEntry(nil), k.supported...)
}

// Close closes /dev/kvm.
func (k *KVM) Close() error { return unix.Close(k.fd) }
