package guestkernel

import (
	"bytes"
	"io"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
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

// setNOFILE sets the task's RLIMIT_NOFILE.
func (e *testEnv) setNOFILE(n uint64) { e.t.tg.rlimits[unix.RLIMIT_NOFILE] = rlimit{n, n} }

// Fd tables are kernel memory: a table grown to nr_open slots can be
// copied (fork, unshare(CLONE_FILES)) only while the budget lasts; then
// ENOMEM, and freeing the copies gives the memory back.
func TestFdTablesBoundedByKernelMemory(t *testing.T) {
	e := newTestEnv(t)
	e.setNOFILE(nrOpen)
	base, limit := e.k.KernelMemory()
	if r := sysDup2(e.t, &args{0, nrOpen - 1}); r != nrOpen-1 {
		t.Fatalf("dup2(0, nr_open-1) = %s", errnoOf(r))
	}
	table := nrOpen * kmemFDSlot
	if used, _ := e.k.KernelMemory(); used != base+table-3*kmemFDSlot {
		t.Fatalf("growing the table from 3 to %d slots charged %d bytes, want %d", nrOpen, used-base, table-3*kmemFDSlot)
	}
	base += table - 3*kmemFDSlot
	var copies []*fdTable
	var en unix.Errno
	for len(copies) <= limit/table {
		var c *fdTable
		if c, en = e.t.files.dup(); en != 0 {
			break
		}
		copies = append(copies, c)
	}
	if en != unix.ENOMEM {
		t.Fatalf("%d copies of a %d-byte table within a %d-byte budget: no ENOMEM", len(copies), table, limit)
	}
	if used, _ := e.k.KernelMemory(); used > limit {
		t.Errorf("kernel memory %d over its budget %d", used, limit)
	}
	for _, c := range copies {
		c.put()
	}
	// The copy of a table follows its highest open fd, not its size.
	sysClose(e.t, &args{nrOpen - 1})
	c, en := e.t.files.dup()
	if en != 0 || len(c.fds) != 3 {
		t.Fatalf("copy of a table with fds 0-2 open: %d slots, %v", len(c.fds), en)
	}
	c.put()
	if used, _ := e.k.KernelMemory(); used != base {
		t.Errorf("kernel memory %d after the copies were freed, want %d", used, base)
	}
	// dup2 past what is left is ENOMEM, not a host allocation.
	e.k.kmem = limit - 100
	if r := sysDup2(e.t, &args{0, 1}); r != 1 {
		t.Errorf("dup2 into an existing slot = %s", errnoOf(r))
	}
	e.t.files = e.k.newStdioTable(e.k.cfg.Stdin, e.k.cfg.Stdout, e.k.cfg.Stderr)
	e.k.kmem = limit - 100
	if r := sysDup2(e.t, &args{0, 1000}); r != errno(unix.ENOMEM) {
		t.Errorf("dup2 growing the table with the budget spent = %s, want ENOMEM", errnoOf(r))
	}
}

// Pipe buffers are kernel memory: filling pipe after pipe ends in ENOMEM
// once the budget is spent, and closing them gives it back.
func TestPipeBuffersBoundedByKernelMemory(t *testing.T) {
	e := newTestEnv(t)
	e.setNOFILE(1 << 16)
	base, limit := e.k.KernelMemory()
	a := e.mustMmap(t, testBase, pipeBufSize+pg, protRW, mapAnon|unix.MAP_FIXED)
	fds := a + pipeBufSize
	var open []uint64
	var last int64
	for i := 0; i <= limit/pipeBufSize; i++ {
		if last = sysPipe2(e.t, &args{fds, unix.O_NONBLOCK}); last < 0 {
			break
		}
		b := e.mustCopyIn(t, fds, 8)
		r, w := uint64(le.Uint32(b)), uint64(le.Uint32(b[4:]))
		open = append(open, r, w)
		if last = sysWrite(e.t, &args{w, a, pipeBufSize}); last != pipeBufSize {
			break
		}
	}
	if last != errno(unix.ENOMEM) {
		t.Fatalf("%d full pipes in a %d-byte budget: last call %s, want ENOMEM", len(open)/2, limit, errnoOf(last))
	}
	if used, _ := e.k.KernelMemory(); used > limit {
		t.Errorf("kernel memory %d over its budget %d", used, limit)
	}
	for _, fd := range open {
		sysClose(e.t, &args{fd})
	}
	// What stays is the grown fd table (Linux never shrinks one) and
	// the mapping's VMA.
	if used, want := e.k.kmem, e.t.files.charged*kmemFDSlot+e.mm.vmaSlots*kmemVMA; used != want {
		t.Errorf("kernel memory %d after closing every pipe, want %d (base %d)", used, want, base)
	}
}

// SysV messages are kernel memory: MSGMAX per message, msg_qbytes per
// queue (bytes and messages, so empty messages cannot pile up), raising
// msg_qbytes past MSGMNB takes CAP_SYS_RESOURCE, and even then the
// kernel-memory budget ends it with ENOMEM.
func TestMsgQueuesBounded(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, 4*pg, protRW, mapAnon|unix.MAP_FIXED)
	msg, ds := a, a+3*pg
	e.mm.writeU64(msg, 1) // mtype
	c := e.t.cred
	c.euid, c.uid, c.capEff = 1000, 1000, 0
	id := uint64(sysMsgget(e.t, &args{ipcPrivate, ipcCreat | 0o600}))
	if int64(id) < 0 {
		t.Fatalf("msgget = %s", errnoOf(int64(id)))
	}
	if r := sysMsgsnd(e.t, &args{id, msg, msgMax + 1, ipcNoWait}); r != errno(unix.EINVAL) {
		t.Errorf("msgsnd of MSGMAX+1 bytes = %s, want EINVAL", errnoOf(r))
	}
	n := 0
	for ; n <= msgMnb; n++ {
		if r := sysMsgsnd(e.t, &args{id, msg, 0, ipcNoWait}); r != 0 {
			if r != errno(unix.EAGAIN) {
				t.Fatalf("empty message %d: msgsnd = %s", n, errnoOf(r))
			}
			break
		}
	}
	if n != msgMnb {
		t.Errorf("%d empty messages fit a queue of msg_qbytes %d, want as many as its bytes", n, msgMnb)
	}
	// Unprivileged, msg_qbytes cannot go past MSGMNB.
	if r := sysMsgctl(e.t, &args{id, ipcStat, ds}); r != 0 {
		t.Fatalf("IPC_STAT = %s", errnoOf(r))
	}
	e.mm.writeU64(ds+88, 1<<40)
	if r := sysMsgctl(e.t, &args{id, ipcSet, ds}); r != errno(unix.EPERM) {
		t.Errorf("IPC_SET msg_qbytes 2^40 without CAP_SYS_RESOURCE = %s, want EPERM", errnoOf(r))
	}
	c.capEff = capFull
	if r := sysMsgctl(e.t, &args{id, ipcSet, ds}); r != 0 {
		t.Fatalf("IPC_SET msg_qbytes 2^40 with CAP_SYS_RESOURCE = %s", errnoOf(r))
	}
	_, limit := e.k.KernelMemory()
	var r int64
	for i := 0; i <= limit/msgMax; i++ {
		if r = sysMsgsnd(e.t, &args{id, msg, msgMax, ipcNoWait}); r != 0 {
			break
		}
	}
	if r != errno(unix.ENOMEM) {
		t.Fatalf("msgsnd into a 2^40-byte queue until the budget is spent: %s, want ENOMEM", errnoOf(r))
	}
	if r := sysMsgctl(e.t, &args{id, ipcRmid, 0}); r != 0 {
		t.Fatalf("IPC_RMID = %s", errnoOf(r))
	}
	if used, want := e.k.kmem, 3*kmemFDSlot+e.mm.vmaSlots*kmemVMA; used != want {
		t.Errorf("kernel memory %d after IPC_RMID, want the stdio table's and the mapping's %d", used, want)
	}
}

