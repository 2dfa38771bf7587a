package guestkernel

// What a caller (the nsvm command) checks before it starts a VM, so that
// a bad request is refused as a usage error instead of failing inside the
// run, and how it tells a hung guest from an nsvm failure afterwards.

import (
	x86 "github.com/nsvm/nsvm/arch/x86_64"
	"github.com/nsvm/nsvm/guestkernel/loader"
)

// ErrDeadlock is returned by Run when every guest task is blocked and
// nothing can wake them: the guest hung, as it would have forever on
// Linux. It is the guest's outcome, not a failure of the VMM.
var ErrDeadlock = errDeadlock

// minUserMem is the guest memory New requires beyond the kernel area.
const minUserMem = 4 << 20

// MinMem is the least guest memory, in bytes and a whole number of MiB,
// with which img loads and starts: nsvm's kernel area, the image's
// PT_LOAD pages (copied in at load time), and the 4 MiB floor that New
// requires for the stack, heap and page tables.
func MinMem(img *loader.Image) uint64 {
	need := uint64(x86.KernelAreaSize) + minUserMem
	for _, s := range img.Segments {
		need += pageUp(s.Vaddr+s.Memsz) - pageDown(s.Vaddr)
	}
	const mib = 1 << 20
	return (need + mib - 1) &^ (mib - 1)
}

// SyscallNumber returns the x86-64 number of the system call called
// name, as --trace and FailArm name them (sysName): a name it accepts is
// one an armed call can match.
func SyscallNumber(name string) (int, bool) {
	// x86-64 numbers are below 512, where the x32 ABI's begin.
	for nr := 0; nr < 512; nr++ {
		if sysName(uint64(nr)) == name {
			return nr, true
		}
	}
	return 0, false
}
