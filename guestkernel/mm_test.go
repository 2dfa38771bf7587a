package guestkernel

import (
	"bytes"
	"fmt"
	"github.com/bobuhiro11/gokvm/kvm"
	"github.com/nsvm/nsvm/ns"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
	"github.com/nsvm/nsvm/guestkernel/loader"
)

// testEnv is a Kernel built by hand, without a vCPU: guest memory, the
// kernel area, one task with an empty address space, and its stdio bridged
// to pipes the test can feed and drain.
type testEnv struct {
	k      *Kernel
	t      *Task
	mm     *MM
	stdin  *os.File // write end: what the guest reads on fd 0
	stdout *os.File // read end: what the guest writes on fd 1 and 2
	log    *bytes.Buffer
}

const testMem = 64 << 20

func newTestEnv(tb testing.TB) *testEnv {
	tb.Helper()
	log := &bytes.Buffer{}
	k := &Kernel{
		mem:     make([]byte, testMem),
		tasks:   map[int]*Task{},
		pids:    map[int]bool{},
		scratch: make([]byte, 4096),
		sregs:   &kvm.Sregs{},
		nsw:     ns.NewWorld(hostNames(), 1000),
	}
	k.cfg.Log = log
	k.cfg.Path, k.cfg.ExePath = "test", "/test"
	k.pages = newPageAllocator(k.mem, x86.KernelAreaSize)
	x86.SetupKernelArea(k.mem)
	mm, err := k.newMM()
	if err != nil {
		tb.Fatalf("newMM: %v", err)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		for _, f := range []*os.File{inR, inW, outR, outW} {
			f.Close()
		}
	})
	k.cfg.Stdin, k.cfg.Stdout, k.cfg.Stderr = int(inR.Fd()), int(outW.Fd()), int(outW.Fd())
	t := k.newFirstTask()
	t.mm = mm
	k.current = t
	t.onCPU = true
	return &testEnv{k: k, t: t, mm: mm, stdin: inW, stdout: outR, log: log}
}

const (
	protRW   = unix.PROT_READ | unix.PROT_WRITE
	mapAnon  = unix.MAP_PRIVATE | unix.MAP_ANONYMOUS
	rw       = loader.ProtRead | loader.ProtWrite
	ro       = loader.ProtRead
	rx       = loader.ProtRead | loader.ProtExec
	noFD     = ^uint64(0) // fd -1
	pg       = uint64(pageSize)
	testBase = 0x10000000 // a free, low-ish address for fixed mappings
)

// mmap calls sysMmap.
func (e *testEnv) mmap(addr, length, prot, flags uint64) int64 {
	return sysMmap(e.t, &args{addr, length, prot, flags, noFD, 0})
}

// mustMmap maps anonymous private memory and fails the test on error.
func (e *testEnv) mustMmap(tb testing.TB, addr, length, prot, flags uint64) uint64 {
	tb.Helper()
	r := e.mmap(addr, length, prot, flags)
	if r < 0 {
		tb.Fatalf("mmap(%#x, %#x, %d, %#x) = %s", addr, length, prot, flags, unix.Errno(-r))
	}
	return uint64(r)
}

func (e *testEnv) mustCopyOut(tb testing.TB, va uint64, b []byte) {
	tb.Helper()
	if en := e.mm.copyOut(va, b); en != 0 {
		tb.Fatalf("copyOut(%#x, %d bytes): %v", va, len(b), en)
	}
}

func (e *testEnv) mustCopyIn(tb testing.TB, va uint64, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	if en := e.mm.copyIn(b, va); en != 0 {
		tb.Fatalf("copyIn(%#x, %d bytes): %v", va, n, en)
	}
	return b
}

// span is a VMA's range and rights, for comparisons.
type span struct {
	start, end uint64
	prot       loader.Prot
}

func (s span) String() string { return fmt.Sprintf("%x-%x %s", s.start, s.end, s.prot) }

func spans(mm *MM) []span {
	var out []span
	for _, v := range mm.vmas {
		out = append(out, span{v.start, v.end, v.prot})
	}
	return out
}

func checkSpans(tb testing.TB, mm *MM, want []span) {
	tb.Helper()
	got := spans(mm)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		tb.Errorf("VMAs = %v, want %v", got, want)
	}
	for i := 1; i < len(mm.vmas); i++ {
		if mm.vmas[i-1].end > mm.vmas[i].start {
			tb.Errorf("VMAs overlap or are unsorted: %v", got)
		}
	}
}

func errnoOf(r int64) string {
	if r >= 0 {
		return fmt.Sprintf("%#x", r)
	}
	return unix.ErrnoName(unix.Errno(-r))
}