// vm.max_map_count: no operation takes an address space past 65530 VMAs.
func TestMaxMapCount(t *testing.T) {
	e := newTestEnv(t)
	const base = 0x100000000
	// maxMapCount one-page VMAs with gaps: no merging.
	for i := uint64(0); i < maxMapCount; i++ {
		e.mm.insert(vma{start: base + 2*i*pg, end: base + (2*i+1)*pg, prot: rw, kind: vmaAnon})
	}
	big := e.mustMmap(t, 0x200000000, 4*pg, protRW, mapAnon|unix.MAP_FIXED)
	if got := len(e.mm.vmas); got != maxMapCount+1 {
		t.Fatalf("%d VMAs, want %d", got, maxMapCount+1)
	}
	if r := e.mmap(0, pg, protRW, mapAnon); r != errno(unix.ENOMEM) {
		t.Errorf("mmap past max_map_count = %s, want ENOMEM", errnoOf(r))
	}
	if r := sysMunmap(e.t, &args{big + pg, pg}); r != errno(unix.ENOMEM) {
		t.Errorf("munmap punching a hole past max_map_count = %s, want ENOMEM", errnoOf(r))
	}
	if r := sysMprotect(e.t, &args{big + pg, pg, unix.PROT_READ}); r != errno(unix.ENOMEM) {
		t.Errorf("mprotect splitting past max_map_count = %s, want ENOMEM", errnoOf(r))
	}
	// Taking whole VMAs away always works.
	if r := sysMunmap(e.t, &args{big, 4 * pg}); r != 0 {
		t.Errorf("munmap of a whole VMA = %s", errnoOf(r))
	}
	if r := sysMprotect(e.t, &args{base, pg, unix.PROT_READ}); r != 0 {
		t.Errorf("mprotect of a whole VMA = %s", errnoOf(r))
	}
}

