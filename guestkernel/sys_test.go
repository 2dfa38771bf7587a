package guestkernel

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
)

// readPipe reads exactly n bytes the guest wrote to its stdout.
func (e *testEnv) readPipe(tb testing.TB, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(e.stdout, b); err != nil {
		tb.Fatalf("reading the guest's output: %v", err)
	}
	return b
}

func TestWriteThroughPipe(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, 4*pg, protRW, mapAnon|unix.MAP_FIXED)
	msg := []byte("hello, pipe\n")
	e.mustCopyOut(t, a+pg-5, msg) // across a page boundary
	if r := sysWrite(e.t, &args{1, a + pg - 5, uint64(len(msg))}); r != int64(len(msg)) {
		t.Fatalf("write = %s, want %d", errnoOf(r), len(msg))
	}
	if got := e.readPipe(t, len(msg)); !bytes.Equal(got, msg) {
		t.Errorf("pipe got %q, want %q", got, msg)
	}

	// Larger than the kernel's scratch buffer (4 KiB here) and spanning
	// several pages; fd 2 goes to the same pipe.
	big := make([]byte, 3*pg+100)
	for i := range big {
		big[i] = byte(i * 7)
	}
	e.mustCopyOut(t, a+50, big)
	if r := sysWrite(e.t, &args{2, a + 50, uint64(len(big))}); r != int64(len(big)) {
		t.Fatalf("big write = %s, want %d", errnoOf(r), len(big))
	}
	if got := e.readPipe(t, len(big)); !bytes.Equal(got, big) {
		t.Error("big write delivered different bytes")
	}

	if r := sysWrite(e.t, &args{1, a, 0}); r != 0 {
		t.Errorf("write of 0 bytes = %s", errnoOf(r))
	}
	errTests := []struct {
		name    string
		fd, buf uint64
		n       uint64
		want    unix.Errno
	}{
		{"unmapped buffer", 1, testBase + 100*pg, 8, unix.EFAULT},
		{"kernel buffer", 1, x86.SyscallEntry, 8, unix.EFAULT},
		{"buffer wrapping 2^64", 1, a, ^uint64(0) - a + 10, unix.EFAULT},
		{"bad fd", 9, a, 8, unix.EBADF},
		{"fd -1", ^uint64(0), a, 8, unix.EBADF},
	}
	for _, tc := range errTests {
		if r := sysWrite(e.t, &args{tc.fd, tc.buf, tc.n}); r != errno(tc.want) {
			t.Errorf("%s: write = %s, want %s", tc.name, errnoOf(r), unix.ErrnoName(tc.want))
		}
	}
}

func TestReadFromPipe(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, 2*pg, protRW, mapAnon|unix.MAP_FIXED)
	if _, err := e.stdin.Write([]byte("input line\n")); err != nil {
		t.Fatal(err)
	}
	r := sysRead(e.t, &args{0, a + pg - 4, 100})
	if r != 11 {
		t.Fatalf("read = %s, want 11", errnoOf(r))
	}
	if got := e.mustCopyIn(t, a+pg-4, 11); string(got) != "input line\n" {
		t.Errorf("guest buffer holds %q", got)
	}
	if r := sysRead(e.t, &args{0, x86.KernelBase, 10}); r != errno(unix.EFAULT) {
		t.Errorf("read into a kernel address = %s, want EFAULT", errnoOf(r))
	}
	// End of file once the writer is gone.
	e.stdin.Close()
	if r := sysRead(e.t, &args{0, a, 10}); r != 0 {
		t.Errorf("read at EOF = %s, want 0", errnoOf(r))
	}
}

