package x86

import (
	"testing"

	"github.com/nsvm/nsvm/vm"
)

const (
	bitFMA      = 1 << 12
	bitXSAVE    = 1 << 26
	bitAVX      = 1 << 28
	bitF16C     = 1 << 29
	bitAVX2     = 1 << 5
	bitAVX512F  = 1 << 16
	bitXSAVES   = 1 << 3
	bitAVXVNNI  = 1 << 4
	bitAVX512BF = 1 << 5
)

// syntheticSupported is a KVM_GET_SUPPORTED_CPUID-like table: AVX and
// AVX-512F advertised, XSAVES offered, XCR0 components x87 SSE AVX
// opmask ZMM_Hi256 Hi16_ZMM PKRU (0x2e7).
func syntheticSupported() []vm.CPUIDEntry {
	return []vm.CPUIDEntry{
		{Function: 0, EAX: 0xd, EBX: 0x756e6547},
		{Function: 1, ECX: bitXSAVE | bitAVX | 1<<0, EDX: 1 << 25},
		{Function: 7, Index: 0, Flags: vm.CPUIDFlagSignificantIndex, EAX: 1, EBX: bitAVX2 | bitAVX512F | 1<<0},
		{Function: 7, Index: 1, Flags: vm.CPUIDFlagSignificantIndex},
		{Function: 0xd, Index: 0, Flags: vm.CPUIDFlagSignificantIndex, EAX: 0x2e7, EBX: 0x340, ECX: 0xa88},
		{Function: 0xd, Index: 1, Flags: vm.CPUIDFlagSignificantIndex, EAX: 1<<0 | bitXSAVES},
		{Function: 0x80000001, ECX: 1, EDX: 1 << 29},
	}
}