func TestVMAInsertMerge(t *testing.T) {
	a := func(s, e uint64, p loader.Prot) vma { return vma{start: s, end: e, prot: p, kind: vmaAnon} }
	tests := []struct {
		name   string
		insert []vma
		want   []span
	}{
		{"single", []vma{a(0x10000, 0x20000, rw)}, []span{{0x10000, 0x20000, rw}}},
		{"merge after", []vma{a(0x10000, 0x20000, rw), a(0x20000, 0x30000, rw)},
			[]span{{0x10000, 0x30000, rw}}},
		{"merge before", []vma{a(0x20000, 0x30000, rw), a(0x10000, 0x20000, rw)},
			[]span{{0x10000, 0x30000, rw}}},
		{"fill a hole merges three", []vma{a(0x10000, 0x20000, rw), a(0x30000, 0x40000, rw), a(0x20000, 0x30000, rw)},
			[]span{{0x10000, 0x40000, rw}}},
		{"different rights stay apart", []vma{a(0x10000, 0x20000, rw), a(0x20000, 0x30000, ro)},
			[]span{{0x10000, 0x20000, rw}, {0x20000, 0x30000, ro}}},
		{"gap stays apart", []vma{a(0x10000, 0x20000, rw), a(0x21000, 0x30000, rw)},
			[]span{{0x10000, 0x20000, rw}, {0x21000, 0x30000, rw}}},
		{"kind differs", []vma{a(0x10000, 0x20000, rw), {start: 0x20000, end: 0x30000, prot: rw, kind: vmaBrk}},
			[]span{{0x10000, 0x20000, rw}, {0x20000, 0x30000, rw}}},
		{"shared differs", []vma{a(0x10000, 0x20000, rw), {start: 0x20000, end: 0x30000, prot: rw, shared: true}},
			[]span{{0x10000, 0x20000, rw}, {0x20000, 0x30000, rw}}},
		{"sorted insert", []vma{a(0x50000, 0x60000, rx), a(0x10000, 0x20000, ro), a(0x30000, 0x40000, rw)},
			[]span{{0x10000, 0x20000, ro}, {0x30000, 0x40000, rw}, {0x50000, 0x60000, rx}}},
		{"hole with mismatched neighbours", []vma{a(0x10000, 0x20000, ro), a(0x30000, 0x40000, rx), a(0x20000, 0x30000, rw)},
			[]span{{0x10000, 0x20000, ro}, {0x20000, 0x30000, rw}, {0x30000, 0x40000, rx}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mm := &MM{}
			for _, v := range tc.insert {
				if !mm.free(v.start, v.end) {
					t.Fatalf("test inserts over a used range %x-%x", v.start, v.end)
				}
				mm.insert(v)
			}
			checkSpans(t, mm, tc.want)
		})
	}
}

func TestVMASplitFindFree(t *testing.T) {
	mm := &MM{}
	mm.insert(vma{start: 0x10000, end: 0x20000, prot: rw})
	mm.insert(vma{start: 0x30000, end: 0x40000, prot: ro})

	for _, va := range []uint64{0x10000, 0x20000, 0x25000, 0x5000, 0x50000} {
		mm.split(va) // boundaries and holes: no-ops
	}
	checkSpans(t, mm, []span{{0x10000, 0x20000, rw}, {0x30000, 0x40000, ro}})

	mm.split(0x18000)
	mm.split(0x3f000)
	checkSpans(t, mm, []span{{0x10000, 0x18000, rw}, {0x18000, 0x20000, rw}, {0x30000, 0x3f000, ro}, {0x3f000, 0x40000, ro}})

	findTests := []struct {
		va   uint64
		want int
	}{
		{0xffff, -1}, {0x10000, 0}, {0x17fff, 0}, {0x18000, 1}, {0x1ffff, 1},
		{0x20000, -1}, {0x2ffff, -1}, {0x30000, 2}, {0x3f000, 3}, {0x3ffff, 3}, {0x40000, -1},
	}
	for _, tc := range findTests {
		if got := mm.find(tc.va); got != tc.want {
			t.Errorf("find(%#x) = %d, want %d", tc.va, got, tc.want)
		}
	}
	freeTests := []struct {
		start, end uint64
		free, mapd bool
	}{
		{0x0, 0x10000, true, false},
		{0x0, 0x10001, false, false},
		{0x20000, 0x30000, true, false},
		{0x1f000, 0x21000, false, false},
		{0x10000, 0x20000, false, true},
		{0x12000, 0x1a000, false, true},
		{0x10000, 0x30000, false, false},
		{0x40000, 0x50000, true, false},
	}
	for _, tc := range freeTests {
		if got := mm.free(tc.start, tc.end); got != tc.free {
			t.Errorf("free(%#x, %#x) = %v, want %v", tc.start, tc.end, got, tc.free)
		}
		if got := mm.mapped(tc.start, tc.end); got != tc.mapd {
			t.Errorf("mapped(%#x, %#x) = %v, want %v", tc.start, tc.end, got, tc.mapd)
		}
	}
}