func TestWritevReadv(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, 2*pg, protRW, mapAnon|unix.MAP_FIXED)
	e.mustCopyOut(t, a+0x100, []byte("hello, "))
	e.mustCopyOut(t, a+0x200, []byte("world"))
	iov := make([]byte, 32)
	le.PutUint64(iov[0:], a+0x100)
	le.PutUint64(iov[8:], 7)
	le.PutUint64(iov[16:], a+0x200)
	le.PutUint64(iov[24:], 5)
	e.mustCopyOut(t, a, iov)
	if r := sysWritev(e.t, &args{1, a, 2}); r != 12 {
		t.Fatalf("writev = %s, want 12", errnoOf(r))
	}
	if got := e.readPipe(t, 12); string(got) != "hello, world" {
		t.Errorf("writev delivered %q", got)
	}
	if r := sysWritev(e.t, &args{1, a, uioMaxIOV + 1}); r != errno(unix.EINVAL) {
		t.Errorf("writev with too many iovecs = %s, want EINVAL", errnoOf(r))
	}
	if r := sysWritev(e.t, &args{1, testBase + 100*pg, 1}); r != errno(unix.EFAULT) {
		t.Errorf("writev with an unmapped iovec array = %s, want EFAULT", errnoOf(r))
	}

	// readv scatters one read over the iovecs in order.
	e.stdin.Write([]byte("abcdefghijkl"))
	if r := sysReadv(e.t, &args{0, a, 2}); r != 12 {
		t.Fatalf("readv = %s, want 12", errnoOf(r))
	}
	if got := e.mustCopyIn(t, a+0x100, 7); string(got) != "abcdefg" {
		t.Errorf("first iovec holds %q", got)
	}
	if got := e.mustCopyIn(t, a+0x200, 5); string(got) != "hijkl" {
		t.Errorf("second iovec holds %q", got)
	}
}

func TestClosedFD(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, pg, protRW, mapAnon|unix.MAP_FIXED)
	if r := sysClose(e.t, &args{0}); r != 0 {
		t.Fatalf("close(0) = %s", errnoOf(r))
	}
	tests := []struct {
		name string
		fn   sysFunc
		a    args
	}{
		{"read", sysRead, args{0, a, 10}},
		{"write", sysWrite, args{0, a, 10}},
		{"readv", sysReadv, args{0, a, 0}},
		{"fstat", sysFstat, args{0, a}},
		{"ioctl", sysIoctl, args{0, tcgets, a}},
		{"fcntl", sysFcntl, args{0, unix.F_GETFL}},
		{"close again", sysClose, args{0}},
		{"close never opened", sysClose, args{3}},
		{"close huge fd", sysClose, args{1 << 40}},
		{"read huge fd", sysRead, args{^uint64(0), a, 10}},
	}
	for _, tc := range tests {
		if r := tc.fn(e.t, &tc.a); r != errno(unix.EBADF) {
			t.Errorf("%s on a closed fd = %s, want EBADF", tc.name, errnoOf(r))
		}
	}
	// The other descriptors still work.
	e.mustCopyOut(t, a, []byte("ok"))
	if r := sysWrite(e.t, &args{1, a, 2}); r != 2 {
		t.Errorf("write(1) after close(0) = %s", errnoOf(r))
	}
}

func TestFstatPassesThrough(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, pg, protRW, mapAnon|unix.MAP_FIXED)
	if r := sysFstat(e.t, &args{1, a}); r != 0 {
		t.Fatalf("fstat(1) = %s", errnoOf(r))
	}
	var st unix.Stat_t
	copy(bytesOf(&st), e.mustCopyIn(t, a, len(bytesOf(&st))))
	if st.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("fstat(1) mode %#o, want a FIFO (the test's pipe)", st.Mode)
	}
	if r := sysFstat(e.t, &args{1, testBase + 10*pg}); r != errno(unix.EFAULT) {
		t.Errorf("fstat into unmapped memory = %s, want EFAULT", errnoOf(r))
	}
	// A pipe is not a terminal.
	if r := sysIoctl(e.t, &args{1, tcgets, a}); r != errno(unix.ENOTTY) {
		t.Errorf("TCGETS on a pipe = %s, want ENOTTY", errnoOf(r))
	}
}

func TestRtSigaction(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, pg, protRW, mapAnon|unix.MAP_FIXED)
	act, oact := a, a+0x100
	b := make([]byte, 32)
	le.PutUint64(b[0:], 0x401000)                                // handler
	le.PutUint64(b[8:], 0x04000000)                              // SA_RESTORER
	le.PutUint64(b[16:], 0x401100)                               // restorer
	le.PutUint64(b[24:], 1<<(sigKill-1)|1<<(sigStop-1)|1<<(2-1)) // mask
	e.mustCopyOut(t, act, b)

	tests := []struct {
		name              string
		sig, act, oact, n uint64
		want              unix.Errno
	}{
		{"SIGKILL", sigKill, act, 0, 8, unix.EINVAL},
		{"SIGSTOP", sigStop, act, 0, 8, unix.EINVAL},
		{"sigsetsize 4", 2, act, 0, 4, unix.EINVAL},
		{"sigsetsize 16", 2, act, 0, 16, unix.EINVAL},
		{"signal 0", 0, act, 0, 8, unix.EINVAL},
		{"signal 65", 65, act, 0, 8, unix.EINVAL},
		{"act unmapped", 2, testBase + 10*pg, 0, 8, unix.EFAULT},
		{"oact unmapped", 2, 0, testBase + 10*pg, 8, unix.EFAULT},
		{"query SIGKILL", sigKill, 0, oact, 8, 0},
		{"set SIGINT", 2, act, 0, 8, 0},
		{"set signal 64", 64, act, 0, 8, 0},
	}
	for _, tc := range tests {
		if r := sysRtSigaction(e.t, &args{tc.sig, tc.act, tc.oact, tc.n}); r != errno(tc.want) {
			t.Errorf("%s: rt_sigaction = %s, want %s", tc.name, errnoOf(r), unix.ErrnoName(tc.want))
		}
	}
	// Read SIGINT's action back: SIGKILL and SIGSTOP are dropped from the
	// mask, the rest is kept.
	if r := sysRtSigaction(e.t, &args{2, 0, oact, 8}); r != 0 {
		t.Fatalf("query SIGINT = %s", errnoOf(r))
	}
	got := e.mustCopyIn(t, oact, 32)
	want := []uint64{0x401000, 0x04000000, 0x401100, 1 << (2 - 1)}
	for i, w := range want {
		if g := le.Uint64(got[i*8:]); g != w {
			t.Errorf("oact word %d = %#x, want %#x", i, g, w)
		}
	}
	// act and oact together: oact gets the previous action.
	le.PutUint64(b[0:], 1) // SIG_IGN
	e.mustCopyOut(t, act, b)
	if r := sysRtSigaction(e.t, &args{2, act, oact, 8}); r != 0 {
		t.Fatalf("replace SIGINT = %s", errnoOf(r))
	}
	if g := le.Uint64(e.mustCopyIn(t, oact, 8)); g != 0x401000 {
		t.Errorf("previous handler = %#x, want 0x401000", g)
	}
	if e.t.sighand.actions[2-1].handler != 1 {
		t.Errorf("new handler = %#x, want SIG_IGN", e.t.sighand.actions[2-1].handler)
	}
}

func TestRtSigprocmask(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, pg, protRW, mapAnon|unix.MAP_FIXED)
	set, old := a, a+8
	e.mm.writeU64(set, 1<<(sigKill-1)|1<<(10-1))
	if r := sysRtSigprocmask(e.t, &args{unix.SIG_BLOCK, set, 0, 8}); r != 0 {
		t.Fatalf("SIG_BLOCK = %s", errnoOf(r))
	}
	if e.t.sigmask != 1<<(10-1) {
		t.Errorf("mask %#x, want SIGUSR1 only (SIGKILL cannot be blocked)", e.t.sigmask)
	}
	if r := sysRtSigprocmask(e.t, &args{99, set, 0, 8}); r != errno(unix.EINVAL) {
		t.Errorf("bad how = %s, want EINVAL", errnoOf(r))
	}
	if r := sysRtSigprocmask(e.t, &args{unix.SIG_UNBLOCK, set, old, 8}); r != 0 {
		t.Fatalf("SIG_UNBLOCK = %s", errnoOf(r))
	}
	if v, _ := e.mm.readU64(old); v != 1<<(10-1) || e.t.sigmask != 0 {
		t.Errorf("old mask %#x, new %#x", v, e.t.sigmask)
	}
	if r := sysRtSigprocmask(e.t, &args{unix.SIG_BLOCK, set, 0, 4}); r != errno(unix.EINVAL) {
		t.Errorf("sigsetsize 4 = %s, want EINVAL", errnoOf(r))
	}
}