func entry(t *testing.T, tab []vm.CPUIDEntry, fn, idx uint32) vm.CPUIDEntry {
	t.Helper()
	var found []vm.CPUIDEntry
	for _, e := range tab {
		if e.Function == fn && e.Index == idx {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("CPUID leaf %#x.%d appears %d times, want once", fn, idx, len(found))
	}
	return found[0]
}

// wantXCR0 is the XCR0 ComposeCPUID must pick: what KVM (0x2e7 here) and
// the host both enable, within the limit and XFeaturesUser, x87|SSE
// always, AVX-512 all-or-nothing and only with AVX.
func wantXCR0(kvm, limit uint64) uint64 {
	x := kvm&HostXCR0()&limit&XFeaturesUser | XFeatureX87 | XFeatureSSE
	if x&XFeatureAVX == 0 || x&XFeaturesAVX512 != XFeaturesAVX512 {
		x &^= XFeaturesAVX512
	}
	return x
}

func TestComposeCPUID(t *testing.T) {
	_, _, host1c, _ := HostCPUID(1, 0)
	_, host7b, _, _ := HostCPUID(7, 0)
	hostDA, _, _, _ := HostCPUID(0xd, 1)
	tests := []struct {
		name  string
		limit uint64
	}{
		{"all user features", XFeaturesUser},
		{"no limit bits beyond user", ^uint64(0)},
		{"SSE only", XFeatureX87 | XFeatureSSE},
		{"AVX, no AVX-512", XFeatureX87 | XFeatureSSE | XFeatureAVX},
		{"partial AVX-512 limit", XFeatureX87 | XFeatureSSE | XFeatureAVX | XFeatureOpmask},
		{"zero limit", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := syntheticSupported()
			f := ComposeCPUID(in, tc.limit)
			x := f.XCR0

			if want := wantXCR0(0x2e7, tc.limit); x != want {
				t.Errorf("XCR0 = %#x, want %#x (host XCR0 %#x)", x, want, HostXCR0())
			}
			if x&^uint64(XFeaturesUser) != 0 {
				t.Errorf("XCR0 %#x has bits outside XFeaturesUser", x)
			}
			if x&(XFeatureX87|XFeatureSSE) != XFeatureX87|XFeatureSSE {
				t.Errorf("XCR0 %#x lacks x87|SSE", x)
			}
			if x&XFeaturePKRU != 0 {
				t.Errorf("XCR0 %#x enables PKRU", x)
			}
			if x&^(HostXCR0()|XFeatureX87|XFeatureSSE) != 0 {
				t.Errorf("XCR0 %#x enables components the host has not (%#x)", x, HostXCR0())
			}
			if x&^(tc.limit|XFeatureX87|XFeatureSSE) != 0 {
				t.Errorf("XCR0 %#x exceeds the limit %#x", x, tc.limit)
			}
			avx := x&XFeatureAVX != 0
			avx512 := x&XFeaturesAVX512 == XFeaturesAVX512
			if x&XFeaturesAVX512 != 0 && !avx512 || avx512 && !avx {
				t.Errorf("XCR0 %#x: AVX-512 state must be all-or-nothing and need AVX", x)
			}

			// The input table is not modified, and every input leaf
			// is passed on, in order.
			if orig := syntheticSupported(); !sameEntries(in, orig) {
				t.Error("ComposeCPUID modified its input")
			}
			if len(f.CPUID) < len(in) {
				t.Fatalf("%d entries out, %d in", len(f.CPUID), len(in))
			}
			for i := range in {
				if f.CPUID[i].Function != in[i].Function || f.CPUID[i].Index != in[i].Index {
					t.Errorf("entry %d is %#x.%d, want %#x.%d", i, f.CPUID[i].Function, f.CPUID[i].Index, in[i].Function, in[i].Index)
				}
			}
			for _, e := range []vm.CPUIDEntry{in[0], in[6]} {
				if got := entry(t, f.CPUID, e.Function, e.Index); got != e {
					t.Errorf("untouched leaf %#x changed: %+v -> %+v", e.Function, e, got)
				}
			}

			d0 := entry(t, f.CPUID, 0xd, 0)
			if got := uint64(d0.EAX) | uint64(d0.EDX)<<32; got != x {
				t.Errorf("leaf 0xd.0 EDX:EAX = %#x, want XCR0 %#x", got, x)
			}
			d1 := entry(t, f.CPUID, 0xd, 1)
			if d1.EAX&bitXSAVES != 0 {
				t.Errorf("leaf 0xd.1 EAX %#x advertises XSAVES", d1.EAX)
			}
			if want := uint32(1) | hostDA&7; d1.EAX != want {
				t.Errorf("leaf 0xd.1 EAX %#x, want %#x", d1.EAX, want)
			}

			l1 := entry(t, f.CPUID, 1, 0)
			if got := l1.ECX&bitAVX != 0; got != avx {
				t.Errorf("leaf 1 ECX AVX=%v with XCR0 %#x", got, x)
			}
			if !avx && l1.ECX&(bitFMA|bitF16C) != 0 {
				t.Errorf("leaf 1 ECX %#x: FMA/F16C without AVX state", l1.ECX)
			}
			if avx {
				// Host bits are added back: FMA/F16C come from the
				// host even though the table lacked them.
				if want := host1c & (bitFMA | bitF16C); l1.ECX&(bitFMA|bitF16C) != want {
					t.Errorf("leaf 1 ECX %#x: FMA/F16C %#x, host has %#x", l1.ECX, l1.ECX&(bitFMA|bitF16C), want)
				}
			}
			if l1.ECX&bitXSAVE == 0 || l1.ECX&1 == 0 || l1.EDX != 1<<25 {
				t.Errorf("leaf 1 lost unrelated bits: ECX %#x EDX %#x", l1.ECX, l1.EDX)
			}

			l7 := entry(t, f.CPUID, 7, 0)
			if got := l7.EBX&bitAVX512F != 0; got != avx512 {
				t.Errorf("leaf 7 EBX AVX512F=%v with XCR0 %#x", got, x)
			}
			if got := l7.EBX&bitAVX2 != 0; got != avx {
				t.Errorf("leaf 7 EBX AVX2=%v with XCR0 %#x (table offers it)", got, x)
			}
			if !avx512 && l7.EBX&(1<<17|1<<21|1<<28|1<<30|1<<31) != 0 {
				t.Errorf("leaf 7 EBX %#x: AVX-512 extensions without AVX-512 state", l7.EBX)
			}
			if avx512 && l7.EBX&(1<<30) != host7b&(1<<30) {
				t.Errorf("leaf 7 EBX %#x: AVX512BW differs from the host %#x", l7.EBX, host7b)
			}
			if l7.EBX&1 == 0 || l7.EAX != 1 {
				t.Errorf("leaf 7 lost unrelated bits: EAX %#x EBX %#x", l7.EAX, l7.EBX)
			}
			l71 := entry(t, f.CPUID, 7, 1)
			if !avx && l71.EAX&bitAVXVNNI != 0 || !avx512 && l71.EAX&bitAVX512BF != 0 {
				t.Errorf("leaf 7.1 EAX %#x advertises features without their state", l71.EAX)
			}

			// Per-component 0xd sub-leaves: present for every enabled
			// component above SSE, with the host's layout.
			for c := uint32(2); c < 10; c++ {
				has := false
				for _, e := range f.CPUID {
					if e.Function == 0xd && e.Index == c {
						has = true
						a, b, cc, d := HostCPUID(0xd, c)
						if e.EAX != a || e.EBX != b || e.ECX != cc || e.EDX != d || e.Flags != vm.CPUIDFlagSignificantIndex {
							t.Errorf("leaf 0xd.%d = %+v, host %#x %#x %#x %#x", c, e, a, b, cc, d)
						}
					}
				}
				if want := x&(1<<c) != 0; has != want {
					t.Errorf("leaf 0xd.%d present=%v, want %v (XCR0 %#x)", c, has, want, x)
				}
			}
		})
	}
}