// The code peek of a crash report or a trace stops at TASK_SIZE: a RIP or
// buffer in the last page below 2^64 made the page walk wrap and scan the
// whole 64-bit space.
func TestPeekTopOfAddressSpace(t *testing.T) {
	e := newTestEnv(t)
	for _, va := range []uint64{^uint64(0) - 0xf9b - 48, ^uint64(0) - 13, taskSize - 8, x86.KernelBase} {
		if c := e.mm.peek(va, 80); len(c.bytes) != 0 {
			t.Errorf("peek(%#x) read %d bytes", va, len(c.bytes))
		}
	}
	a := e.mustMmap(t, taskSize-pg, pg, protRW, mapAnon|unix.MAP_FIXED)
	e.mustCopyOut(t, a+pg-4, []byte("abcd"))
	if c := e.mm.peek(a+pg-4, 80); string(c.bytes) != "abcd" || c.base != a+pg-4 {
		t.Errorf("peek at the end of user space: %q at %#x", c.bytes, c.base)
	}
}

// A sleeper interrupted again and again (a signal, then the restart) is
// on a wait list once, and sleepers that died are dropped: the list is
// as long as the number of sleepers, not of sleeps.
func TestWaitListsStayShort(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, pg, protRW, mapAnon|unix.MAP_FIXED)
	if r := sysPipe2(e.t, &args{a, 0}); r != 0 {
		t.Fatalf("pipe2 = %s", errnoOf(r))
	}
	rfd := uint64(le.Uint32(e.mustCopyIn(t, a, 4)))
	f, _ := e.t.files.get(rfd)
	dead := &Task{state: taskZombie}
	f.pipe.waiters = append(f.pipe.waiters, dead)
	for i := 0; i < 1000; i++ {
		if r := sysRead(e.t, &args{rfd, a + 8, 8}); r != errRestart {
			t.Fatalf("read of an empty pipe = %d, want a sleep", r)
		}
		// What a signal does to the sleeper (cancelWait).
		e.t.state, e.t.wait = taskRunnable, waitState{}
	}
	if n := len(f.pipe.waiters); n != 1 {
		t.Errorf("%d entries on the pipe's wait list after 1000 interrupted sleeps of one task", n)
	}
}