func TestMmapAnonymous(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, 0, 3*pg, protRW, mapAnon)
	if a%pg != 0 || a+3*pg > mmapTop || a < 1<<32 {
		t.Errorf("first mmap at %#x: want a page-aligned address just below mmapTop %#x", a, uint64(mmapTop))
	}
	if a != mmapTop-3*pg {
		t.Errorf("first mmap at %#x, want top-down placement at %#x", a, uint64(mmapTop-3*pg))
	}
	// Unaligned length rounds up; the next mapping goes right below.
	b := e.mustMmap(t, 0, pg+1, unix.PROT_READ, mapAnon)
	if b != a-2*pg {
		t.Errorf("second mmap at %#x, want %#x", b, a-2*pg)
	}
	checkSpans(t, e.mm, []span{{b, a, ro}, {a, a + 3*pg, rw}})

	// A free hint is honoured (rounded down to a page).
	h := e.mustMmap(t, testBase+0x123, pg, protRW, mapAnon)
	if h != testBase {
		t.Errorf("mmap with a free hint %#x returned %#x", testBase+0x123, h)
	}
	// A used hint is not: the result must not overlap anything.
	h2 := e.mustMmap(t, testBase, 2*pg, protRW, mapAnon)
	if h2 == testBase || h2 < testBase+pg && h2+2*pg > testBase {
		t.Errorf("mmap with a used hint returned %#x, overlapping %#x", h2, uint64(testBase))
	}
	// A hint too high for the length falls back too.
	h3 := e.mustMmap(t, taskSize-pg, 2*pg, protRW, mapAnon)
	if h3+2*pg > taskSize || h3 == taskSize-pg {
		t.Errorf("mmap with a hint past TASK_SIZE returned %#x", h3)
	}
	// The contents are zero and writable.
	if got := e.mustCopyIn(t, a, 16); !bytes.Equal(got, make([]byte, 16)) {
		t.Errorf("fresh anonymous memory is not zero: % x", got)
	}
	e.mustCopyOut(t, a+3*pg-4, []byte{1, 2, 3, 4})
}

func TestMmapErrors(t *testing.T) {
	e := newTestEnv(t)
	used := e.mustMmap(t, testBase, 2*pg, protRW, mapAnon|unix.MAP_FIXED)
	tests := []struct {
		name                      string
		addr, length, prot, flags uint64
		fd, off                   uint64
		want                      unix.Errno
	}{
		{"length 0", 0, 0, protRW, mapAnon, noFD, 0, unix.EINVAL},
		{"misaligned offset", 0, pg, protRW, mapAnon, noFD, 0x800, unix.EINVAL},
		{"no map type", 0, pg, protRW, unix.MAP_ANONYMOUS, noFD, 0, unix.EINVAL},
		{"bad map type", 0, pg, protRW, unix.MAP_ANONYMOUS | 0xf, noFD, 0, unix.EINVAL},
		{"file mapping of stdout", 0, pg, protRW, unix.MAP_PRIVATE, 1, 0, unix.ENODEV},
		{"file mapping of a bad fd", 0, pg, protRW, unix.MAP_PRIVATE, 99, 0, unix.EBADF},
		{"file mapping of fd -1", 0, pg, protRW, unix.MAP_SHARED, noFD, 0, unix.EBADF},
		{"length beyond TASK_SIZE", 0, taskSize + pg, protRW, mapAnon, noFD, 0, unix.ENOMEM},
		{"length wraps when rounded", 0, ^uint64(0) - 10, protRW, mapAnon, noFD, 0, unix.ENOMEM},
		{"fixed misaligned", testBase + 0x10, pg, protRW, mapAnon | unix.MAP_FIXED, noFD, 0, unix.EINVAL},
		{"fixed past TASK_SIZE", taskSize - pg, 2 * pg, protRW, mapAnon | unix.MAP_FIXED, noFD, 0, unix.ENOMEM},
		{"fixed in the kernel half", x86.KernelBase, pg, protRW, mapAnon | unix.MAP_FIXED, noFD, 0, unix.ENOMEM},
		{"fixed_noreplace over a mapping", used + pg, pg, protRW, mapAnon | mapFixedNoRepl, noFD, 0, unix.EEXIST},
		{"fixed_noreplace overlapping the start", used - pg, 2 * pg, protRW, mapAnon | mapFixedNoRepl, noFD, 0, unix.EEXIST},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := spans(e.mm)
			live := e.k.pages.Live()
			r := sysMmap(e.t, &args{tc.addr, tc.length, tc.prot, tc.flags, tc.fd, tc.off})
			if r != errno(tc.want) {
				t.Errorf("mmap = %s, want %s", errnoOf(r), unix.ErrnoName(tc.want))
			}
			if fmt.Sprint(spans(e.mm)) != fmt.Sprint(before) || e.k.pages.Live() != live {
				t.Errorf("failed mmap changed the address space: %v -> %v", before, spans(e.mm))
			}
		})
	}
	// MAP_FIXED_NOREPLACE over a free range maps exactly there.
	if r := e.mmap(testBase+4*pg, pg, protRW, mapAnon|mapFixedNoRepl); r != int64(testBase+4*pg) {
		t.Errorf("MAP_FIXED_NOREPLACE on a free range = %s, want %#x", errnoOf(r), testBase+4*pg)
	}
}

