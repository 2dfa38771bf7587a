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
	kvmSetMSRs           = ioc(iocWrite, 0x89, 8) // struct kvm_msrs header
	kvmGetMSRs           = ioc(iocRead|iocWrite, 0x88, 8)
	kvmGetXSAVE          = ioc(iocRead, 0xa4, 4096) // struct kvm_xsave
	kvmSetXSAVE          = ioc(iocWrite, 0xa5, 4096)
	kvmGetXSAVE2         = ioc(iocRead, 0xcf, 4096)
	kvmSetGuestDebug     = ioc(iocWrite, 0x9b, 72)
	_                    = kvmGetMSRs
	_                    = kvmSetGuestDebug
)

// ioctlPtr issues an ioctl through syscall (not RawSyscall), so that the Go
// scheduler knows the thread may block.
// Like every other ioctl here but KVM_RUN, it is restarted on EINTR.
func ioctlPtr(fd int, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}

// retry restarts a setup ioctl that failed with EINTR. The Go runtime
// preempts goroutines with signals (SIGURG), and an ioctl such as
// KVM_CREATE_VM, which may sleep while KVM allocates, then fails with
// EINTR: seen as a spurious "KVM is not usable" in CI. gokvm's wrappers
// pass the errno through, so each of them goes through here. KVM_RUN is
// not: its EINTR is how a kick reaches the run loop (vcpu.go).
func retry[T any](f func() (T, error)) (T, error) {
	for {
		v, err := f()
		if !errors.Is(err, unix.EINTR) {
			return v, err
		}
	}
}

// retryErr is retry for calls that return only an error.
func retryErr(f func() error) error {
	_, err := retry(func() (struct{}, error) { return struct{}{}, f() })
	return err
}

func sliceAddr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

func syscall6(fd int, req uintptr, arg unsafe.Pointer) (uintptr, uintptr, unix.Errno) {
	for {
		r1, r2, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		if e != unix.EINTR {
			return r1, r2, e
		}
	}
}
