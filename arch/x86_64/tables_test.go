package x86

import (
	"encoding/binary"
	"testing"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/arch/x86/x86asm"

	"github.com/nsvm/nsvm/vm"
)

func kernelArea(t *testing.T) []byte {
	t.Helper()
	mem := make([]byte, KernelAreaSize)
	SetupKernelArea(mem)
	return mem
}

// segDesc is a decoded 8-byte code/data segment descriptor.
type segDesc struct {
	base, limit          uint32
	typ, s, dpl, present uint8
	l, db, g             uint8
}

func decodeSeg(d uint64) segDesc {
	return segDesc{
		base:    uint32(d>>16&0xffffff | d>>56<<24),
		limit:   uint32(d&0xffff | d>>48&0xf<<16),
		typ:     uint8(d >> 40 & 0xf),
		s:       uint8(d >> 44 & 1),
		dpl:     uint8(d >> 45 & 3),
		present: uint8(d >> 47 & 1),
		l:       uint8(d >> 53 & 1),
		db:      uint8(d >> 54 & 1),
		g:       uint8(d >> 55 & 1),
	}
}

func TestGDTSelectors(t *testing.T) {
	mem := kernelArea(t)
	le := binary.LittleEndian
	if d := le.Uint64(mem[PhysGDT:]); d != 0 {
		t.Errorf("GDT[0] = %#x, want the null descriptor", d)
	}
	tests := []struct {
		name string
		sel  uint16
		code bool
		dpl  uint8
		long bool
	}{
		{"kernel CS", SelKernelCS, true, 0, true},
		{"kernel DS", SelKernelDS, false, 0, false},
		{"user32 CS", SelUser32CS, true, 3, false},
		{"user DS", SelUserDS, false, 3, false},
		{"user CS", SelUserCS, true, 3, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if rpl := tc.sel & 3; rpl != uint16(tc.dpl) {
				t.Errorf("selector %#x has RPL %d, want %d", tc.sel, rpl, tc.dpl)
			}
			d := decodeSeg(le.Uint64(mem[PhysGDT+int(tc.sel&^7):]))
			if d.present != 1 || d.s != 1 {
				t.Errorf("descriptor %+v: not a present code/data segment", d)
			}
			if d.dpl != tc.dpl {
				t.Errorf("DPL %d, want %d", d.dpl, tc.dpl)
			}
			if got := d.typ&8 != 0; got != tc.code {
				t.Errorf("code=%v, want %v (type %#x)", got, tc.code, d.typ)
			}
			if d.typ&2 == 0 { // code: readable; data: writable
				t.Errorf("type %#x is not readable code / writable data", d.typ)
			}
			if got := d.l == 1; got != tc.long {
				t.Errorf("L=%d, want long=%v", d.l, tc.long)
			}
			if tc.long && d.db != 0 {
				t.Error("64-bit code segment has D/B set (reserved with L)")
			}
			if !tc.long && (d.db != 1 || d.g != 1 || d.limit != 0xfffff || d.base != 0) {
				t.Errorf("flat 32-bit segment expected, got %+v", d)
			}
		})
	}
}

// The segment caches BaseSregs/UserCS/UserDS load must match what the CPU
// would load from the GDT on iretq or sysret.
func TestUserSegmentsMatchGDT(t *testing.T) {
	mem := kernelArea(t)
	for _, seg := range []kvm.Segment{UserCS(), UserDS()} {
		d := decodeSeg(binary.LittleEndian.Uint64(mem[PhysGDT+int(seg.Selector&^7):]))
		if seg.Typ != d.typ|1 && seg.Typ != d.typ {
			t.Errorf("selector %#x: cached type %d, GDT type %d", seg.Selector, seg.Typ, d.typ)
		}
		if seg.DPL != d.dpl || seg.S != d.s || seg.L != d.l || seg.DB != d.db || seg.G != d.g || seg.Present != d.present {
			t.Errorf("selector %#x: cached %+v differs from GDT %+v", seg.Selector, seg, d)
		}
	}
	s := BaseSregs()
	if s.CS.Selector != 0x33 || s.SS.Selector != 0x2b {
		t.Errorf("BaseSregs CS:SS = %#x:%#x, want 0x33:0x2b", s.CS.Selector, s.SS.Selector)
	}
	if s.TR.Selector != SelTSS || s.TR.Base != KernelBase+PhysTSS || s.TR.Limit != tssLimit {
		t.Errorf("BaseSregs TR = %+v", s.TR)
	}
	if s.EFER&(EFERLME|EFERLMA|EFERSCE|EFERNXE) != EFERLME|EFERLMA|EFERSCE|EFERNXE || s.CR0&CR0PG == 0 || s.CR4&CR4PAE == 0 {
		t.Errorf("BaseSregs is not long mode with NX and SYSCALL: EFER %#x CR0 %#x CR4 %#x", s.EFER, s.CR0, s.CR4)
	}
}

func TestTSSDescriptor(t *testing.T) {
	mem := kernelArea(t)
	le := binary.LittleEndian
	lo := le.Uint64(mem[PhysGDT+SelTSS:])
	hi := le.Uint64(mem[PhysGDT+SelTSS+8:])
	d := decodeSeg(lo)
	base := uint64(d.base) | hi<<32
	if base != KernelBase+PhysTSS {
		t.Errorf("TSS base %#x, want %#x", base, uint64(KernelBase+PhysTSS))
	}
	if d.limit != tssLimit {
		t.Errorf("TSS limit %#x, want %#x", d.limit, tssLimit)
	}
	if d.typ != 9 || d.s != 0 || d.present != 1 || d.dpl != 0 {
		t.Errorf("TSS descriptor %+v: want an available 64-bit TSS (type 9, S=0, P=1, DPL 0)", d)
	}
	// The GDT limit in BaseSregs must cover the 16-byte TSS descriptor.
	if lim := BaseSregs().GDT.Limit; int(lim) < SelTSS+15 {
		t.Errorf("GDT limit %#x does not cover the TSS descriptor", lim)
	}
}

func TestTSS(t *testing.T) {
	mem := kernelArea(t)
	le := binary.LittleEndian
	tss := mem[PhysTSS:]
	if rsp0 := le.Uint64(tss[4:]); rsp0 != KStackTop {
		t.Errorf("TSS RSP0 = %#x, want KStackTop %#x", rsp0, uint64(KStackTop))
	}
	if ist1 := le.Uint64(tss[0x24:]); ist1 != KStackTop {
		t.Errorf("TSS IST1 = %#x, want KStackTop %#x", ist1, uint64(KStackTop))
	}
	iomapBase := int(le.Uint16(tss[102:]))
	if iomapBase != tssIOMap {
		t.Fatalf("I/O map base %#x, want %#x", iomapBase, tssIOMap)
	}
	// Only the benchmark's ring-3 `out` is permitted: the syscall and
	// exception stubs run in ring 0 and need no permission.
	bitmap := tss[iomapBase:]
	for port := 0; port < 256; port++ {
		allowed := bitmap[port/8]&(1<<(port%8)) == 0
		want := port == BenchPort
		if allowed != want {
			t.Errorf("port %#x: allowed=%v, want %v", port, allowed, want)
		}
	}
	// The byte after the bitmap must be all ones, and it must lie inside
	// the TSS limit.
	if b := bitmap[32]; b != 0xff {
		t.Errorf("byte after the I/O bitmap = %#x, want 0xff", b)
	}
	if tssIOMap+32 > tssLimit {
		t.Errorf("TSS limit %#x does not cover the bitmap's terminating byte", tssLimit)
	}
}

func TestIDTGates(t *testing.T) {
	mem := kernelArea(t)
	le := binary.LittleEndian
	for v := 0; v < NumVectors; v++ {
		g := mem[PhysIDT+16*v:]
		off := uint64(le.Uint16(g[0:])) | uint64(le.Uint16(g[6:]))<<16 | uint64(le.Uint32(g[8:]))<<32
		want, wantIST := uint64(StubBase)+uint64(16*v), byte(0)
		if v == SyscallVector {
			// #BP is the syscall entry's way into ring 0, on IST1.
			want, wantIST = SyscallStub, 1
		}
		if off != want {
			t.Errorf("vector %d: handler %#x, want %#x", v, off, want)
		}
		if sel := le.Uint16(g[2:]); sel != 0x10 {
			t.Errorf("vector %d: selector %#x, want 0x10", v, sel)
		}
		if ist := g[4] & 7; ist != wantIST {
			t.Errorf("vector %d: IST %d, want %d", v, ist, wantIST)
		}
		attr := g[5]
		if attr&0x80 == 0 || attr&0x1f != 0x0e {
			t.Errorf("vector %d: attributes %#x, want a present 64-bit interrupt gate", v, attr)
		}
		wantDPL := byte(0)
		if v == VecBP || v == VecOF {
			wantDPL = 3
		}
		if dpl := attr >> 5 & 3; dpl != wantDPL {
			t.Errorf("vector %d: DPL %d, want %d", v, dpl, wantDPL)
		}
		if r := le.Uint32(g[12:]); r != 0 {
			t.Errorf("vector %d: reserved dword %#x", v, r)
		}
	}
	if SyscallVector != VecBP {
		t.Errorf("SyscallVector = %d, want #BP (the entry is a one-byte int3)", SyscallVector)
	}
	if lim := BaseSregs().IDT.Limit; int(lim) != NumVectors*16-1 {
		t.Errorf("IDT limit %#x, want %#x", lim, NumVectors*16-1)
	}
}

// decodeAll decodes 64-bit instructions from code until (and including)
// stop, or until decoding fails.
func decodeAll(t *testing.T, code []byte, stop x86asm.Op) []x86asm.Inst {
	t.Helper()
	var out []x86asm.Inst
	for pc := 0; pc < len(code); {
		inst, err := x86asm.Decode(code[pc:], 64)
		if err != nil {
			t.Fatalf("decode at +%d (% x): %v", pc, code[pc:min(pc+8, len(code))], err)
		}
		out = append(out, inst)
		pc += inst.Len
		if inst.Op == stop {
			break
		}
	}
	return out
}

func ops(insts []x86asm.Inst) []x86asm.Op {
	var o []x86asm.Op
	for _, i := range insts {
		o = append(o, i.Op)
	}
	return o
}

func sameOps(a, b []x86asm.Op) bool {
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

func TestExceptionStubs(t *testing.T) {
	mem := kernelArea(t)
	if !HasErrorCode(VecPF) || HasErrorCode(VecUD) {
		t.Fatal("HasErrorCode: #PF must push an error code and #UD must not")
	}
	withCode := []x86asm.Op{x86asm.PUSH, x86asm.OUT, x86asm.ADD, x86asm.IRETQ}
	noCode := []x86asm.Op{x86asm.PUSH, x86asm.PUSH, x86asm.OUT, x86asm.ADD, x86asm.IRETQ}
	for v := 0; v < NumVectors; v++ {
		stub := mem[PhysStubs+16*v : PhysStubs+16*v+16]
		insts := decodeAll(t, stub, x86asm.IRETQ)
		want := noCode
		if HasErrorCode(v) {
			want = withCode
		}
		if !sameOps(ops(insts), want) {
			t.Errorf("vector %d stub: %v, want %v", v, ops(insts), want)
			continue
		}
		n := len(insts)
		// push $vector right before the out.
		if imm, ok := insts[n-4].Args[0].(x86asm.Imm); !ok || int(imm) != v {
			t.Errorf("vector %d stub pushes %v, want $%d", v, insts[n-4].Args[0], v)
		}
		if !HasErrorCode(v) {
			if imm, ok := insts[0].Args[0].(x86asm.Imm); !ok || imm != 0 {
				t.Errorf("vector %d stub's dummy error code is %v, want $0", v, insts[0].Args[0])
			}
		}
		out := insts[n-3]
		if imm, ok := out.Args[0].(x86asm.Imm); !ok || imm != ExceptionPort || out.Args[1] != x86asm.AL {
			t.Errorf("vector %d stub: out %v, want out %%al,$%#x", v, out.Args, ExceptionPort)
		}
		add := insts[n-2]
		if add.Args[0] != x86asm.RSP || add.Args[1] != x86asm.Imm(16) {
			t.Errorf("vector %d stub: add %v, want add $16,%%rsp", v, add.Args)
		}
		if insts[n-1].DataSize != 64 {
			t.Errorf("vector %d stub: iret with %d-bit operand size, want iretq", v, insts[n-1].DataSize)
		}
	}
	// Spot-check the two vectors the brief of the stubs names.
	for _, tc := range []struct {
		vec  int
		want []x86asm.Op
	}{{VecPF, withCode}, {VecUD, noCode}} {
		got := ops(decodeAll(t, mem[PhysStubs+16*tc.vec:PhysStubs+16*tc.vec+16], x86asm.IRETQ))
		if !sameOps(got, tc.want) {
			t.Errorf("stub %d = %v, want %v", tc.vec, got, tc.want)
		}
	}
	// The rest of each 16-byte slot is int3 filler.
	for v := 0; v < NumVectors; v++ {
		n := 12
		if HasErrorCode(v) {
			n = 10
		}
		for i := n; i < 16; i++ {
			if b := mem[PhysStubs+16*v+i]; b != 0xcc {
				t.Errorf("stub %d byte %d = %#x, want int3 filler", v, i, b)
			}
		}
	}
}

func TestSyscallEntryPage(t *testing.T) {
	mem := kernelArea(t)
	entry := mem[PhysEntry : PhysEntry+PageSize]
	insts := decodeAll(t, entry[:3], x86asm.UD2)
	if got := ops(insts); !sameOps(got, []x86asm.Op{x86asm.INT, x86asm.UD2}) || insts[0].Len != 1 || insts[0].Args[0] != x86asm.Imm(3) {
		t.Fatalf("syscall entry: %v %v, want a one-byte int3 then ud2", got, insts[0].Args)
	}
	if SyscallEntryNext != SyscallEntry+1 {
		t.Errorf("SyscallEntryNext = %#x, want the address after the int3", uint64(SyscallEntryNext))
	}
	if b := entry[3]; b != 0xcc {
		t.Errorf("byte after the entry = %#x, want int3 filler", b)
	}
	off := BenchOutAddr - SyscallEntry
	bench := decodeAll(t, entry[off:off+4], x86asm.RET)
	if got := ops(bench); !sameOps(got, []x86asm.Op{x86asm.OUT, x86asm.RET}) || bench[0].Args[0] != x86asm.Imm(BenchPort) {
		t.Errorf("bench stub: %v %v, want out $%#x; ret", got, bench[0].Args, BenchPort)
	}
}

func TestSyscallStub(t *testing.T) {
	mem := kernelArea(t)
	off := PhysStubs + int(SyscallStub-StubBase)
	insts := decodeAll(t, mem[off:off+8], x86asm.IRETQ)
	if got := ops(insts); !sameOps(got, []x86asm.Op{x86asm.OUT, x86asm.IRETQ}) {
		t.Fatalf("syscall stub: %v, want [OUT IRETQ]", got)
	}
	if insts[0].Args[0] != x86asm.Imm(SyscallPort) || insts[0].Args[1] != x86asm.AL {
		t.Errorf("syscall stub out %v, want out %%al,$%#x", insts[0].Args, SyscallPort)
	}
	if insts[1].DataSize != 64 {
		t.Errorf("iret operand size %d, want iretq", insts[1].DataSize)
	}
	// IsSyscallExit accepts RIP at the out (VMX) or after it (PVM).
	if insts[0].Len != 2 {
		t.Errorf("out is %d bytes; IsSyscallExit assumes 2", insts[0].Len)
	}
	// The stub must not overlap the per-vector stubs or the shootdown
	// stub.
	if SyscallStub < StubBase+NumVectors*stubStride || SyscallStub+4 > ShootdownStub {
		t.Errorf("SyscallStub %#x overlaps other stubs", uint64(SyscallStub))
	}
}

// The shootdown stub is hand-assembled: check its instructions and that
// its branches land where the comment says.
func TestShootdownStub(t *testing.T) {
	mem := kernelArea(t)
	off := PhysStubs + int(ShootdownStub-StubBase)
	if end := off + len(shootdownCode()); end > PhysStubs+PageSize {
		t.Fatalf("shootdown stub runs past the stub page")
	}
	code := mem[off : off+len(shootdownCode())]
	var insts []x86asm.Inst
	var pcs []int
	for pc := 0; pc < len(code); {
		inst, err := x86asm.Decode(code[pc:], 64)
		if err != nil {
			t.Fatalf("decode at +%d: %v", pc, err)
		}
		insts, pcs = append(insts, inst), append(pcs, pc)
		pc += inst.Len
	}
	want := []x86asm.Op{
		x86asm.PUSH, x86asm.PUSH, x86asm.PUSH, x86asm.PUSH, x86asm.MOV, // movabs $list,%rcx
		x86asm.MOV,                                     // count
		x86asm.TEST, x86asm.JE, x86asm.ADD, x86asm.MOV, // loop head
		x86asm.MOV, x86asm.MOV, // read and write back one byte
		x86asm.DEC, x86asm.JMP,
		x86asm.MOV, x86asm.MOV, x86asm.MOV, // CR3 reload
		x86asm.POP, x86asm.POP, x86asm.POP, x86asm.POP, x86asm.IRETQ,
	}
	if got := ops(insts); !sameOps(got, want) {
		t.Fatalf("shootdown stub: %v, want %v", got, want)
	}
	target := func(i int) int { return pcs[i] + insts[i].Len + int(insts[i].Args[0].(x86asm.Rel)) }
	if got := target(7); got != pcs[14] {
		t.Errorf("je lands at +%d, want +%d (the CR3 reload)", got, pcs[14])
	}
	if got := target(13); got != pcs[6] {
		t.Errorf("jmp lands at +%d, want +%d (the loop test)", got, pcs[6])
	}
	list := uint64(KernelBase + PhysShootdown)
	if insts[4].Args[1] != x86asm.Imm(list) || insts[14].Args[1] != x86asm.Imm(list+8) {
		t.Errorf("list addresses %v %v, want %#x and %#x", insts[4].Args[1], insts[14].Args[1], list, list+8)
	}
	if insts[16].Args[0] != x86asm.CR3 {
		t.Errorf("instruction 16 writes %v, want CR3", insts[16].Args[0])
	}
	// Pushes and pops balance, in reverse order.
	for i := 0; i < 4; i++ {
		if insts[i].Args[0] != insts[20-i].Args[0] {
			t.Errorf("push %v is popped as %v", insts[i].Args[0], insts[20-i].Args[0])
		}
	}
}

func TestShootdown(t *testing.T) {
	var sd Shootdown
	if sd.Pending() || sd.Len() != 0 {
		t.Fatal("zero Shootdown is pending")
	}
	sd.Add(0x300000)
	sd.Add(0x300ff8) // same page
	sd.Add(0x301000)
	if sd.Len() != 2 || !sd.Pending() || sd.Overflow {
		t.Errorf("after 3 adds over 2 pages: Len %d Pending %v Overflow %v", sd.Len(), sd.Pending(), sd.Overflow)
	}
	mem := make([]byte, KernelAreaSize)
	sd.Commit(mem, 0x345000)
	le := binary.LittleEndian
	l := mem[PhysShootdown:]
	if n, cr3 := le.Uint64(l), le.Uint64(l[8:]); n != 2 || cr3 != 0x345000 {
		t.Errorf("committed count %d CR3 %#x, want 2 and 0x345000", n, cr3)
	}
	for i, pa := range []uint64{0x300000, 0x301000} {
		if got, want := le.Uint64(l[16+8*i:]), uint64(DirectMap)+pa+1; got != want {
			t.Errorf("entry %d = %#x, want %#x (direct map, byte 1)", i, got, want)
		}
	}
	if sd.Pending() || sd.Len() != 0 {
		t.Error("Commit did not reset the Shootdown")
	}
	// A page committed before can be recorded again.
	sd.Add(0x300000)
	if sd.Len() != 1 {
		t.Errorf("re-adding after Commit: Len %d", sd.Len())
	}
	sd.Commit(mem, 0)

	// The list holds ShootdownMax pages; beyond, Overflow.
	for i := 0; i < ShootdownMax; i++ {
		sd.Add(uint64(i) * PageSize)
	}
	if sd.Overflow || sd.Len() != ShootdownMax {
		t.Fatalf("at the limit: Len %d Overflow %v", sd.Len(), sd.Overflow)
	}
	sd.Add(uint64(ShootdownMax) * PageSize)
	if !sd.Overflow || !sd.Pending() || sd.Len() != ShootdownMax {
		t.Errorf("past the limit: Len %d Overflow %v", sd.Len(), sd.Overflow)
	}
	// The full list fits its pages.
	if 16+8*ShootdownMax > shootdownPages*PageSize {
		t.Errorf("ShootdownMax %d overflows %d pages", ShootdownMax, shootdownPages)
	}
	sd.Commit(mem, 0)
	if sd.Overflow {
		t.Error("Commit did not clear Overflow")
	}
}

func TestDirectMap(t *testing.T) {
	const size = 6<<20 + 4096 // not a multiple of 2 MiB
	mem := make([]byte, size)
	SetupKernelArea(mem)
	le := binary.LittleEndian
	if idx := DirectMap >> 39 & 511; idx != directMapSlot {
		t.Errorf("DirectMap %#x is in PML4 slot %d, want %d", uint64(DirectMap), idx, directMapSlot)
	}
	if DirectMapPML4E&PTEUser != 0 {
		t.Error("direct map PML4 entry is user-accessible")
	}
	pdpte := le.Uint64(mem[PhysDMPDPT:])
	if pdpte&PTEPresent == 0 || pdpte&PTEAddr != PhysDMPD || pdpte&PTEUser != 0 {
		t.Fatalf("direct map PDPT[0] = %#x", pdpte)
	}
	if e := le.Uint64(mem[PhysDMPDPT+8:]); e != 0 {
		t.Errorf("PDPT[1] = %#x for 6 MiB of memory, want empty", e)
	}
	for i := uint64(0); i < 512; i++ {
		e := le.Uint64(mem[PhysDMPD+i*8:])
		covered := i<<21 < size
		if !covered {
			if e != 0 {
				t.Errorf("PD[%d] = %#x beyond guest memory", i, e)
			}
			continue
		}
		want := i<<21 | PTEPresent | PTEWrite | PTEHuge | PTEAccessed | PTEDirty | PTENX
		if e != want {
			t.Errorf("PD[%d] = %#x, want %#x", i, e, want)
		}
	}
	// The page tables the direct map needs for MaxGuestMem stay inside
	// the kernel area and clear of the other kernel pages.
	if PhysDMPD+MaxGuestMem>>30*PageSize > KernelAreaSize {
		t.Error("direct map PDs for MaxGuestMem overflow the kernel area")
	}
	if PhysShootdown+shootdownPages*PageSize > PhysDMPD || PhysDMPDPT >= PhysShootdown {
		t.Error("shootdown list overlaps the direct map tables")
	}
}

// The kernel half's page tables, walked from a real PML4, give the entry
// page user read+exec, the stubs supervisor-only, the stack and tables NX.
func TestKernelMappings(t *testing.T) {
	a := newTestAlloc(t, 4<<20)
	SetupKernelArea(a.mem)
	p, err := NewPageTables(a.mem, a.alloc, a.free, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name              string
		va                uint64
		user, write, exec bool
	}{
		{"GDT", KernelBase + PhysGDT, false, true, false},
		{"IDT", KernelBase + PhysIDT, false, true, false},
		{"TSS", KernelBase + PhysTSS, false, true, false},
		{"entry", SyscallEntry, true, false, true},
		{"stubs", StubBase, false, false, true},
		{"stack bottom", KernelBase + PhysKStack, false, true, false},
		{"stack top page", KStackTop - PageSize, false, true, false},
		{"shootdown list", KernelBase + PhysShootdown, false, true, false},
		{"shootdown list end", KernelBase + PhysShootdown + (shootdownPages-1)*PageSize, false, true, false},
	}
	for _, tc := range tests {
		pte := p.Lookup(tc.va)
		if pte&PTEPresent == 0 {
			t.Errorf("%s (%#x) not mapped", tc.name, tc.va)
			continue
		}
		if pte&PTEAddr != tc.va-KernelBase {
			t.Errorf("%s maps to %#x, want %#x", tc.name, pte&PTEAddr, tc.va-KernelBase)
		}
		got := [3]bool{pte&PTEUser != 0, pte&PTEWrite != 0, pte&PTENX == 0}
		if want := [3]bool{tc.user, tc.write, tc.exec}; got != want {
			t.Errorf("%s PTE %#x: user/write/exec %v, want %v", tc.name, pte, got, want)
		}
	}
	for _, va := range []uint64{KernelBase, KStackTop, KernelBase + PhysKPDPT, KernelBase + KernelAreaSize} {
		if pte := p.Lookup(va); pte != 0 {
			t.Errorf("kernel address %#x unexpectedly mapped: %#x", va, pte)
		}
	}
}

func TestVectorName(t *testing.T) {
	tests := []struct {
		v    int
		want string
	}{
		{VecPF, "#PF page fault"},
		{VecUD, "#UD invalid opcode"},
		{VecGP, "#GP general protection"},
		{15, "reserved 15"},
		{28, "vector 28"},
		{-1, "vector -1"},
		{NumVectors, "vector 32"},
		{255, "vector 255"},
	}
	for _, tc := range tests {
		if got := VectorName(tc.v); got != tc.want {
			t.Errorf("VectorName(%d) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestHasErrorCode(t *testing.T) {
	want := map[int]bool{8: true, 10: true, 11: true, 12: true, 13: true, 14: true, 17: true, 21: true, 29: true, 30: true}
	for v := 0; v < NumVectors; v++ {
		if got := HasErrorCode(v); got != want[v] {
			t.Errorf("HasErrorCode(%d) = %v, want %v", v, got, want[v])
		}
	}
}

func TestIsSyscallExit(t *testing.T) {
	tests := []struct {
		rip  uint64
		cpl  uint8
		want bool
	}{
		{SyscallStub, 0, true},     // VMX: at the out
		{SyscallStub + 2, 0, true}, // PVM: after it
		{SyscallStub, 3, false},    // a ring-3 exit is never the stub
		{SyscallStub + 1, 0, false},
		{SyscallEntry, 0, false},
		{BenchOutAddr, 3, false},
		{StubBase, 0, false},
		{0x401000, 3, false},
	}
	for _, tc := range tests {
		r := kvm.Regs{RIP: tc.rip}
		s := kvm.Sregs{CS: kvm.Segment{DPL: tc.cpl}}
		if got := IsSyscallExit(&r, &s); got != tc.want {
			t.Errorf("IsSyscallExit(RIP %#x, CPL %d) = %v, want %v", tc.rip, tc.cpl, got, tc.want)
		}
	}
}

func TestSyscallFrame(t *testing.T) {
	mem := kernelArea(t)
	rsp := uint64(KStackTop - 5*8)
	for _, bad := range []uint64{0, KStackTop, KStackTop - 7*8, rsp + 8, rsp - 8} {
		if _, ok := Frame(mem, bad); ok {
			t.Errorf("Frame accepted RSP %#x", bad)
		}
	}
	f, ok := Frame(mem, rsp)
	if !ok {
		t.Fatalf("Frame rejected the IST1 frame at %#x", rsp)
	}
	le := binary.LittleEndian
	fr := mem[rsp-KernelBase:]
	// What the int3 at LSTAR pushed (on VMX, from ring 0).
	for i, v := range []uint64{SyscallEntryNext, SelKernelCS, FlagReserved, 0x7ffffffde000, SelKernelDS} {
		le.PutUint64(fr[i*8:], v)
	}
	if !f.FromEntry() || f.UserRIP() != SyscallEntryNext || f.UserRFLAGS() != FlagReserved || f.UserRSP() != 0x7ffffffde000 {
		t.Errorf("frame accessors: FromEntry %v RIP %#x RFLAGS %#x RSP %#x", f.FromEntry(), f.UserRIP(), f.UserRFLAGS(), f.UserRSP())
	}
	r := kvm.Regs{RCX: 0x401234, R11: FlagIF | FlagCF | FlagIOPL | FlagRF | FlagNT | FlagTF}
	f.SyscallReturn(&r)
	want := []uint64{0x401234, SelUserCS, FlagIF | FlagCF | FlagTF | FlagReserved, 0x7ffffffde000, SelUserDS}
	for i, w := range want {
		if got := le.Uint64(fr[i*8:]); got != w {
			t.Errorf("frame word %d after SyscallReturn = %#x, want %#x", i, got, w)
		}
	}
	f.SetUserRSP(0x7ffffffdd000)
	if f.UserRSP() != 0x7ffffffdd000 {
		t.Errorf("SetUserRSP: %#x", f.UserRSP())
	}
	// A program's own int3 pushes its own address.
	le.PutUint64(fr, 0x401001)
	if f.FromEntry() {
		t.Error("FromEntry true for a user int3")
	}
}

func TestEnterUser(t *testing.T) {
	var r kvm.Regs
	s := BaseSregs()
	s.CS = kvm.Segment{Selector: SelKernelCS, DPL: 0, L: 1}
	regs := kvm.Regs{RIP: 0x401000, RSP: 0x7ffffffde000, RAX: 7, RFLAGS: FlagIF | FlagIOPL | FlagNT}
	mask := EnterUser(&r, &s, &regs, 0x1000, 0x2000, 0x345000)
	if mask != vm.SyncRegs|vm.SyncSregs {
		t.Errorf("mask %#x", mask)
	}
	if r.RIP != regs.RIP || r.RSP != regs.RSP || r.RAX != 7 {
		t.Errorf("regs not loaded: %+v", r)
	}
	if r.RFLAGS != FlagIF|FlagReserved {
		t.Errorf("RFLAGS %#x, want IF|reserved (IOPL/NT stripped)", r.RFLAGS)
	}
	if s.CS != UserCS() || s.SS != UserDS() || CPL(&s) != 3 {
		t.Errorf("CS/SS not user: %+v %+v", s.CS, s.SS)
	}
	if s.FS.Base != 0x1000 || s.GS.Base != 0x2000 || s.CR3 != 0x345000 {
		t.Errorf("FS %#x GS %#x CR3 %#x", s.FS.Base, s.GS.Base, s.CR3)
	}
}
