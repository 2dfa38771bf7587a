package guestkernel

import (
	"bytes"
	"io"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// Guest-driven host allocations are bounded: whatever sizes a guest
// passes, one syscall makes the VMM allocate at most a chunk of host
// memory (chunkMax) plus what Linux's own limits bound.

// allocated returns the bytes the Go heap has handed out so far
// (runtime.MemStats.TotalAlloc: cumulative, so a collection between two
// readings cannot hide an allocation).
func allocated() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// toDevNull points the host side of the guest's fd at /dev/null.
func (e *testEnv) toDevNull(tb testing.TB, fd uint64) {
	tb.Helper()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { null.Close() })
	f, en := e.t.files.get(fd)
	if en != 0 {
		tb.Fatalf("fd %d: %v", fd, en)
	}
	f.hostFD = int(null.Fd())
}

// putIovecs writes an iovec array at va.
func (e *testEnv) putIovecs(tb testing.TB, va uint64, iov ...iovec) {
	tb.Helper()
	b := make([]byte, 16*len(iov))
	for i, v := range iov {
		le.PutUint64(b[i*16:], v.base)
		le.PutUint64(b[i*16+8:], v.len)
	}
	e.mustCopyOut(tb, va, b)
}

// The case: twenty writev calls, each with one 0x7fff0000-byte
// iovec over a 16 MiB mapping, took 4.2 GB of host memory. Each call
// writes the mapped part and stops at the first unmapped byte; the host
// memory it takes is the scratch chunk, not the guest's length.
func TestWritevHugeIovecHostMemoryBounded(t *testing.T) {
	e := newTestEnv(t)
	e.toDevNull(t, 1)
	const mapped = 16 << 20
	a := e.mustMmap(t, testBase, mapped, protRW, mapAnon|unix.MAP_FIXED)
	iovAt := e.mustMmap(t, testBase+mapped+pg, pg, protRW, mapAnon|unix.MAP_FIXED)
	e.putIovecs(t, iovAt, iovec{a, 0x7fff0000})

	// The first call may grow the scratch buffer to its chunk size.
	if r := sysWritev(e.t, &args{1, iovAt, 1}); r != mapped {
		t.Fatalf("writev = %s, want %d (the mapped bytes)", errnoOf(r), mapped)
	}
	before := allocated()
	for i := 0; i < 20; i++ {
		if r := sysWritev(e.t, &args{1, iovAt, 1}); r != mapped {
			t.Fatalf("call %d: writev = %s, want %d", i, errnoOf(r), mapped)
		}
	}
	// The chunked path allocates nothing per call; 1 MiB is a margin
	// for the runtime itself, far below the 2 GiB a call used to take.
	if grew := allocated() - before; grew > 1<<20 {
		t.Errorf("20 writev calls with a 0x7fff0000-byte iovec allocated %d bytes of host memory", grew)
	}

	// The same for readv into the huge iovec and for write(2) and
	// read(2) with a huge count.
	e.stdin.Close() // readv and read then see EOF at once
	before = allocated()
	for i := 0; i < 20; i++ {
		if r := sysReadv(e.t, &args{0, iovAt, 1}); r != 0 {
			t.Fatalf("readv at EOF = %s, want 0", errnoOf(r))
		}
		if r := sysWrite(e.t, &args{1, a, 0x7fff0000}); r != mapped {
			t.Fatalf("write = %s, want %d", errnoOf(r), mapped)
		}
		if r := sysRead(e.t, &args{0, a, 0x7fff0000}); r != 0 {
			t.Fatalf("read at EOF = %s, want 0", errnoOf(r))
		}
	}
	if grew := allocated() - before; grew > 1<<20 {
		t.Errorf("20 huge readv/write/read calls allocated %d bytes of host memory", grew)
	}
}

// writev of more than a chunk delivers every byte in order, across the
// chunk boundaries and the segment boundaries.
func TestWritevLargerThanChunk(t *testing.T) {
	e := newTestEnv(t)
	seg := []uint64{700 << 10, chunkMax + 12345, 3, 300 << 10}
	var total uint64
	for _, n := range seg {
		total += n
	}
	a := e.mustMmap(t, testBase, pageUp(total)+pg, protRW, mapAnon|unix.MAP_FIXED)
	want := make([]byte, total)
	for i := range want {
		want[i] = byte(i*31 + i>>11)
	}
	e.mustCopyOut(t, a, want)
	var iov []iovec
	off := uint64(0)
	for _, n := range seg {
		iov = append(iov, iovec{a + off, n})
		off += n
	}
	iovAt := a + pageUp(total)
	e.putIovecs(t, iovAt, iov...)

	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(e.stdout, int64(total)))
		got <- b
	}()
	if r := sysWritev(e.t, &args{1, iovAt, uint64(len(iov))}); r != int64(total) {
		t.Fatalf("writev = %s, want %d", errnoOf(r), total)
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Errorf("writev of %d bytes delivered %d bytes, not the guest's", total, len(b))
	}
}

// The iovec total is clamped to MAX_RW_COUNT and the segments are trimmed
// to it: two segments of 0x7fff0000 bytes transfer at most MAX_RW_COUNT.
func TestReadIovecsClampsTotal(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, pg, protRW, mapAnon|unix.MAP_FIXED)
	e.putIovecs(t, a, iovec{0x20000000, 0x7fff0000}, iovec{0x20000000, 0x7fff0000}, iovec{0x20000000, 5})
	iov, total, en := e.t.readIovecs(a, 3)
	if en != 0 {
		t.Fatalf("readIovecs: %v", en)
	}
	if total != maxRWCount {
		t.Errorf("total = %#x, want MAX_RW_COUNT %#x", total, maxRWCount)
	}
	if iov[0].len != 0x7fff0000 || iov[1].len != maxRWCount-0x7fff0000 || iov[2].len != 0 {
		t.Errorf("segments trimmed to %#x %#x %#x", iov[0].len, iov[1].len, iov[2].len)
	}
	// A negative length is EINVAL, one past user space EFAULT.
	e.putIovecs(t, a, iovec{0x20000000, 1 << 63})
	if _, _, en := e.t.readIovecs(a, 1); en != unix.EINVAL {
		t.Errorf("negative iov_len: %v, want EINVAL", en)
	}
	e.putIovecs(t, a, iovec{taskSize - 4, 8})
	if _, _, en := e.t.readIovecs(a, 1); en != unix.EFAULT {
		t.Errorf("iovec past user space: %v, want EFAULT", en)
	}
}