// Linux checks MAP_FIXED_NOREPLACE whether or not MAP_FIXED is also set
// (mm/mmap.c do_mmap: find_vma_intersection → -EEXIST).
func TestMmapFixedAndNoReplaceOverMapping(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, 2*pg, protRW, mapAnon|unix.MAP_FIXED)
	e.mustCopyOut(t, a, []byte("keep"))
	r := e.mmap(a, pg, protRW, mapAnon|unix.MAP_FIXED|mapFixedNoRepl)
	if r != errno(unix.EEXIST) {
		t.Errorf("mmap(MAP_FIXED|MAP_FIXED_NOREPLACE) over a mapping = %s, want EEXIST (Linux)", errnoOf(r))
	}
	if got := e.mustCopyIn(t, a, 4); string(got) != "keep" {
		t.Errorf("the existing mapping was replaced: %q", got)
	}
}

// Linux rounds a hint below mmap_min_addr up to it (round_hint_to_min);
// nsvm's unmappedArea uses 64 KiB as mmap_min_addr.
func TestMmapHintBelowMinAddr(t *testing.T) {
	e := newTestEnv(t)
	for _, hint := range []uint64{0x1000, 0xf000} {
		r := e.mmap(hint, pg, protRW, mapAnon)
		if r < 0 {
			t.Fatalf("mmap(hint %#x) = %s", hint, errnoOf(r))
		}
		if uint64(r) < 0x10000 {
			t.Errorf("mmap(hint %#x) = %#x, below mmap_min_addr 0x10000", hint, r)
		}
	}
}

func TestMmapFixedReplaces(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, 3*pg, protRW, mapAnon|unix.MAP_FIXED)
	if a != testBase {
		t.Fatalf("MAP_FIXED returned %#x, want %#x", a, uint64(testBase))
	}
	for i := uint64(0); i < 3; i++ {
		e.mustCopyOut(t, a+i*pg, bytes.Repeat([]byte{byte('A' + i)}, int(pg)))
	}
	live := e.k.pages.Live()
	r := e.mmap(a+pg, pg, protRW, mapAnon|unix.MAP_FIXED)
	if r != int64(a+pg) {
		t.Fatalf("MAP_FIXED over the middle page = %s, want %#x", errnoOf(r), a+pg)
	}
	if !e.k.shoot.Pending() {
		t.Error("replacing a present page did not record a shootdown")
	}
	// Same rights and kind: the pieces merge back into one VMA.
	checkSpans(t, e.mm, []span{{a, a + 3*pg, rw}})
	got := e.mustCopyIn(t, a, int(3*pg))
	for i, want := range []byte{'A', 0, 'C'} {
		if !bytes.Equal(got[uint64(i)*pg:uint64(i+1)*pg], bytes.Repeat([]byte{want}, int(pg))) {
			t.Errorf("page %d after MAP_FIXED: starts % x, want all %#x", i, got[uint64(i)*pg:uint64(i)*pg+8], want)
		}
	}
	// The old page was freed and one new page mapped: no leak.
	if l := e.k.pages.Live(); l != live {
		t.Errorf("live pages %d after replacing one page, want %d", l, live)
	}

	// MAP_FIXED with different rights over the middle splits the VMA.
	if r := e.mmap(a+pg, pg, unix.PROT_READ, mapAnon|unix.MAP_FIXED); r != int64(a+pg) {
		t.Fatalf("MAP_FIXED PROT_READ = %s", errnoOf(r))
	}
	checkSpans(t, e.mm, []span{{a, a + pg, rw}, {a + pg, a + 2*pg, ro}, {a + 2*pg, a + 3*pg, rw}})
}

