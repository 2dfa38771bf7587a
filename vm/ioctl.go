package vm

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctl numbers gokvm lacks (or gets wrong), computed as <linux/kvm.h> does.
const (
	kvmio = 0xAE

	iocWrite = 1
	iocRead  = 2
)

func ioc(dir, nr, size uintptr) uintptr {
	return dir<<30 | size<<16 | kvmio<<8 | nr
}

var (
	kvmRun               = ioc(0, 0x80, 0)
	kvmGetSupportedCPUID = ioc(iocRead|iocWrite, 0x05, 8) // struct kvm_cpuid2 header
	kvmSetCPUID2         = ioc(iocWrite, 0x90, 8)
	kvmSetMSRs           = ioc(iocWrite, 0x89, 8)   // struct kvm_msrs header
	kvmGetXSAVE          = ioc(iocRead, 0xa4, 4096) // struct kvm_xsave
	kvmSetXSAVE          = ioc(iocWrite, 0xa5, 4096)
	kvmGetXSAVE2         = ioc(iocRead, 0xcf, 4096)
)

// retry calls f again for as long as it fails with EINTR, and returns its
// last error. Every ioctl but KVM_RUN goes through here: the Go runtime
// preempts goroutines with signals (SIGURG), and an ioctl such as
// KVM_CREATE_VM, which may sleep while KVM allocates, then fails with EINTR
// (seen as a spurious "KVM is not usable" in CI). gokvm's wrappers pass the
// errno through, so each call of theirs is wrapped in a closure that keeps
// its result. KVM_RUN is not restarted here: its EINTR is how a kick
// reaches the run loop (vcpu.go).
func retry(f func() error) error {
	for {
		if err := f(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// ioctl issues one of our own ioctls, restarted on EINTR, and returns its
// result. It goes through syscall (not RawSyscall), so that the Go
// scheduler knows the thread may block.
func ioctl(fd int, req uintptr, arg unsafe.Pointer) (r uintptr, err error) {
	err = retry(func() error {
		var e unix.Errno
		r, _, e = unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		if e != 0 {
			return e
		}
		return nil
	})
	return r, err
}

func sliceAddr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }
