package vm

import (
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
func ioctlPtr(fd int, req uintptr, arg unsafe.Pointer) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
	if e != 0 {
		return e
	}
	return nil
}

func sliceAddr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

func syscall6(fd int, req uintptr, arg unsafe.Pointer) (uintptr, uintptr, unix.Errno) {
	return unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
}