// prctl(PR_SET_NAME) reads at most 15 bytes (strncpy_from_user with
// sizeof(comm)-1): a longer name is cut, and bytes past the 15th are
// never touched, even when unmapped.
func TestPrSetNameReadsFifteenBytes(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, pg, protRW, mapAnon|unix.MAP_FIXED)
	long := bytes.Repeat([]byte("n"), int(pg))
	e.mustCopyOut(t, a, long)
	if r := sysPrctl(e.t, &args{unix.PR_SET_NAME, a}); r != 0 || e.t.comm != string(long[:15]) {
		t.Errorf("PR_SET_NAME of a page without NUL = %s, comm %q", errnoOf(r), e.t.comm)
	}
	if r := sysPrctl(e.t, &args{unix.PR_SET_NAME, a + pg - 15}); r != 0 || e.t.comm != string(long[:15]) {
		t.Errorf("PR_SET_NAME of the last 15 bytes before unmapped memory = %s, comm %q", errnoOf(r), e.t.comm)
	}
	if r := sysPrctl(e.t, &args{unix.PR_SET_NAME, a + pg - 14}); r != errno(unix.EFAULT) {
		t.Errorf("PR_SET_NAME needing a byte of unmapped memory = %s, want EFAULT", errnoOf(r))
	}
	e.mustCopyOut(t, a, []byte("short\x00"))
	if r := sysPrctl(e.t, &args{unix.PR_SET_NAME, a}); r != 0 || e.t.comm != "short" {
		t.Errorf("PR_SET_NAME \"short\" = %s, comm %q", errnoOf(r), e.t.comm)
	}
}

// The run's task table (--ps) keeps the first maxHistory tasks: a program
// that forks forever does not grow it forever.
func TestHistoryBounded(t *testing.T) {
	e := newTestEnv(t)
	for len(e.k.history) < maxHistory+100 {
		before := len(e.k.history)
		e.k.recordTask(e.t)
		if len(e.k.history) == before {
			break
		}
	}
	if n := len(e.k.history); n != maxHistory {
		t.Fatalf("history holds %d tasks, want %d", n, maxHistory)
	}
	var b bytes.Buffer
	e.k.PrintHistory(&b)
	if !bytes.HasSuffix(b.Bytes(), []byte("later ones are not recorded)\n")) {
		t.Errorf("--ps output does not say that it is cut: ends %q", b.Bytes()[max(0, b.Len()-80):])
	}
}

// Zombies count against threads-max until they are reaped, as Linux
// counts them (nr_threads drops in release_task): a parent that never
// waits gets EAGAIN from fork, instead of piling up zombies.
func TestZombiesCountAgainstThreadsMax(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	e := newFuzzEnv(t, 0, 0, null)
	parent := e.k.current
	forks := 0
	for i := 0; i < 2*e.k.maxThreads; i++ {
		e.syscall(t, parent, 57, args{}) // fork
		r := int64(e.cpu.regs.RAX)
		if r < 0 {
			if r != errno(unix.EAGAIN) {
				t.Fatalf("fork %d = %s, want a child or EAGAIN", i, errnoOf(r))
			}
			break
		}
		forks++
		// The child exits at once; the parent never waits.
		child := e.k.tasks[int(r)]
		e.k.doExit(child, exitedStatus(0))
		if child.state != taskZombie {
			t.Fatalf("child %d is %s, want a zombie", r, stateName(child.state))
		}
	}
	if forks != e.k.maxThreads-1 {
		t.Errorf("%d forks before EAGAIN with threads-max %d and no reaping, want %d", forks, e.k.maxThreads, e.k.maxThreads-1)
	}
	// Reaping makes room again.
	if r := sysWait4(parent, &args{^uint64(0), 0, 0, 0}); r <= 0 {
		t.Fatalf("wait4 = %s", errnoOf(r))
	}
	e.syscall(t, parent, 57, args{})
	if r := int64(e.cpu.regs.RAX); r <= 0 {
		t.Errorf("fork after reaping one zombie = %s", errnoOf(r))
	}
}
