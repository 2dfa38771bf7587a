package x86

import (
	"sync"

	"github.com/nsvm/nsvm/vm"
)

func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)
func xgetbv0() uint64

// HostCPUID executes CPUID on the host. Results are cached: when nsvm
// itself runs in a VM (as on our PVM machines), every CPUID is a trap to
// the hypervisor costing microseconds, and the answers never change.
func HostCPUID(leaf, sub uint32) (eax, ebx, ecx, edx uint32) {
	key := uint64(leaf)<<32 | uint64(sub)
	cpuidMu.Lock()
	defer cpuidMu.Unlock()
	if r, ok := cpuidCache[key]; ok {
		return r[0], r[1], r[2], r[3]
	}
	eax, ebx, ecx, edx = cpuid(leaf, sub)
	cpuidCache[key] = [4]uint32{eax, ebx, ecx, edx}
	return
}

var (
	cpuidMu    sync.Mutex
	cpuidCache = map[uint64][4]uint32{}
)

// HostXCR0 reads the host's XCR0 (what the host kernel enabled).
func HostXCR0() uint64 { return xgetbv0() }

// XCR0 state components.
const (
	XFeatureX87      = 1 << 0
	XFeatureSSE      = 1 << 1
	XFeatureAVX      = 1 << 2
	XFeatureOpmask   = 1 << 5
	XFeatureZMMHi256 = 1 << 6
	XFeatureHi16ZMM  = 1 << 7
	XFeaturePKRU     = 1 << 9

	XFeaturesAVX512 = XFeatureOpmask | XFeatureZMMHi256 | XFeatureHi16ZMM
	// XFeaturesUser is what nsvm offers guests at most: the user-mode
	// vector state. PKRU needs CR4.PKE and AMX needs permission syscalls;
	// neither is modelled.
	XFeaturesUser = XFeatureX87 | XFeatureSSE | XFeatureAVX | XFeaturesAVX512
)

// Feature bits copied from the host into the guest's CPUID when KVM's
// supported table hides them (PVM does: see shared/notes/kvm-here.md). Each
// is an XSAVE-managed extension that works at CPL3 once XCR0 enables it.
var (
	leaf1ECX = uint32(1<<12 | 1<<26 | 1<<28 | 1<<29) // FMA XSAVE AVX F16C
	leaf7EBX = uint32(1<<5 | 1<<16 | 1<<17 | 1<<21 | 1<<28 | 1<<30 | 1<<31)
	// AVX2 AVX512F DQ IFMA CD BW VL
	leaf7ECX = uint32(1<<1 | 1<<6 | 1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12 | 1<<14)
	// VBMI VBMI2 GFNI VAES VPCLMULQDQ VNNI BITALG VPOPCNTDQ
	leaf7EDX  = uint32(1 << 23)            // AVX512_FP16
	leaf71EAX = uint32(1<<4 | 1<<5)        // AVX_VNNI AVX512_BF16
	leafDEAX1 = uint32(1<<0 | 1<<1 | 1<<2) // XSAVEOPT XSAVEC XGETBV1
)

// GuestFeatures is the result of composing the guest CPUID.
type GuestFeatures struct {
	CPUID []vm.CPUIDEntry
	XCR0  uint64
}

// ComposeCPUID builds the guest CPUID from KVM's supported table, adding
// back the XSAVE/AVX/AVX-512 bits the host has, and picks XCR0: the state
// components KVM and the host both support, limited to xcr0Limit (use
// XFeaturesUser for everything; lower it to benchmark SSE-only or AVX
// guests). Bits for components outside XCR0 are cleared so that a guest
// never sees AVX advertised without its state enabled.
func ComposeCPUID(supported []vm.CPUIDEntry, xcr0Limit uint64) GuestFeatures {
	var kvmXCR0 uint64
	for _, e := range supported {
		if e.Function == 0xd && e.Index == 0 {
			kvmXCR0 = uint64(e.EAX) | uint64(e.EDX)<<32
		}
	}
	xcr0 := kvmXCR0 & HostXCR0() & xcr0Limit & XFeaturesUser
	xcr0 |= XFeatureX87 | XFeatureSSE
	avx := xcr0&XFeatureAVX != 0
	avx512 := avx && xcr0&XFeaturesAVX512 == XFeaturesAVX512
	if !avx512 {
		xcr0 &^= XFeaturesAVX512
	}

	_, _, h1c, _ := HostCPUID(1, 0)
	_, h7b, h7c, h7d := HostCPUID(7, 0)
	h71a, _, _, _ := HostCPUID(7, 1)
	hda, _, _, _ := HostCPUID(0xd, 1)

	out := make([]vm.CPUIDEntry, 0, len(supported)+8)
	for _, e := range supported {
		switch {
		case e.Function == 1:
			e.ECX |= h1c & leaf1ECX
			if !avx {
				e.ECX &^= 1<<12 | 1<<28 | 1<<29
			}
		case e.Function == 7 && e.Index == 0:
			e.EBX |= h7b & leaf7EBX
			e.ECX |= h7c & leaf7ECX
			e.EDX |= h7d & leaf7EDX
			if !avx {
				e.EBX &^= 1 << 5
				e.ECX &^= 1<<9 | 1<<10
			}
			if !avx512 {
				e.EBX &^= 1<<16 | 1<<17 | 1<<21 | 1<<28 | 1<<30 | 1<<31
				e.ECX &^= 1<<1 | 1<<6 | 1<<11 | 1<<12 | 1<<14
				e.EDX &^= 1 << 23
			}
		case e.Function == 7 && e.Index == 1:
			e.EAX |= h71a & leaf71EAX
			if !avx {
				e.EAX &^= 1 << 4
			}
			if !avx512 {
				e.EAX &^= 1 << 5
			}
		case e.Function == 0xd && e.Index == 0:
			// Advertise only what XCR0 holds; KVM recomputes EBX
			// (the size for the enabled set) when XCR0 is set.
			e.EAX = uint32(xcr0)
			e.EDX = uint32(xcr0 >> 32)
		case e.Function == 0xd && e.Index == 1:
			e.EAX |= hda & leafDEAX1
			e.EAX &^= 1 << 3 // XSAVES: needs IA32_XSS, not modelled
		}
		out = append(out, e)
	}
	// KVM may omit the per-component 0xD sub-leaves it hid; take the
	// host's so that offsets and sizes are right.
	for c := uint32(2); c < 10; c++ {
		if xcr0&(1<<c) == 0 || hasEntry(out, 0xd, c) {
			continue
		}
		a, b, cc, d := HostCPUID(0xd, c)
		out = append(out, vm.CPUIDEntry{Function: 0xd, Index: c, Flags: vm.CPUIDFlagSignificantIndex, EAX: a, EBX: b, ECX: cc, EDX: d})
	}
	return GuestFeatures{CPUID: out, XCR0: xcr0}
}

func hasEntry(t []vm.CPUIDEntry, fn, idx uint32) bool {
	for _, e := range t {
		if e.Function == fn && e.Index == idx {
			return true
		}
	}
	return false
}
