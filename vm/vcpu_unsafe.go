package vm

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"

	"github.com/bobuhiro11/gokvm/kvm"
)

// syncArea returns typed views of kvm_run.s.regs: struct kvm_sync_regs
// starts with struct kvm_regs (144 bytes) then struct kvm_sregs, which are
// laid out exactly as gokvm's Regs and Sregs.
func syncArea(run []byte) (*kvm.Regs, *kvm.Sregs) {
	r := (*kvm.Regs)(unsafe.Pointer(&run[runSyncRegs]))
	s := (*kvm.Sregs)(unsafe.Pointer(&run[runSyncSregs]))
	return r, s
}

func setImmediateExit(run []byte, on bool) {
	// Bytes 0..3 are request_interrupt_window, immediate_exit and padding;
	// nsvm never requests interrupt windows, so a 32-bit atomic store is
	// safe and visible to the vCPU thread.
	var v uint32
	if on {
		v = 1 << (8 * runImmediateExit)
	}
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&run[0])), v)
}

func getU16(b []byte, off int) uint16    { return binary.LittleEndian.Uint16(b[off:]) }
func getU32(b []byte, off int) uint32    { return binary.LittleEndian.Uint32(b[off:]) }
func getU64(b []byte, off int) uint64    { return binary.LittleEndian.Uint64(b[off:]) }
func putU64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }
