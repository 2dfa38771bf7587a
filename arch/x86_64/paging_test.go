package x86

import (
	"errors"
	"sort"
	"testing"
)

// testAlloc is a bump allocator over a test memory that records every page
// it hands out and every page given back, so that leaks and double frees
// show up.
type testAlloc struct {
	t      *testing.T
	mem    []byte
	next   uint64
	live   map[uint64]bool
	allocs int
	frees  int
}

func newTestAlloc(t *testing.T, size int) *testAlloc {
	return &testAlloc{t: t, mem: make([]byte, size), next: KernelAreaSize, live: map[uint64]bool{}}
}

func (a *testAlloc) alloc() (uint64, error) {
	if a.next+PageSize > uint64(len(a.mem)) {
		return 0, errors.New("test memory exhausted")
	}
	pa := a.next
	a.next += PageSize
	// Dirty the page: NewPageTables and walk must zero what they get.
	fill(a.mem[pa:pa+PageSize], 0xa5)
	a.live[pa] = true
	a.allocs++
	return pa, nil
}

func (a *testAlloc) free(pa uint64) {
	if !a.live[pa] {
		a.t.Errorf("free of page %#x that is not live (double free or foreign page)", pa)
	}
	delete(a.live, pa)
	a.frees++
}

func newTestTables(t *testing.T) (*PageTables, *testAlloc) {
	t.Helper()
	a := newTestAlloc(t, 16<<20)
	p, err := NewPageTables(a.mem, a.alloc, a.free, nil)
	if err != nil {
		t.Fatalf("NewPageTables: %v", err)
	}
	return p, a
}

func TestNewPageTablesInstallsKernelSlots(t *testing.T) {
	p, a := newTestTables(t)
	if a.allocs != 1 {
		t.Fatalf("NewPageTables allocated %d pages, want 1 (the PML4)", a.allocs)
	}
	for i := uint64(0); i < 512; i++ {
		e := p.get(p.Root + i*8)
		want := uint64(0)
		switch i {
		case 511:
			want = KernelPML4E
		case directMapSlot:
			want = DirectMapPML4E
		}
		if e != want {
			t.Errorf("PML4[%d] = %#x, want %#x", i, e, want)
		}
	}
}

func TestMapLookupUnmap(t *testing.T) {
	p, _ := newTestTables(t)
	rw := PTEFlags(true, true, false)
	rx := PTEFlags(true, false, true)
	maps := []struct {
		va, pa, flags uint64
	}{
		{0x400000, 0x300000, rx},
		{0x401000, 0x301000, rw},
		{0x7ffffffff000, 0x302000, rw},     // last user page
		{0x40000000, 0x303000, rx},         // another PDPT slot
		{0x8000000000, 0x304000, rw},       // another PML4 slot
		{0x555555554000, 0x305000, rx},     // a static-pie base
		{0x400000 + 511<<12, 0x306000, rw}, // last PTE of a table
	}
	for _, m := range maps {
		if err := p.Map(m.va, m.pa, m.flags); err != nil {
			t.Fatalf("Map(%#x): %v", m.va, err)
		}
	}
	for _, m := range maps {
		want := m.pa | m.flags | PTEPresent
		if got := p.Lookup(m.va); got != want {
			t.Errorf("Lookup(%#x) = %#x, want %#x", m.va, got, want)
		}
		// Any address inside the page resolves to the same leaf.
		if got := p.Lookup(m.va + 0xfff); got != want {
			t.Errorf("Lookup(%#x) = %#x, want %#x", m.va+0xfff, got, want)
		}
	}
	for _, va := range []uint64{
		0,                 // no tables at all
		0x402000,          // table exists, leaf empty
		0x7fffffffe000,    // neighbour of a mapped page
		0x10000000000,     // untouched PML4 slot
		0x400000 - 0x1000, // previous table
	} {
		if got := p.Lookup(va); got != 0 {
			t.Errorf("Lookup(%#x) of an unmapped page = %#x, want 0", va, got)
		}
	}

	// Map replaces an existing leaf.
	if err := p.Map(0x401000, 0x3ff000, rx); err != nil {
		t.Fatal(err)
	}
	if got, want := p.Lookup(0x401000), uint64(0x3ff000|rx|PTEPresent); got != want {
		t.Errorf("after remap Lookup = %#x, want %#x", got, want)
	}
	// Map masks flag bits out of pa.
	if err := p.Map(0x403000, 0x310000|0xfff, rw); err != nil {
		t.Fatal(err)
	}
	if got, want := p.Lookup(0x403000)&PTEAddr, uint64(0x310000); got != want {
		t.Errorf("Map with an unaligned pa: leaf address %#x, want %#x", got, want)
	}

	// Unmap returns the old leaf and clears it, once.
	old := p.Unmap(0x400000)
	if want := uint64(0x300000 | rx | PTEPresent); old != want {
		t.Errorf("Unmap = %#x, want %#x", old, want)
	}
	if got := p.Lookup(0x400000); got != 0 {
		t.Errorf("Lookup after Unmap = %#x, want 0", got)
	}
	if got := p.Unmap(0x400000); got != 0 {
		t.Errorf("second Unmap = %#x, want 0", got)
	}
	if got := p.Unmap(0x20000000000); got != 0 {
		t.Errorf("Unmap without tables = %#x, want 0", got)
	}
}

func TestSetPTE(t *testing.T) {
	p, a := newTestTables(t)
	if p.SetPTE(0x400000, 0x300000|PTEPresent) {
		t.Fatal("SetPTE without a covering table reported success")
	}
	if a.allocs != 1 {
		t.Errorf("SetPTE allocated tables (%d pages)", a.allocs)
	}
	if err := p.Map(0x400000, 0x300000, PTEFlags(true, true, false)); err != nil {
		t.Fatal(err)
	}
	// A neighbour in the same table can be set without Map.
	pte := uint64(0x301000 | PTEPresent | PTEUser | PTENX)
	if !p.SetPTE(0x401000, pte) {
		t.Fatal("SetPTE in an existing table failed")
	}
	if got := p.Lookup(0x401000); got != pte {
		t.Errorf("Lookup after SetPTE = %#x, want %#x", got, pte)
	}
	// SetPTE stores the value verbatim (a non-present PTE too).
	if !p.SetPTE(0x400000, 0) || p.Lookup(0x400000) != 0 {
		t.Errorf("SetPTE(0) did not clear the leaf: %#x", p.Lookup(0x400000))
	}
}

func TestMapHugeEntryFails(t *testing.T) {
	p, _ := newTestTables(t)
	if err := p.Map(0x400000, 0x300000, PTEUser); err != nil {
		t.Fatal(err)
	}
	// Turn the PD entry covering 0x600000 into a 2 MiB page.
	pdpt := p.get(p.Root) & PTEAddr
	pd := p.get(pdpt) & PTEAddr
	p.put(pd+index(0x600000, 1)*8, 0x200000|PTEPresent|PTEHuge)
	if err := p.Map(0x600000, 0x300000, PTEUser); err == nil {
		t.Error("Map through a huge-page entry succeeded")
	}
	if got := p.Lookup(0x600000); got != 0 {
		t.Errorf("Lookup through a huge-page entry = %#x, want 0", got)
	}
}

func TestRange(t *testing.T) {
	p, _ := newTestTables(t)
	// The kernel half must not be visited even though it has present
	// leaves.
	SetupKernelArea(p.Mem)
	vas := []uint64{
		0x10000, 0x11000, 0x400000, 0x401000, 0x5ff000, 0x600000,
		0x40000000, 0x8000000000, 0x7ffffffff000,
	}
	for i, va := range vas {
		if err := p.Map(va, 0xf00000+uint64(i)*PageSize, PTEFlags(true, true, false)); err != nil {
			t.Fatal(err)
		}
	}
	// A leaf in the upper canonical half (PML4 slot 256) is not user
	// memory either.
	if err := p.Map(0xffff800000000000, 0x3f0000, PTEFlags(true, true, false)); err != nil {
		t.Fatal(err)
	}
	// A non-present leaf in a present table is skipped.
	p.SetPTE(0x402000, 0x3f1000)

	tests := []struct {
		name       string
		start, end uint64
		want       []uint64
	}{
		{"everything", 0, ^uint64(0), vas},
		{"empty", 0x400000, 0x400000, nil},
		{"one page", 0x400000, 0x401000, []uint64{0x400000}},
		{"end excluded", 0x401000, 0x5ff000, []uint64{0x401000}},
		{"across a table boundary", 0x5ff000, 0x601000, []uint64{0x5ff000, 0x600000}},
		{"hole", 0x602000, 0x40000000, nil},
		{"high PML4 slot", 0x100000000, 0x8000001000, []uint64{0x8000000000}},
		{"top of user space", 0x7ffffff00000, 0x800000000000, []uint64{0x7ffffffff000}},
		{"kernel half only", 0x800000000000, ^uint64(0), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []uint64
			p.Range(tc.start, tc.end, func(va, pte uint64) {
				if pte&PTEPresent == 0 {
					t.Errorf("Range passed a non-present PTE %#x at %#x", pte, va)
				}
				if want := p.Lookup(va); pte != want {
					t.Errorf("Range PTE at %#x = %#x, Lookup says %#x", va, pte, want)
				}
				got = append(got, va)
			})
			if !sort.SliceIsSorted(got, func(i, j int) bool { return got[i] < got[j] }) {
				t.Errorf("Range visited out of order: %#x", got)
			}
			if !equalU64(got, tc.want) {
				t.Errorf("Range(%#x, %#x) visited %#x, want %#x", tc.start, tc.end, got, tc.want)
			}
		})
	}
}

func equalU64(a, b []uint64) bool {
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

func TestFreeTablesReturnsEveryTable(t *testing.T) {
	p, a := newTestTables(t)
	SetupKernelArea(p.Mem) // the kernel half's tables are not ours to free
	for _, va := range []uint64{
		0x10000, 0x400000, 0x401000, 0x600000, 0x40000000, 0x8000000000,
		0x7ffffffff000, 0x555555554000,
	} {
		if err := p.Map(va, 0x300000, PTEFlags(true, false, false)); err != nil {
			t.Fatal(err)
		}
	}
	// Unmapping leaves does not free tables; FreeTables must still find
	// the emptied ones.
	p.Unmap(0x600000)
	if a.allocs < 2 {
		t.Fatalf("only %d pages allocated", a.allocs)
	}
	p.FreeTables()
	if a.frees != a.allocs || len(a.live) != 0 {
		t.Errorf("FreeTables freed %d of %d pages; still live: %v", a.frees, a.allocs, a.live)
	}
}

func TestPTEFlags(t *testing.T) {
	tests := []struct {
		read, write, exec bool
		want              uint64
	}{
		{true, false, false, PTEUser | PTEAccessed | PTENX},
		{true, true, false, PTEUser | PTEAccessed | PTEWrite | PTEDirty | PTENX},
		{true, false, true, PTEUser | PTEAccessed},
		{true, true, true, PTEUser | PTEAccessed | PTEWrite | PTEDirty},
		{false, true, false, PTEUser | PTEAccessed | PTEWrite | PTEDirty | PTENX},
		{false, false, true, PTEUser | PTEAccessed},
	}
	for _, tc := range tests {
		got := PTEFlags(tc.read, tc.write, tc.exec)
		if got != tc.want {
			t.Errorf("PTEFlags(r=%v, w=%v, x=%v) = %#x, want %#x", tc.read, tc.write, tc.exec, got, tc.want)
		}
		if got&(PTEPresent|PTEAddr|PTEHuge|PTEGlobal|PTECOW) != 0 {
			t.Errorf("PTEFlags(%v, %v, %v) = %#x sets non-permission bits", tc.read, tc.write, tc.exec, got)
		}
	}
}

// Shootdown recording: a page-table page is recorded when one of its
// present entries changes or when it is freed, never for adding an entry
// where none was present.
func TestPageTablesRecordShootdown(t *testing.T) {
	a := newTestAlloc(t, 16<<20)
	var sd Shootdown
	p, err := NewPageTables(a.mem, a.alloc, a.free, &sd)
	if err != nil {
		t.Fatal(err)
	}
	rw := PTEFlags(true, true, false)
	if err := p.Map(0x400000, 0xf00000, rw); err != nil {
		t.Fatal(err)
	}
	if err := p.Map(0x401000, 0xf01000, rw); err != nil {
		t.Fatal(err)
	}
	if sd.Pending() {
		t.Fatalf("adding entries recorded %d pages", sd.Len())
	}
	ptPage := func(va uint64) uint64 {
		ea, ok, _ := p.walk(va, false)
		if !ok {
			t.Fatalf("no table for %#x", va)
		}
		return ea &^ (PageSize - 1)
	}
	pt := ptPage(0x400000)

	steps := []struct {
		name string
		op   func()
		want []uint64
	}{
		{"unmap an absent page", func() { p.Unmap(0x402000) }, nil},
		{"SetPTE on an absent entry", func() { p.SetPTE(0x403000, 0xf03000|PTEPresent) }, nil},
		{"remap a present page", func() { p.Map(0x400000, 0xf05000, rw) }, []uint64{pt}},
		{"downgrade with SetPTE", func() { p.SetPTE(0x401000, 0xf01000|PTEPresent|PTEUser) }, []uint64{pt}},
		{"unmap a present page", func() { p.Unmap(0x401000) }, []uint64{pt}},
		{"lookups and ranges", func() { p.Lookup(0x400000); p.Range(0, 1<<47, func(uint64, uint64) {}) }, nil},
	}
	for _, st := range steps {
		st.op()
		if got := sd.pages; !equalU64(got, st.want) {
			t.Errorf("%s: recorded %#x, want %#x", st.name, got, st.want)
		}
		sd.Commit(a.mem, p.Root)
	}
	// FreeTables records every table it frees.
	p.FreeTables()
	if sd.Len() != a.frees {
		t.Errorf("FreeTables freed %d tables but recorded %d", a.frees, sd.Len())
	}
	for _, pa := range sd.pages {
		if a.live[pa] {
			t.Errorf("recorded page %#x was not freed", pa)
		}
	}
}