func TestPrlimit64(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, pg, protRW, mapAnon|unix.MAP_FIXED)
	newp, oldp := a, a+0x100
	const nofile = unix.RLIMIT_NOFILE
	putLimit := func(cur, max uint64) {
		var b [16]byte
		le.PutUint64(b[:], cur)
		le.PutUint64(b[8:], max)
		e.mustCopyOut(t, newp, b[:])
	}
	getLimit := func() (uint64, uint64) {
		b := e.mustCopyIn(t, oldp, 16)
		return le.Uint64(b), le.Uint64(b[8:])
	}

	// Starts as the host's limits.
	var host unix.Rlimit
	if err := unix.Getrlimit(nofile, &host); err != nil {
		t.Fatal(err)
	}
	if r := sysPrlimit64(e.t, &args{0, nofile, 0, oldp}); r != 0 {
		t.Fatalf("prlimit64 get = %s", errnoOf(r))
	}
	if cur, max := getLimit(); cur != host.Cur || max != host.Max {
		t.Errorf("initial NOFILE = %d/%d, host %d/%d", cur, max, host.Cur, host.Max)
	}

	// Round trip, with old and new in one call.
	e.t.cred.euid = 1000
	putLimit(64, 128)
	if r := sysPrlimit64(e.t, &args{0, nofile, newp, oldp}); r != 0 {
		t.Fatalf("prlimit64 set = %s", errnoOf(r))
	}
	if cur, max := getLimit(); cur != host.Cur || max != host.Max {
		t.Errorf("old value %d/%d, want the previous %d/%d", cur, max, host.Cur, host.Max)
	}
	if r := sysGetrlimit(e.t, &args{nofile, oldp}); r != 0 {
		t.Fatalf("getrlimit = %s", errnoOf(r))
	}
	if cur, max := getLimit(); cur != 64 || max != 128 {
		t.Errorf("after set: %d/%d, want 64/128", cur, max)
	}

	tests := []struct {
		name     string
		pid, res uint64
		cur, max uint64
		euid     uint32
		want     unix.Errno
	}{
		{"raise hard limit unprivileged", 0, nofile, 64, 256, 1000, unix.EPERM},
		{"cur above max", 0, nofile, 100, 50, 1000, unix.EINVAL},
		{"resource out of range", 0, rlimNlimits, 1, 1, 1000, unix.EINVAL},
		{"unknown pid", 4242, nofile, 1, 1, 1000, unix.ESRCH},
		{"own pid, lowering", 2, nofile, 32, 100, 1000, 0},
		{"raise hard limit as root", 0, nofile, 32, 200, 0, 0},
	}
	for _, tc := range tests {
		e.t.cred.euid = tc.euid
		putLimit(tc.cur, tc.max)
		if r := sysPrlimit64(e.t, &args{tc.pid, tc.res, newp, 0}); r != errno(tc.want) {
			t.Errorf("%s: prlimit64 = %s, want %s", tc.name, errnoOf(r), unix.ErrnoName(tc.want))
		}
	}
	if l := e.t.tg.rlimits[nofile]; l.cur != 32 || l.max != 200 {
		t.Errorf("final NOFILE %d/%d, want 32/200", l.cur, l.max)
	}
	// A faulting new pointer changes nothing.
	if r := sysPrlimit64(e.t, &args{0, nofile, testBase + 10*pg, 0}); r != errno(unix.EFAULT) {
		t.Errorf("unmapped new limit = %s, want EFAULT", errnoOf(r))
	}
	if l := e.t.tg.rlimits[nofile]; l.cur != 32 || l.max != 200 {
		t.Errorf("NOFILE changed by a failed call: %d/%d", l.cur, l.max)
	}
}

func TestGetrandom(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, 2*pg, protRW, mapAnon|unix.MAP_FIXED)
	tests := []struct {
		name  string
		buf   uint64
		n     uint64
		flags uint64
		want  int64
	}{
		{"no flags", a, 64, 0, 64},
		{"GRND_NONBLOCK", a, 64, grndNonblock, 64},
		{"GRND_RANDOM", a, 64, grndRandom, 64},
		{"GRND_INSECURE", a, 64, grndInsecure, 64},
		{"NONBLOCK|INSECURE", a, 64, grndNonblock | grndInsecure, 64},
		{"RANDOM|INSECURE", a, 64, grndRandom | grndInsecure, errno(unix.EINVAL)},
		{"unknown flag", a, 64, 8, errno(unix.EINVAL)},
		{"high flag bit", a, 64, 1 << 40, errno(unix.EINVAL)},
		{"zero length", a, 0, 0, 0},
		{"kernel buffer", x86.KernelBase, 16, 0, errno(unix.EFAULT)},
		{"unmapped buffer", testBase + 10*pg, 16, 0, errno(unix.EFAULT)},
		{"larger than scratch", a, pg + 100, 0, int64(pg + 100)},
	}
	for _, tc := range tests {
		if r := sysGetrandom(e.t, &args{tc.buf, tc.n, tc.flags}); r != tc.want {
			t.Errorf("%s: getrandom = %s, want %s", tc.name, errnoOf(r), errnoOf(tc.want))
		}
	}
	// The bytes land in guest memory (64 zero bytes from a CSPRNG would
	// be a 2^-512 event).
	e.mustCopyOut(t, a, make([]byte, 64))
	sysGetrandom(e.t, &args{a, 64, 0})
	if bytes.Equal(e.mustCopyIn(t, a, 64), make([]byte, 64)) {
		t.Error("getrandom left the buffer zero")
	}
}

func TestArchPrctl(t *testing.T) {
	e := newTestEnv(t)
	a := e.mustMmap(t, testBase, pg, protRW, mapAnon|unix.MAP_FIXED)
	tests := []struct {
		name       string
		code, addr uint64
		want       int64
	}{
		{"SET_FS kernel address", archSetFS, x86.KernelBase, errno(unix.EPERM)},
		{"SET_FS TASK_SIZE", archSetFS, taskSize, errno(unix.EPERM)},
		{"SET_GS non-canonical", archSetGS, 0x800000000000, errno(unix.EPERM)},
		{"SET_FS user", archSetFS, 0x7f0000001000, 0},
		{"SET_GS user", archSetGS, 0x7f0000002000, 0},
		{"SET_FS last user address", archSetFS, taskSize - 1, 0},
		{"GET_FS unmapped", archGetFS, testBase + 10*pg, errno(unix.EFAULT)},
		{"GET_CPUID", archGetCPUID, 0, 1},
		{"unknown code", 0x1234, 0, errno(unix.EINVAL)},
	}
	for _, tc := range tests {
		e.t.sregsDirty = false
		r := sysArchPrctl(e.t, &args{tc.code, tc.addr})
		if r != tc.want {
			t.Errorf("%s: arch_prctl = %s, want %s", tc.name, errnoOf(r), errnoOf(tc.want))
		}
		if tc.code == archSetFS || tc.code == archSetGS {
			// The return to user mode loads the bases.
			e.k.sregs.FS.Base, e.k.sregs.GS.Base = e.t.ctx.fsBase, e.t.ctx.gsBase
			if e.t.sregsDirty != (r == 0) {
				t.Errorf("%s: sregsDirty = %v after result %s", tc.name, e.t.sregsDirty, errnoOf(r))
			}
		}
	}
	if e.t.ctx.fsBase != taskSize-1 || e.t.ctx.gsBase != 0x7f0000002000 {
		t.Errorf("fsBase %#x gsBase %#x", e.t.ctx.fsBase, e.t.ctx.gsBase)
	}
	// The return to user mode loads the bases into the vCPU.
	e.k.sregs.FS.Base, e.k.sregs.GS.Base = e.t.ctx.fsBase, e.t.ctx.gsBase
	if r := sysArchPrctl(e.t, &args{archGetFS, a}); r != 0 {
		t.Fatalf("GET_FS = %s", errnoOf(r))
	}
	if r := sysArchPrctl(e.t, &args{archGetGS, a + 8}); r != 0 {
		t.Fatalf("GET_GS = %s", errnoOf(r))
	}
	fs, _ := e.mm.readU64(a)
	gs, _ := e.mm.readU64(a + 8)
	if fs != taskSize-1 || gs != 0x7f0000002000 {
		t.Errorf("GET_FS/GET_GS wrote %#x/%#x", fs, gs)
	}
}