func TestMunmapPartial(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, 6*pg, protRW, mapAnon|unix.MAP_FIXED)
	e.mustCopyOut(t, a, make([]byte, 6*pg)) // every page resident
	live, resident := e.k.pages.Live(), e.mm.pages

	tests := []struct {
		name       string
		addr, n    uint64
		wantSpans  []span
		wantFreed  int
		wantResult unix.Errno
	}{
		{"middle page", a + 2*pg, pg, []span{{a, a + 2*pg, rw}, {a + 3*pg, a + 6*pg, rw}}, 1, 0},
		{"head", a, pg, []span{{a + pg, a + 2*pg, rw}, {a + 3*pg, a + 6*pg, rw}}, 1, 0},
		{"across a hole, unaligned length", a + pg, 3*pg - 100, []span{{a + 4*pg, a + 6*pg, rw}}, 2, 0},
		{"nothing mapped there", a - 10*pg, 4 * pg, []span{{a + 4*pg, a + 6*pg, rw}}, 0, 0},
		{"misaligned", a + 4*pg + 1, pg, []span{{a + 4*pg, a + 6*pg, rw}}, 0, unix.EINVAL},
		{"length 0", a + 4*pg, 0, []span{{a + 4*pg, a + 6*pg, rw}}, 0, unix.EINVAL},
		{"past TASK_SIZE", taskSize - pg, 2 * pg, []span{{a + 4*pg, a + 6*pg, rw}}, 0, unix.EINVAL},
		{"tail", a + 5*pg, pg, []span{{a + 4*pg, a + 5*pg, rw}}, 1, 0},
		{"the rest", a, 6 * pg, nil, 1, 0},
	}
	freed := 0
	for _, tc := range tests {
		e.k.shoot = x86.Shootdown{}
		r := sysMunmap(e.t, &args{tc.addr, tc.n})
		if r != errno(tc.wantResult) {
			t.Errorf("%s: munmap = %s, want %s", tc.name, errnoOf(r), unix.ErrnoName(tc.wantResult))
		}
		checkSpans(t, e.mm, tc.wantSpans)
		freed += tc.wantFreed
		if got := e.k.pages.Live(); got != live-freed {
			t.Errorf("%s: live pages %d, want %d", tc.name, got, live-freed)
		}
		if got := e.mm.pages; got != resident-freed {
			t.Errorf("%s: resident pages %d, want %d", tc.name, got, resident-freed)
		}
		if e.k.shoot.Pending() != (tc.wantFreed > 0) {
			t.Errorf("%s: shootdown pending = %v, want %v", tc.name, e.k.shoot.Pending(), tc.wantFreed > 0)
		}
		if tc.wantFreed > 0 && e.mm.pt.Lookup(tc.addr) != 0 {
			t.Errorf("%s: PTE at %#x still present", tc.name, tc.addr)
		}
	}
	var b [1]byte
	if en := e.mm.copyIn(b[:], a); en != unix.EFAULT {
		t.Errorf("copyIn from unmapped memory: %v, want EFAULT", en)
	}
}

func TestMprotect(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, 3*pg, protRW, mapAnon|unix.MAP_FIXED)
	data := []byte("survives PROT_NONE")
	e.mustCopyOut(t, a+pg, data)

	errTests := []struct {
		name          string
		addr, n, prot uint64
		want          unix.Errno
	}{
		{"unmapped", testBase + 100*pg, pg, unix.PROT_READ, unix.ENOMEM},
		{"partly unmapped", a + 2*pg, 2 * pg, unix.PROT_READ, unix.ENOMEM},
		{"hole before", a - pg, 2 * pg, unix.PROT_READ, unix.ENOMEM},
		{"misaligned", a + 1, pg, unix.PROT_READ, unix.EINVAL},
		{"unknown prot", a, pg, 0x10, unix.EINVAL},
		{"wrapping", a, ^uint64(0) - pg, unix.PROT_READ, unix.ENOMEM},
		{"length 0 is a no-op", testBase + 100*pg, 0, unix.PROT_READ, 0},
	}
	for _, tc := range errTests {
		if r := sysMprotect(e.t, &args{tc.addr, tc.n, tc.prot}); r != errno(tc.want) {
			t.Errorf("%s: mprotect = %s, want %s", tc.name, errnoOf(r), unix.ErrnoName(tc.want))
		}
	}
	checkSpans(t, e.mm, []span{{a, a + 3*pg, rw}})

	// PROT_NONE on the middle page: split, page kept but inaccessible.
	e.k.shoot = x86.Shootdown{}
	if r := sysMprotect(e.t, &args{a + pg, pg, unix.PROT_NONE}); r != 0 {
		t.Fatalf("mprotect(PROT_NONE) = %s", errnoOf(r))
	}
	checkSpans(t, e.mm, []span{{a, a + pg, rw}, {a + pg, a + 2*pg, 0}, {a + 2*pg, a + 3*pg, rw}})
	if !e.k.shoot.Pending() {
		t.Error("downgrading rights did not record a shootdown")
	}
	pte := e.mm.pt.Lookup(a + pg)
	if pte&x86.PTEPresent == 0 || pte&x86.PTEUser != 0 {
		t.Errorf("PROT_NONE PTE %#x: want present (page kept) without U", pte)
	}
	b := make([]byte, len(data))
	if en := e.mm.copyIn(b, a+pg); en != unix.EFAULT {
		t.Errorf("copyIn from PROT_NONE: %v, want EFAULT", en)
	}
	if en := e.mm.copyOut(a+pg, []byte("x")); en != unix.EFAULT {
		t.Errorf("copyOut to PROT_NONE: %v, want EFAULT", en)
	}

	// Back to read-write: the contents are still there.
	if r := sysMprotect(e.t, &args{a + pg, pg, protRW}); r != 0 {
		t.Fatalf("mprotect(RW) = %s", errnoOf(r))
	}
	if got := e.mustCopyIn(t, a+pg, len(data)); !bytes.Equal(got, data) {
		t.Errorf("after PROT_NONE and back: %q, want %q", got, data)
	}
	if pte := e.mm.pt.Lookup(a + pg); pte&(x86.PTEUser|x86.PTEWrite) != x86.PTEUser|x86.PTEWrite || pte&x86.PTENX == 0 {
		t.Errorf("RW PTE %#x: want U|W|NX", pte)
	}

	// Read-only: copyIn works, copyOut faults.
	if r := sysMprotect(e.t, &args{a, 3 * pg, unix.PROT_READ}); r != 0 {
		t.Fatalf("mprotect(PROT_READ) = %s", errnoOf(r))
	}
	for _, v := range e.mm.vmas {
		if v.prot != ro {
			t.Errorf("VMA %v not read-only after mprotect over all of it", &v)
		}
	}
	if en := e.mm.copyOut(a+pg, []byte("x")); en != unix.EFAULT {
		t.Errorf("copyOut to a read-only page: %v, want EFAULT", en)
	}
	if got := e.mustCopyIn(t, a+pg, len(data)); !bytes.Equal(got, data) {
		t.Errorf("read-only page reads %q, want %q", got, data)
	}
	if pte := e.mm.pt.Lookup(a); pte&x86.PTEWrite != 0 {
		t.Errorf("read-only PTE %#x has W", pte)
	}
	// Executable: NX cleared.
	if r := sysMprotect(e.t, &args{a, pg, unix.PROT_READ | unix.PROT_EXEC}); r != 0 {
		t.Fatalf("mprotect(RX) = %s", errnoOf(r))
	}
	if pte := e.mm.pt.Lookup(a); pte&x86.PTENX != 0 {
		t.Errorf("executable PTE %#x has NX", pte)
	}
}

