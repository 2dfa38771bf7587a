package guestkernel

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
)

// TestTraceMem: the trace reads what the task would: written bytes, zeros
// in a page of a readable mapping never touched (without faulting it in),
// and nothing from a PROT_NONE mapping or outside every mapping.
func TestTraceMem(t *testing.T) {
	e := newTestEnv(t)
	const n = 64
	base := e.mustMmap(t, testBase, n*pg, protRW, mapAnon|0x10) // MAP_FIXED
	e.mustCopyOut(t, base+pg-1, []byte("hi"))                   // across a page boundary
	m := traceMem{e.mm}
	b := make([]byte, 2)
	if !m.Read(base+pg-1, b) || string(b) != "hi" {
		t.Errorf("Read of written bytes: %q", b)
	}
	// nsvm maps small mappings eagerly: drop a page, as a first touch
	// would find it.
	far := base + (n-1)*pg
	if r := sysMadvise(e.t, &args{far, pg, unix.MADV_DONTNEED}); r != 0 || e.mm.pt.Lookup(far)&x86.PTEPresent != 0 {
		t.Fatalf("madvise(DONTNEED) = %d; page %#x still present", r, far)
	}
	z := bytes.Repeat([]byte{1}, 16)
	if !m.Read(far+8, z) || !bytes.Equal(z, make([]byte, 16)) {
		t.Errorf("Read of an untouched page: %v, want zeros", z)
	}
	if e.mm.pt.Lookup(far)&x86.PTEPresent != 0 {
		t.Errorf("the trace faulted page %#x in", far)
	}
	none := e.mustMmap(t, testBase+2*n*pg, pg, 0, mapAnon|0x10)
	if m.Read(none, b) {
		t.Error("Read of a PROT_NONE page succeeded")
	}
	if m.Read(testBase+4*n*pg, b) {
		t.Error("Read outside every mapping succeeded")
	}
	if m.Read(^uint64(0)-1, make([]byte, 4)) {
		t.Error("Read wrapping around the address space succeeded")
	}
	if (traceMem{}).Read(base, b) {
		t.Error("Read without an address space succeeded")
	}
}