func TestUnknownSyscallReportedOnce(t *testing.T) {
	e := newTestEnv(t)
	for i := 0; i < 2; i++ {
		if r := e.k.unknownSyscall(167); r != errno(unix.ENOSYS) {
			t.Errorf("call %d: unknownSyscall = %s, want ENOSYS", i, errnoOf(r))
		}
	}
	lines := strings.Split(strings.TrimSuffix(e.log.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("log has %d lines, want 1:\n%s", len(lines), e.log.String())
	}
	if !strings.Contains(lines[0], "swapon") || !strings.Contains(lines[0], "167") || !strings.Contains(lines[0], "ENOSYS") {
		t.Errorf("log line %q does not name syscall 167 (swapon) and ENOSYS", lines[0])
	}
	// Another number gets its own line, once; a number without a name is
	// named as strace names it (syscall_0x1f4).
	e.k.unknownSyscall(168)
	e.k.unknownSyscall(167)
	e.k.unknownSyscall(500)
	e.k.unknownSyscall(500)
	lines = strings.Split(strings.TrimSuffix(e.log.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "swapoff") || !strings.Contains(lines[2], "syscall_0x1f4") {
		t.Errorf("log after more calls:\n%s", e.log.String())
	}
	if r := e.k.unknownSyscall(1 << 40); r != errno(unix.ENOSYS) {
		t.Errorf("huge syscall number = %s, want ENOSYS", errnoOf(r))
	}
}

func TestSyscallTable(t *testing.T) {
	rows := 0
	for nr, e := range syscallTable {
		if e.fn == nil {
			continue
		}
		rows++
		if name := sysName(uint64(nr)); strings.HasPrefix(name, "syscall_") {
			t.Errorf("syscall %d has a handler but no name", nr)
		}
	}
	if rows < 20 {
		t.Errorf("only %d syscalls in the table", rows)
	}
	for nr, name := range map[uint64]string{0: "read", 1: "write", 9: "mmap", 60: "exit", 231: "exit_group"} {
		if got := sysName(nr); got != name {
			t.Errorf("sysName(%d) = %q, want %q", nr, got, name)
		}
	}
}

func TestIdentitySyscalls(t *testing.T) {
	e := newTestEnv(t)
	// pid 7 as a process (its leader's number), tid 8, parent 3: all
	// in the initial pid namespace.
	ip := e.k.nsw.InitPID
	e.t.pids = []pidLink{{ip, 8}}
	e.t.tg.leader = &Task{pids: []pidLink{{ip, 7}}}
	parent := &Task{pids: []pidLink{{ip, 3}}}
	parent.tg = &threadGroup{leader: parent}
	e.t.parent = parent
	e.t.cred = &cred{uid: 1, euid: 2, gid: 3, egid: 4}
	tests := []struct {
		name string
		fn   sysFunc
		want int64
	}{
		{"getpid", sysGetpid, 7}, {"gettid", sysGettid, 8}, {"getppid", sysGetppid, 3},
		{"getuid", sysGetuid, 1}, {"geteuid", sysGeteuid, 2}, {"getgid", sysGetgid, 3}, {"getegid", sysGetegid, 4},
	}
	for _, tc := range tests {
		if r := tc.fn(e.t, &args{}); r != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, r, tc.want)
		}
	}
}