func TestBrk(t *testing.T) {
	e := newTestEnv(t)
	const start = 0x600000
	e.mm.brkStart, e.mm.brk = start, start
	tests := []struct {
		name  string
		req   uint64
		want  uint64
		spans []span
	}{
		{"query", 0, start, nil},
		{"below start", start - 1, start, nil},
		{"grow, unaligned", start + 0x1800, start + 0x1800, []span{{start, start + 0x2000, rw}}},
		{"grow within the page", start + 0x1ff0, start + 0x1ff0, []span{{start, start + 0x2000, rw}}},
		{"grow more", start + 0x5000, start + 0x5000, []span{{start, start + 0x5000, rw}}},
		{"shrink", start + 0x100, start + 0x100, []span{{start, start + 0x1000, rw}}},
		{"beyond TASK_SIZE", taskSize + pg, start + 0x100, []span{{start, start + 0x1000, rw}}},
		{"back to start", start, start, nil},
	}
	for _, tc := range tests {
		if got := uint64(sysBrk(e.t, &args{tc.req})); got != tc.want {
			t.Errorf("%s: brk(%#x) = %#x, want %#x", tc.name, tc.req, got, tc.want)
		}
		checkSpans(t, e.mm, tc.spans)
	}
	for va := uint64(start); va < start+0x5000; va += pg {
		if e.mm.pt.Lookup(va) != 0 {
			t.Errorf("page %#x still mapped after brk shrank to the start", va)
		}
	}
	if e.mm.pages != 0 {
		t.Errorf("%d resident pages after brk back to its start", e.mm.pages)
	}

	// Grown memory is usable and zero; shrinking and regrowing zeroes it.
	sysBrk(e.t, &args{start + 2*pg})
	e.mustCopyOut(t, start+pg, []byte("heap"))
	sysBrk(e.t, &args{start + pg})
	sysBrk(e.t, &args{start + 2*pg})
	if got := e.mustCopyIn(t, start+pg, 4); !bytes.Equal(got, make([]byte, 4)) {
		t.Errorf("regrown brk memory = % x, want zeros", got)
	}

	// brk stops a guard page short of the next mapping.
	next := e.mustMmap(t, start+16*pg, pg, protRW, mapAnon|unix.MAP_FIXED)
	if got := uint64(sysBrk(e.t, &args{next})); got != start+2*pg {
		t.Errorf("brk into a mapping = %#x, want unchanged %#x", got, start+2*pg)
	}
	if got := uint64(sysBrk(e.t, &args{next - pg + 1})); got != start+2*pg {
		t.Errorf("brk into the guard page = %#x, want unchanged %#x", got, start+2*pg)
	}
	if got := uint64(sysBrk(e.t, &args{next - pg})); got != next-pg {
		t.Errorf("brk up to the guard page = %#x, want %#x", got, next-pg)
	}
}

