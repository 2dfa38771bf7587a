package x86

import (
	"encoding/binary"
	"fmt"
)

// FPU state of a task: the XSAVE image, and what fork does with it.
//
// Each task owns a buffer holding its XSAVE image in the standard format
// KVM_GET_XSAVE2 uses. While a task runs, its live FPU/SIMD registers are
// in the vCPU and the buffer may be stale; the scheduler saves them with
// KVM_GET_XSAVE2 only when another task needs the vCPU's FPU (see
// guestkernel's switch), the way Linux defers FPU saves
// (TIF_NEED_FPU_LOAD).

// XSAVE layout constants (SDM vol. 1, 13.4).
const (
	XSAVELegacySize   = 512 // FXSAVE area: x87, MXCSR, XMM
	XSAVEHeaderOffset = 512 // XSTATE_BV, XCOMP_BV
	xsaveHeaderSize   = 64
	mxcsrOffset       = 24
	fcwOffset         = 0

	// XFeaturePASID and XFeatureTileData are the components fpu_clone
	// never lets a child inherit (PASID is a supervisor state; AMX tile
	// data is a dynamic feature, left in its init state).
	XFeaturePASID    = 1 << 10
	XFeatureTileData = 1 << 18
)

// XSAVELayout is where each enabled component lives in the standard
// format, read from CPUID leaf 0xD (never hard-coded: it differs between
// CPUs).
type XSAVELayout struct {
	XCR0       uint64
	Size       int // standard-format size for XCR0 (CPUID 0xD.0 EBX)
	Components []XSAVEComponent
}

// XSAVEComponent is one state component.
type XSAVEComponent struct {
	Bit    int
	Offset int
	Size   int
}

// LayoutFor reads the standard-format layout of the components in xcr0
// from the host CPUID (the guest's CPUID 0xD sub-leaves are the host's).
func LayoutFor(xcr0 uint64) XSAVELayout {
	l := XSAVELayout{XCR0: xcr0, Size: XSAVELegacySize + xsaveHeaderSize}
	for bit := 2; bit < 64; bit++ {
		if xcr0&(1<<bit) == 0 {
			continue
		}
		size, off, _, _ := HostCPUID(0xd, uint32(bit))
		l.Components = append(l.Components, XSAVEComponent{Bit: bit, Offset: int(off), Size: int(size)})
		if end := int(off + size); end > l.Size {
			l.Size = end
		}
	}
	return l
}

// XSTATEBV returns the XSTATE_BV word of an image: which components are
// not in their initial state.
func XSTATEBV(img []byte) uint64 {
	return binary.LittleEndian.Uint64(img[XSAVEHeaderOffset:])
}

// FPUClone applies Linux's fpu_clone (arch/x86/kernel/fpu/core.c) to a
// child's copy of its parent's XSAVE image: every component stays
// byte-identical except that PASID and AMX tile data are marked as in
// their initial state (cleared from XSTATE_BV), so the child never
// inherits them.
func FPUClone(child []byte) {
	bv := XSTATEBV(child)
	binary.LittleEndian.PutUint64(child[XSAVEHeaderOffset:], bv&^(XFeaturePASID|XFeatureTileData))
}

// FPUAlloc allocates a task's FPU buffer of the vCPU's XSAVE size (the
// seed era's fpu_alloc in arch_dup_task_struct).
func FPUAlloc(size int) ([]byte, error) {
	if size < XSAVELegacySize+xsaveHeaderSize {
		return nil, fmt.Errorf("XSAVE size %d is too small", size)
	}
	return make([]byte, size), nil
}

// FPUInit fills img with the state a new program starts with (execve's
// fpu_flush_thread): x87 control word 0x37f, MXCSR 0x1f80, every
// component in its initial state.
func FPUInit(img []byte) {
	clear(img)
	binary.LittleEndian.PutUint16(img[fcwOffset:], 0x37f)
	binary.LittleEndian.PutUint32(img[mxcsrOffset:], 0x1f80)
	binary.LittleEndian.PutUint32(img[mxcsrOffset+4:], 0xffff) // MXCSR_MASK
}