func TestComposeCPUIDSSEOnlyClearsAVX(t *testing.T) {
	f := ComposeCPUID(syntheticSupported(), XFeatureX87|XFeatureSSE)
	if f.XCR0 != XFeatureX87|XFeatureSSE {
		t.Errorf("XCR0 = %#x, want 0x3", f.XCR0)
	}
	if l1 := entry(t, f.CPUID, 1, 0); l1.ECX&bitAVX != 0 {
		t.Errorf("leaf 1 ECX %#x still has AVX (bit 28)", l1.ECX)
	}
	if l7 := entry(t, f.CPUID, 7, 0); l7.EBX&(bitAVX512F|bitAVX2) != 0 {
		t.Errorf("leaf 7 EBX %#x still has AVX2/AVX-512F", l7.EBX)
	}
	if d0 := entry(t, f.CPUID, 0xd, 0); d0.EAX != 3 || d0.EDX != 0 {
		t.Errorf("leaf 0xd.0 EAX:EDX = %#x:%#x, want 3:0", d0.EAX, d0.EDX)
	}
}

func TestComposeCPUIDWithoutLeafD(t *testing.T) {
	// A table with no 0xd.0 leaf offers no XSAVE components: XCR0 falls
	// back to x87|SSE and AVX is hidden.
	in := []vm.CPUIDEntry{{Function: 1, ECX: bitAVX | bitXSAVE}}
	f := ComposeCPUID(in, XFeaturesUser)
	if f.XCR0 != XFeatureX87|XFeatureSSE {
		t.Errorf("XCR0 = %#x, want 0x3", f.XCR0)
	}
	if len(f.CPUID) != 1 || f.CPUID[0].ECX&bitAVX != 0 {
		t.Errorf("CPUID = %+v, want leaf 1 without AVX", f.CPUID)
	}
}

func sameEntries(a, b []vm.CPUIDEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