func TestBrkUnalignedStart(t *testing.T) {
	e := newTestEnv(t)
	// The page holding an unaligned brk start belongs to the data
	// segment; the heap VMA starts at the next page.
	const start = 0x600123
	e.mm.brkStart, e.mm.brk = start, start
	if got := uint64(sysBrk(e.t, &args{start + 0x2000})); got != start+0x2000 {
		t.Fatalf("brk = %#x", got)
	}
	checkSpans(t, e.mm, []span{{0x601000, 0x603000, rw}})
}

func TestCopyFaults(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, 2*pg, protRW, mapAnon|unix.MAP_FIXED)
	r := e.mustMmap(t, testBase+4*pg, pg, unix.PROT_READ, mapAnon|unix.MAP_FIXED)
	tests := []struct {
		name    string
		va      uint64
		n       int
		in, out unix.Errno
	}{
		{"mapped", a, 100, 0, 0},
		{"across two mapped pages", a + pg - 3, 10, 0, 0},
		{"zero bytes anywhere", 0, 0, 0, 0},
		{"unmapped", testBase + 8*pg, 8, unix.EFAULT, unix.EFAULT},
		{"NULL", 0, 1, unix.EFAULT, unix.EFAULT},
		{"running off the end", a + 2*pg - 4, 8, unix.EFAULT, unix.EFAULT},
		{"read-only", r, 8, 0, unix.EFAULT},
		{"kernel entry page", x86.SyscallEntry, 8, unix.EFAULT, unix.EFAULT},
		{"kernel GDT", x86.KernelBase + x86.PhysGDT, 8, unix.EFAULT, unix.EFAULT},
		{"TASK_SIZE", taskSize, 1, unix.EFAULT, unix.EFAULT},
		{"non-canonical", 0x800000000000, 1, unix.EFAULT, unix.EFAULT},
		{"wraps past 2^64", ^uint64(0) - 3, 16, unix.EFAULT, unix.EFAULT},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			buf := make([]byte, tc.n)
			if got := e.mm.copyIn(buf, tc.va); got != tc.in {
				t.Errorf("copyIn(%#x, %d) = %v, want %v", tc.va, tc.n, got, tc.in)
			}
			if got := e.mm.copyOut(tc.va, buf); got != tc.out {
				t.Errorf("copyOut(%#x, %d) = %v, want %v", tc.va, tc.n, got, tc.out)
			}
		})
	}
	// A kernel copy never reaches guest memory outside the user page: the
	// kernel area is untouched by a faulting copyOut aimed at it.
	before := append([]byte(nil), e.k.mem[x86.PhysEntry:x86.PhysEntry+16]...)
	e.mm.copyOut(x86.SyscallEntry, bytes.Repeat([]byte{0x90}, 16))
	if !bytes.Equal(before, e.k.mem[x86.PhysEntry:x86.PhysEntry+16]) {
		t.Error("copyOut to a kernel address modified the kernel area")
	}
	// Data written across a page boundary reads back.
	msg := []byte("across the boundary")
	e.mustCopyOut(t, a+pg-5, msg)
	if got := e.mustCopyIn(t, a+pg-5, len(msg)); !bytes.Equal(got, msg) {
		t.Errorf("read back %q, want %q", got, msg)
	}
}

func TestDemandFaultIn(t *testing.T) {
	e := newTestEnv(t)
	// A VMA with no pages yet (mmap populates eagerly, so insert it
	// directly): the first copyOut faults pages in.
	const n = 64
	a := uint64(testBase)
	e.mm.insert(vma{start: a, end: a + n*pg, prot: rw, kind: vmaAnon})
	if e.mm.pt.Lookup(a) != 0 || e.mm.pages != 0 {
		t.Fatal("fresh VMA already has pages")
	}
	live := e.k.pages.Live()
	va := a + 40*pg - 3 // straddles pages 39 and 40
	e.mustCopyOut(t, va, []byte("demand"))
	for _, p := range []uint64{a + 39*pg, a + 40*pg} {
		pte := e.mm.pt.Lookup(p)
		if pte&x86.PTEPresent == 0 || pte&x86.PTEUser == 0 || pte&x86.PTEWrite == 0 || pte&x86.PTENX == 0 {
			t.Errorf("PTE at %#x after the fault = %#x, want present U|W|NX", p, pte)
		}
	}
	if e.mm.pages < 2 || e.mm.pages > n {
		t.Errorf("%d pages resident after touching 2 of %d", e.mm.pages, n)
	}
	counted := 0
	e.mm.pt.Range(a, a+n*pg, func(va, pte uint64) { counted++ })
	if counted != e.mm.pages {
		t.Errorf("mm.pages = %d but %d PTEs are present", e.mm.pages, counted)
	}
	if got := e.k.pages.Live() - live; got < e.mm.pages {
		t.Errorf("allocator handed out %d pages for %d resident", got, e.mm.pages)
	}
	if got := e.mustCopyIn(t, va, 6); string(got) != "demand" {
		t.Errorf("read back %q", got)
	}
	// Fault-in never maps outside the VMA.
	for _, p := range []uint64{a - pg, a + n*pg} {
		if e.mm.pt.Lookup(p) != 0 {
			t.Errorf("page %#x outside the VMA was mapped", p)
		}
	}
	// A read fault on a read-only VMA maps a read-only page.
	r := a + 100*pg
	e.mm.insert(vma{start: r, end: r + pg, prot: ro, kind: vmaAnon})
	if got := e.mustCopyIn(t, r, 8); !bytes.Equal(got, make([]byte, 8)) {
		t.Errorf("read-only demand page = % x", got)
	}
	if pte := e.mm.pt.Lookup(r); pte&x86.PTEPresent == 0 || pte&x86.PTEWrite != 0 {
		t.Errorf("read-only demand PTE %#x", pte)
	}
}

func TestReadString(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, 2*pg, protRW, mapAnon|unix.MAP_FIXED)
	put := func(va uint64, s string) { e.mustCopyOut(t, va, append([]byte(s), 0)) }
	put(a, "hello")
	put(a+pg-3, "across") // crosses into the second page
	put(a+0x100, strings.Repeat("x", 15))
	put(a+0x200, strings.Repeat("y", 16))
	put(a+0x300, "")
	// The last bytes of the mapping with no NUL: the string runs into
	// unmapped memory.
	e.mustCopyOut(t, a+2*pg-4, []byte("abcd"))

	tests := []struct {
		name string
		va   uint64
		max  int
		want string
		err  unix.Errno
	}{
		{"simple", a, 4096, "hello", 0},
		{"across pages", a + pg - 3, 4096, "across", 0},
		{"empty", a + 0x300, 16, "", 0},
		{"max-1 bytes fit", a + 0x100, 16, strings.Repeat("x", 15), 0},
		{"max bytes without NUL", a + 0x200, 16, "", unix.ENAMETOOLONG},
		{"much too long", a + 0x200, 4, "", unix.ENAMETOOLONG},
		{"unmapped", testBase + 8*pg, 4096, "", unix.EFAULT},
		{"kernel", x86.SyscallEntry, 4096, "", unix.EFAULT},
		{"runs into unmapped memory", a + 2*pg - 4, 4096, "", unix.EFAULT},
		{"too long before unmapped memory", a + 2*pg - 4, 3, "", unix.ENAMETOOLONG},
	}
	for _, tc := range tests {
		got, err := e.mm.readString(tc.va, tc.max)
		if got != tc.want || err != tc.err {
			t.Errorf("%s: readString(%#x, %d) = %q, %v; want %q, %v", tc.name, tc.va, tc.max, got, err, tc.want, tc.err)
		}
	}
}

// Everything an address space allocated, tables included, goes back to
// the allocator when the last task exits.
func TestExitReleasesAllPages(t *testing.T) {
	e := newTestEnv(t)
	e.mm.brkStart, e.mm.brk = 0x600000, 0x600000
	sysBrk(e.t, &args{0x600000 + 10*pg})
	a := e.mustMmap(t, 0, 40*pg, protRW, mapAnon)
	e.mustMmap(t, 0x7f0000000000, 3*pg, unix.PROT_READ, mapAnon|unix.MAP_FIXED)
	e.mustCopyOut(t, a, make([]byte, 40*pg))
	sysMprotect(e.t, &args{a + pg, pg, unix.PROT_NONE})
	sysMunmap(e.t, &args{a + 5*pg, 2 * pg})
	if e.k.pages.Live() == 0 {
		t.Fatal("nothing allocated")
	}
	if r := sysExitGroup(e.t, &args{3}); r != 0 {
		t.Errorf("exit_group = %d", r)
	}
	if e.k.liveTasks() != 0 || e.k.status.Code != 3 || e.k.status.Signal != 0 {
		t.Errorf("after exit_group: live tasks %d, status %+v", e.k.liveTasks(), e.k.status)
	}
	if live := e.k.pages.Live(); live != 0 {
		t.Errorf("%d pages still live after the last task exited", live)
	}
	// nsvm's init reaps the program at once.
	if e.t.mm != nil || len(e.k.tasks) != 0 || e.t.state != taskDead {
		t.Errorf("task not reaped: mm=%v tasks=%d state=%d", e.t.mm, len(e.k.tasks), e.t.state)
	}
}
