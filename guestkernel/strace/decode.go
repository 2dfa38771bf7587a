package strace

import (
	"fmt"
	"strings"
)

// A decoder prints a syscall's arguments. It is called at entry, where
// it prints what the caller passes in and returns true when that is all
// (strace's RVAL_DECODED); otherwise it is called again at exit
// (c.exiting) to print what the kernel wrote back. It may set c.rv and
// c.aux to say how the result prints.
type decoder func(c *call) bool

// sysent is one row of the syscall table.
type sysent struct {
	nargs int
	dec   decoder
}

// lookup returns the row of syscall nr: a number with no decoder prints
// its arguments in hex (strace's printargs), six of them when Linux does
// not know the number.
func lookup(nr uint64) *sysent {
	if nr < uint64(len(sysents)) && sysents[nr].dec != nil {
		return &sysents[nr]
	}
	n := 6
	if nr < uint64(len(sysents)) && nr < uint64(len(sysNames)) && sysNames[nr] != "" {
		n = sysents[nr].nargs
	}
	return &sysent{n, printargs(n)}
}

func printargs(n int) decoder {
	return func(c *call) bool {
		for i := 0; i < n; i++ {
			if i > 0 {
				c.sep()
			}
			c.hex(c.a[i])
		}
		return true
	}
}

// An argf prints one argument.
type argf func(c *call, v uint64)

// args is the decoder of a syscall whose arguments are all inputs.
func args(fs ...argf) decoder {
	return func(c *call) bool {
		for i, f := range fs {
			if i > 0 {
				c.sep()
			}
			f(c, c.a[i])
		}
		return true
	}
}

// ret sets how the result of d's syscall prints.
func ret(rv rval, d decoder) decoder {
	return func(c *call) bool {
		c.rv = rv
		return d(c)
	}
}

var (
	aInt   argf = (*call).int
	aLong  argf = (*call).long
	aULong argf = (*call).ulong
	aHex   argf = (*call).hex
	aAddr  argf = (*call).addr
	aFd    argf = (*call).fd
	aDirfd argf = (*call).dirfd
	aPath  argf = (*call).path
	aStr   argf = (*call).str
	aSig   argf = (*call).sig
	aMode  argf = (*call).mode
	aID    argf = (*call).id
	aUInt  argf = func(c *call, v uint64) { c.printf("%d", uint32(v)) }
	aOpen  argf = func(c *call, v uint64) { c.puts(openModes(v)) }
	aProt  argf = func(c *call, v uint64) { c.flags(mmapProt, v, "PROT_???") }
)

func aF(x xlat, dflt string) argf { return func(c *call, v uint64) { c.flags(x, v, dflt) } }

// aX32 and aF32 are aX and aF of an int argument.
func aX32(x xlat, dflt string) argf {
	return func(c *call, v uint64) { c.xval(x, uint64(uint32(v)), dflt) }
}
func aF32(x xlat, dflt string) argf {
	return func(c *call, v uint64) { c.flags(x, uint64(uint32(v)), dflt) }
}

// aBuf prints the buffer of the argument, whose length is argument n.
func aBuf(n int) argf { return func(c *call, v uint64) { c.buf(v, c.a[n]) } }

// aTimespec prints a struct timespec the caller passes in.
var aTimespec argf = (*call).timespec

// openModes renders open flags: the access mode, then the other flags.
func openModes(v uint64) string {
	v = uint64(uint32(v))
	s := openAccModes.val(v&3, "")
	if rest := v &^ 3; rest != 0 {
		s += "|" + openFlags.flags(rest, "")
	}
	return s
}

// --- files -----------------------------------------------------------------

func decRead(c *call) bool {
	if !c.exiting {
		c.fd(c.a[0])
		c.sep()
		return false
	}
	c.written(c.a[1], func() { c.buf(c.a[1], uint64(c.ret)) })
	c.sep()
	c.ulong(c.a[2])
	return true
}

func decPread(c *call) bool {
	if !c.exiting {
		c.fd(c.a[0])
		c.sep()
		return false
	}
	decRead(c)
	c.sep()
	c.long(c.a[3])
	return true
}

func decOpen(c *call) bool {
	i := 0
	if c.nr == 257 { // openat
		c.dirfd(c.a[0])
		c.sep()
		i = 1
	}
	c.path(c.a[i])
	c.sep()
	c.puts(openModes(c.a[i+1]))
	if c.a[i+1]&(oCreat|oTmpfile) != 0 {
		c.sep()
		c.mode(c.a[i+2])
	}
	return true
}

// iov prints an iovec array of n elements; each buffer prints up to
// limit bytes in all (limit < 0: each in full).
func (c *call) iov(addr, n uint64, limit int64) {
	if addr == 0 {
		c.puts("NULL")
		return
	}
	if n > 1024 {
		c.hex(addr)
		return
	}
	b, ok := c.read(addr, int(16*n))
	if !ok {
		c.hex(addr)
		return
	}
	c.puts("[")
	for i := uint64(0); i < n; i++ {
		if i > 0 {
			c.sep()
		}
		if i == maxStrlen {
			c.puts("...")
			break
		}
		base, l := le.Uint64(b[16*i:]), le.Uint64(b[16*i+8:])
		c.puts("{iov_base=")
		show := l
		if limit >= 0 {
			show = min(l, uint64(limit))
			limit -= int64(show)
		}
		c.buf(base, show)
		c.printf(", iov_len=%d}", l)
	}
	c.puts("]")
}

func decReadv(c *call) bool {
	if !c.exiting {
		c.fd(c.a[0])
		c.sep()
		return false
	}
	c.written(c.a[1], func() { c.iov(c.a[1], c.a[2], c.ret) })
	c.sep()
	c.printf("%d", uint64(c.a[2]))
	if c.nr == 295 || c.nr == 327 { // preadv, preadv2
		c.sep()
		c.long(c.a[3])
	}
	return true
}

func decWritev(c *call) bool {
	c.fd(c.a[0])
	c.sep()
	c.iov(c.a[1], c.a[2], -1)
	c.sep()
	c.printf("%d", uint64(c.a[2]))
	if c.nr == 296 || c.nr == 328 { // pwritev, pwritev2
		c.sep()
		c.long(c.a[3])
	}
	return true
}

// stat prints a struct stat the abbreviated way:
// {st_mode=S_IFREG|0644, st_size=120, ...}.
func (c *call) stat(addr uint64) {
	b, ok := c.read(addr, 144)
	if !ok || c.failed() {
		c.addr(addr)
		return
	}
	mode := le.Uint32(b[24:])
	c.puts("{st_mode=")
	c.puts(modeString(mode))
	typ := mode & 0o170000
	if typ == 0o20000 || typ == 0o60000 {
		rdev := le.Uint64(b[40:])
		c.printf(", st_rdev=makedev(%s, %s)", hex(rdev>>8&0xfff|rdev>>32&^0xfff), hex(rdev&0xff|rdev>>12&^0xff))
	} else {
		c.printf(", st_size=%d", int64(le.Uint64(b[48:])))
	}
	c.puts(", ...}")
}

// modeString renders st_mode: S_IFREG|0644.
func modeString(mode uint32) string {
	var s strings.Builder
	if t, ok := fileTypes.lookup(uint64(mode & 0o170000)); ok {
		s.WriteString(t + "|")
	} else if mode&0o170000 != 0 {
		s.WriteString(fmt.Sprintf("%#o|", mode&0o170000))
	}
	for _, b := range []struct {
		bit  uint32
		name string
	}{{0o4000, "S_ISUID|"}, {0o2000, "S_ISGID|"}, {0o1000, "S_ISVTX|"}} {
		if mode&b.bit != 0 {
			s.WriteString(b.name)
		}
	}
	fmt.Fprintf(&s, "%#o", mode&0o777)
	return s.String()
}

func decStat(c *call) bool { // stat, lstat: path, buf
	if !c.exiting {
		c.path(c.a[0])
		c.sep()
		return false
	}
	c.stat(c.a[1])
	return true
}

func decFstat(c *call) bool {
	if !c.exiting {
		c.fd(c.a[0])
		c.sep()
		return false
	}
	c.stat(c.a[1])
	return true
}

func decNewfstatat(c *call) bool {
	if !c.exiting {
		c.dirfd(c.a[0])
		c.sep()
		c.path(c.a[1])
		c.sep()
		return false
	}
	c.stat(c.a[2])
	c.sep()
	c.flags(atFlags, uint64(uint32(c.a[3])), "AT_???")
	return true
}

func decReadlink(c *call) bool {
	i := 0
	if c.nr == 267 { // readlinkat
		i = 1
	}
	if !c.exiting {
		if i == 1 {
			c.dirfd(c.a[0])
			c.sep()
		}
		c.path(c.a[i])
		c.sep()
		return false
	}
	c.written(c.a[i+1], func() { c.buf(c.a[i+1], uint64(c.ret)) })
	c.sep()
	c.ulong(c.a[i+2])
	return true
}

func decGetcwd(c *call) bool {
	if !c.exiting {
		return false
	}
	c.written(c.a[0], func() { c.buf(c.a[0], uint64(c.ret)-1) })
	c.sep()
	c.ulong(c.a[1])
	return true
}

func decPipe(c *call) bool {
	if !c.exiting {
		return false
	}
	c.written(c.a[0], func() { c.intArray(c.a[0], 2) })
	if c.nr == 293 { // pipe2
		c.sep()
		c.flags(pipeFlags, uint64(uint32(c.a[1])), "O_???")
	}
	return true
}

func decLseek(c *call) bool {
	c.fd(c.a[0])
	c.sep()
	c.long(c.a[1])
	c.sep()
	c.xval(whenceCodes, uint64(uint32(c.a[2])), "SEEK_???")
	return true
}

// ioctlName renders an ioctl request: its name, or strace's _IOC(...)
// decomposition.
func ioctlName(cmd uint32) string {
	if s, ok := ioctlCmds.lookup(uint64(cmd)); ok {
		return s
	}
	dir := xlat{{0, "_IOC_NONE"}, {1, "_IOC_WRITE"}, {2, "_IOC_READ"}}.flags(uint64(cmd>>30), "")
	if cmd>>30 == 3 {
		dir = "_IOC_READ|_IOC_WRITE"
	}
	return fmt.Sprintf("_IOC(%s, %s, %s, %s)", dir, hex(uint64(cmd>>8&0xff)), hex(uint64(cmd&0xff)), hex(uint64(cmd>>16&0x3fff)))
}

func decIoctl(c *call) bool {
	cmd := uint32(c.a[1])
	if !c.exiting {
		c.fd(c.a[0])
		c.sep()
		c.puts(ioctlName(cmd))
		switch cmd {
		case 0x5451, 0x5450: // FIOCLEX, FIONCLEX: no argument
			return true
		}
		c.sep()
		switch cmd {
		case 0x5401, 0x5413, 0x541b, 0x80045430, 0x540f: // the kernel writes: TCGETS, TIOCGWINSZ, FIONREAD, TIOCGPTN, TIOCGPGRP
			return false
		case 0x5414: // TIOCSWINSZ
			c.winsize(c.a[2])
		case 0x5421, 0x5452, 0x40045431, 0x5410: // FIONBIO, FIOASYNC, TIOCSPTLCK, TIOCSPGRP
			c.intPtr(c.a[2])
		case 0x5402, 0x5403, 0x5404: // TCSETS*
			c.termios(c.a[2])
		default:
			c.hex(c.a[2])
		}
		return true
	}
	if c.failed() {
		c.addr(c.a[2])
		return true
	}
	switch cmd {
	case 0x5413:
		c.winsize(c.a[2])
	case 0x5401:
		c.termios(c.a[2])
	default:
		c.intPtr(c.a[2])
	}
	return true
}

func (c *call) winsize(addr uint64) {
	b, ok := c.read(addr, 8)
	if !ok {
		c.addr(addr)
		return
	}
	c.printf("{ws_row=%d, ws_col=%d, ws_xpixel=%d, ws_ypixel=%d}",
		le.Uint16(b), le.Uint16(b[2:]), le.Uint16(b[4:]), le.Uint16(b[6:]))
}

// termios prints a struct termios the way strace abbreviates it.
func (c *call) termios(addr uint64) {
	b, ok := c.read(addr, 36)
	if !ok {
		c.addr(addr)
		return
	}
	ifl, ofl, cfl, lfl := le.Uint32(b), le.Uint32(b[4:]), le.Uint32(b[8:]), le.Uint32(b[12:])
	c.printf("{c_iflag=%s, c_oflag=%s, c_cflag=%s, c_lflag=%s, ...}",
		termIflags.flags(uint64(ifl), ""), termOflags(ofl), termCflags(cfl), termLflags.flags(uint64(lfl), ""))
}

func decFcntl(c *call) bool {
	cmd := uint64(uint32(c.a[1]))
	c.fd(c.a[0])
	c.sep()
	c.xval(fcntlCmds, cmd, "F_???")
	switch cmd {
	case 1, 3: // F_GETFD, F_GETFL: see finish
	case 9, 11, 1025, 1032, 1034: // F_GETOWN, F_GETSIG, F_GETLEASE, F_GETPIPE_SZ, F_GET_SEALS
	case 0, 1030, 8, 1031: // F_DUPFD, F_DUPFD_CLOEXEC, F_SETOWN, F_SETPIPE_SZ
		c.sep()
		c.int(c.a[2])
	case 2: // F_SETFD
		c.sep()
		c.flags(fdFlags, c.a[2], "FD_???")
	case 4: // F_SETFL
		c.sep()
		c.puts(openModes(c.a[2]))
	case 10: // F_SETSIG
		c.sep()
		c.sig(c.a[2])
	default:
		c.sep()
		c.addr(c.a[2])
	}
	return true
}

// finish adjusts how the result prints once it is known: F_GETFD and
// F_GETFL print their flags after the value, PR_GET_DUMPABLE its name.
func (c *call) finish() {
	if c.failed() {
		return
	}
	switch c.nr {
	case 72: // fcntl
		switch uint32(c.a[1]) {
		case 1:
			if c.ret != 0 {
				c.rv, c.aux = rvHex, "flags "+fdFlags.flags(uint64(c.ret), "FD_???")
			}
		case 3:
			c.rv, c.aux = rvHex, "flags "+openModes(uint64(c.ret))
		}
	case 157: // prctl
		if uint32(c.a[0]) == 3 {
			c.aux = dumpableValues.val(uint64(c.ret), "SUID_DUMP_???")
		}
	}
}

func decDup3(c *call) bool {
	c.fd(c.a[0])
	c.sep()
	c.fd(c.a[1])
	c.sep()
	c.flags(dup3Flags, uint64(uint32(c.a[2])), "O_???")
	return true
}

// --- memory ----------------------------------------------------------------

func decMmap(c *call) bool {
	c.rv = rvHex
	c.addr(c.a[0])
	c.sep()
	c.ulong(c.a[1])
	c.sep()
	c.flags(mmapProt, c.a[2], "PROT_???")
	c.sep()
	c.puts(mmapFlagsString(uint32(c.a[3])))
	c.sep()
	c.fd(c.a[4])
	c.sep()
	c.hex(c.a[5])
	return true
}

func mmapFlagsString(f uint32) string {
	s := mmapTypes.val(uint64(f&0xf), "MAP_???")
	f &^= 0xf
	huge := f & (0x3f << 26)
	f &^= huge
	if f != 0 {
		s += "|" + mmapFlags.flags(uint64(f), "")
	}
	if huge != 0 {
		s += fmt.Sprintf("|%d<<MAP_HUGE_SHIFT", huge>>26)
	}
	return s
}

var decMprotect = args(aAddr, aULong, aProt)

// --- signals ---------------------------------------------------------------

// sigaction prints a struct kernel_sigaction.
func (c *call) sigaction(addr uint64) {
	if addr == 0 {
		c.puts("NULL")
		return
	}
	b, ok := c.read(addr, 32)
	if !ok || c.exiting && c.failed() {
		c.hex(addr)
		return
	}
	h, flags, restorer := le.Uint64(b), le.Uint64(b[8:]), le.Uint64(b[16:])
	c.puts("{sa_handler=")
	switch h {
	case 0:
		c.puts("SIG_DFL")
	case 1:
		c.puts("SIG_IGN")
	default:
		c.hex(h)
	}
	c.puts(", sa_mask=")
	c.puts(sprintSigset(b[24:32]))
	c.puts(", sa_flags=")
	c.flags(sigactFlags, flags, "SA_???")
	if flags&saRestorer != 0 {
		c.puts(", sa_restorer=")
		c.hex(restorer)
	}
	c.puts("}")
}

func decRtSigaction(c *call) bool {
	if !c.exiting {
		c.sig(c.a[0])
		c.sep()
		c.sigaction(c.a[1])
		c.sep()
		return false
	}
	c.sigaction(c.a[2])
	c.sep()
	c.ulong(c.a[3])
	return true
}

func decRtSigprocmask(c *call) bool {
	if !c.exiting {
		c.xval(sigprocmaskCmds, uint64(uint32(c.a[0])), "SIG_???")
		c.sep()
		c.sigset(c.a[1], c.a[3])
		c.sep()
		return false
	}
	c.written(c.a[2], func() { c.sigset(c.a[2], c.a[3]) })
	c.sep()
	c.ulong(c.a[3])
	return true
}

func decRtSigpending(c *call) bool {
	if !c.exiting {
		return false
	}
	c.written(c.a[0], func() { c.sigset(c.a[0], c.a[1]) })
	c.sep()
	c.ulong(c.a[1])
	return true
}

// decRtSigreturn prints the mask the signal frame restores: the
// ucontext's uc_sigmask, at the user stack pointer (the handler's return
// popped the frame's return address) plus 296.
func decRtSigreturn(c *call) bool {
	c.puts("{mask=")
	b, ok := c.read(c.sp+296, 8)
	if ok {
		c.puts(sprintSigset(b))
	} else {
		c.hex(c.sp + 296)
	}
	c.puts("}")
	return true
}

func (c *call) stack(addr uint64) {
	if addr == 0 {
		c.puts("NULL")
		return
	}
	b, ok := c.read(addr, 24)
	if !ok || c.exiting && c.failed() {
		c.hex(addr)
		return
	}
	c.puts("{ss_sp=")
	c.addr(le.Uint64(b))
	c.puts(", ss_flags=")
	c.flags(sigaltstackFlags, uint64(le.Uint32(b[8:])), "SS_???")
	c.printf(", ss_size=%d}", le.Uint64(b[16:]))
}

func decSigaltstack(c *call) bool {
	if !c.exiting {
		c.stack(c.a[0])
		c.sep()
		return false
	}
	c.stack(c.a[1])
	return true
}

func decRtSigsuspend(c *call) bool {
	c.sigset(c.a[0], c.a[1])
	c.sep()
	c.ulong(c.a[1])
	return true
}

// --- processes -------------------------------------------------------------

func (c *call) cloneFlagsString(f uint64) string {
	sig := f & 0xff
	f &^= 0xff
	var s string
	if f != 0 {
		s = cloneFlags.flags(f, "CLONE_???")
	}
	if sig != 0 {
		if s != "" {
			s += "|"
		}
		s += signame(int(sig))
	}
	if s == "" {
		s = "0"
	}
	return s
}

// decClone: x86-64's clone(flags, stack, parent_tid, child_tid, tls).
func decClone(c *call) bool {
	f := c.a[0]
	if !c.exiting {
		c.puts("child_stack=")
		c.addr(c.a[1])
		c.puts(", flags=")
		c.puts(c.cloneFlagsString(f))
		return f&(cloneParentSetid|cloneChildSetid|cloneChildClear|cloneSettls|clonePidfd) == 0
	}
	if f&(cloneParentSetid|clonePidfd) != 0 {
		c.puts(", parent_tid=")
		c.intPtr(c.a[2])
	}
	if f&(cloneChildSetid|cloneChildClear) != 0 {
		c.puts(", child_tidptr=")
		c.addr(c.a[3])
	}
	if f&cloneSettls != 0 {
		c.puts(", tls=")
		c.addr(c.a[4])
	}
	return true
}

func decClone3(c *call) bool {
	size := c.a[1]
	b, ok := c.read(c.a[0], int(min(size, 88)))
	if !c.exiting {
		if !ok || size < 64 {
			c.addr(c.a[0])
			c.sep()
			c.ulong(size)
			return true
		}
		u := func(i int) uint64 { return le.Uint64(b[8*i:]) }
		f := u(0)
		c.puts("{flags=")
		c.flags(clone3Flags, f, "CLONE_???")
		if f&clonePidfd != 0 {
			c.puts(", pidfd=")
			c.addr(u(1))
		}
		if f&(cloneChildSetid|cloneChildClear) != 0 {
			c.puts(", child_tid=")
			c.addr(u(2))
		}
		if f&cloneParentSetid != 0 {
			c.puts(", parent_tid=")
			c.addr(u(3))
		}
		c.puts(", exit_signal=")
		if u(4) == 0 {
			c.puts("0")
		} else {
			c.sig(u(4))
		}
		c.puts(", stack=")
		c.addr(u(5))
		c.puts(", stack_size=")
		c.hex(u(6))
		if f&cloneSettls != 0 {
			c.puts(", tls=")
			c.addr(u(7))
		}
		c.puts("}")
		if f&(cloneParentSetid|clonePidfd) != 0 {
			return false
		}
		c.sep()
		c.ulong(size)
		return true
	}
	if ok && !c.failed() {
		u := func(i int) uint64 { return le.Uint64(b[8*i:]) }
		f := u(0)
		c.puts(" => {")
		if f&clonePidfd != 0 {
			c.puts("pidfd=")
			c.intPtr(u(1))
		}
		if f&cloneParentSetid != 0 {
			if f&clonePidfd != 0 {
				c.sep()
			}
			c.puts("parent_tid=")
			c.intPtr(u(3))
		}
		c.puts("}")
	}
	c.sep()
	c.ulong(size)
	return true
}

// waitStatus renders a wait status as strace's printstatus does.
func waitStatus(st uint32) string {
	var s string
	switch {
	case st&0xff == 0x7f:
		sig := st >> 8 & 0xff
		s = "[{WIFSTOPPED(s) && WSTOPSIG(s) == " + signame(int(sig&0x7f))
		if sig&0x80 != 0 {
			s += " | 0x80"
		}
		s += "}"
		st &^= sig<<8 | 0x7f
	case st&0x7f != 0 && st&0x7f != 0x7f:
		s = "[{WIFSIGNALED(s) && WTERMSIG(s) == " + signame(int(st&0x7f))
		if st&0x80 != 0 {
			s += " && WCOREDUMP(s)"
		}
		s += "}"
		st &^= 0xff
	case st&0x7f == 0:
		s = fmt.Sprintf("[{WIFEXITED(s) && WEXITSTATUS(s) == %d}", st>>8&0xff)
		st &^= 0xff00
	case st == 0xffff:
		s = "[{WIFCONTINUED(s)}"
		st = 0
	default:
		return fmt.Sprintf("[%#x]", st)
	}
	if ev := st >> 16; ev != 0 {
		s += fmt.Sprintf(" | %s << 16", hex(uint64(ev)))
		st &= 0xffff
	}
	if st != 0 {
		s += " | " + hex(uint64(st))
	}
	return s + "]"
}

func decWait4(c *call) bool {
	if !c.exiting {
		c.int(c.a[0])
		c.sep()
		return false
	}
	st := c.a[1]
	if st == 0 || c.failed() || c.ret == 0 {
		c.addr(st)
	} else if v, ok := c.u32(st); ok {
		c.puts(waitStatus(v))
	} else {
		c.hex(st)
	}
	c.sep()
	c.flags(waitOptions, uint64(uint32(c.a[2])), "W???")
	c.sep()
	c.addr(c.a[3])
	return true
}

// siginfo reads a siginfo_t the kernel wrote (waitid).
func (c *call) siginfo(addr uint64) {
	b, ok := c.read(addr, 128)
	if !ok || c.failed() {
		c.addr(addr)
		return
	}
	si := Siginfo{Signo: int32(le.Uint32(b)), Code: int32(le.Uint32(b[8:]))}
	if si.Signo == 0 {
		c.puts("{}")
		return
	}
	si.Pid, si.UID, si.Status = le.Uint32(b[16:]), le.Uint32(b[20:]), int32(le.Uint32(b[24:]))
	si.Utime, si.Stime = int64(le.Uint64(b[32:])), int64(le.Uint64(b[40:]))
	si.Addr = le.Uint64(b[16:])
	c.puts(si.String())
}

func decWaitid(c *call) bool {
	if !c.exiting {
		c.xval(waitidTypes, uint64(uint32(c.a[0])), "P_???")
		c.sep()
		c.int(c.a[1])
		c.sep()
		return false
	}
	c.siginfo(c.a[2])
	c.sep()
	c.flags(waitOptions, uint64(uint32(c.a[3])), "W???")
	c.sep()
	c.addr(c.a[4])
	return true
}

func decExecve(c *call) bool {
	i := 0
	if c.nr == 322 { // execveat
		c.dirfd(c.a[0])
		c.sep()
		i = 1
	}
	c.path(c.a[i])
	c.sep()
	c.strArray(c.a[i+1])
	c.sep()
	// The environment: its address and how many variables.
	n, ok := c.countArray(c.a[i+2])
	c.addr(c.a[i+2])
	if ok && c.a[i+2] != 0 {
		s := "s"
		if n == 1 {
			s = ""
		}
		c.printf(" /* %d var%s */", n, s)
	}
	if i == 1 {
		c.sep()
		c.flags(atFlags, uint64(uint32(c.a[4])), "AT_???")
	}
	return true
}

func (c *call) countArray(addr uint64) (int, bool) {
	for n := 0; n < 1<<16; n++ {
		p, ok := c.u64(addr + 8*uint64(n))
		if !ok {
			return 0, false
		}
		if p == 0 {
			return n, true
		}
	}
	return 0, false
}

func (c *call) strArray(addr uint64) {
	if addr == 0 {
		c.puts("NULL")
		return
	}
	if _, ok := c.u64(addr); !ok {
		c.hex(addr)
		return
	}
	c.puts("[")
	for n := 0; ; n++ {
		p, ok := c.u64(addr + 8*uint64(n))
		if !ok || p == 0 {
			break
		}
		if n > 0 {
			c.sep()
		}
		if n == maxStrlen {
			c.puts("...")
			break
		}
		c.str(p)
	}
	c.puts("]")
}

func decUname(c *call) bool {
	if !c.exiting {
		return false
	}
	b, ok := c.read(c.a[0], 390)
	if !ok || c.failed() {
		c.addr(c.a[0])
		return true
	}
	field := func(i int) string {
		f := b[65*i : 65*i+65]
		if j := strings.IndexByte(string(f), 0); j >= 0 {
			f = f[:j]
		}
		return quote(f, false)
	}
	c.printf("{sysname=%s, nodename=%s, ...}", field(0), field(1))
	return true
}

func (c *call) rlimit(addr uint64) {
	if addr == 0 {
		c.puts("NULL")
		return
	}
	b, ok := c.read(addr, 16)
	if !ok || c.exiting && c.failed() {
		c.hex(addr)
		return
	}
	lim := func(v uint64) string {
		switch {
		case v == ^uint64(0):
			return "RLIM64_INFINITY"
		case v > 1024 && v%1024 == 0:
			return fmt.Sprintf("%d*1024", v/1024)
		}
		return fmt.Sprintf("%d", v)
	}
	c.printf("{rlim_cur=%s, rlim_max=%s}", lim(le.Uint64(b)), lim(le.Uint64(b[8:])))
}

func decGetrlimit(c *call) bool {
	if !c.exiting {
		c.xval(resources, uint64(uint32(c.a[0])), "RLIMIT_???")
		c.sep()
		return false
	}
	c.rlimit(c.a[1])
	return true
}

func decSetrlimit(c *call) bool {
	c.xval(resources, uint64(uint32(c.a[0])), "RLIMIT_???")
	c.sep()
	c.rlimit(c.a[1])
	return true
}

func decPrlimit64(c *call) bool {
	if !c.exiting {
		c.int(c.a[0])
		c.sep()
		c.xval(resources, uint64(uint32(c.a[1])), "RLIMIT_???")
		c.sep()
		c.rlimit(c.a[2])
		c.sep()
		return false
	}
	c.rlimit(c.a[3])
	return true
}

// decIDs3: getresuid/getresgid, which return three ids.
func decIDs3(c *call) bool {
	if !c.exiting {
		return false
	}
	for i := 0; i < 3; i++ {
		if i > 0 {
			c.sep()
		}
		c.written(c.a[i], func() { c.idPtr(c.a[i]) })
	}
	return true
}

func (c *call) gidList(addr uint64, n int) {
	if n < 0 || n > 65536 {
		c.hex(addr)
		return
	}
	b, ok := c.read(addr, 4*n)
	if !ok {
		c.addr(addr)
		return
	}
	c.puts("[")
	for i := 0; i < n; i++ {
		if i > 0 {
			c.sep()
		}
		if i == maxStrlen {
			c.puts("...")
			break
		}
		c.id(uint64(le.Uint32(b[4*i:])))
	}
	c.puts("]")
}

func decGetgroups(c *call) bool {
	if !c.exiting {
		c.int(c.a[0])
		c.sep()
		return false
	}
	if c.failed() || int32(c.a[0]) == 0 {
		c.addr(c.a[1])
	} else {
		c.gidList(c.a[1], int(c.ret))
	}
	return true
}

func decSetgroups(c *call) bool {
	c.int(c.a[0])
	c.sep()
	if int32(c.a[0]) == 0 {
		c.addr(c.a[1])
	} else {
		c.gidList(c.a[1], int(int32(c.a[0])))
	}
	return true
}

func (c *call) capHeader(addr uint64) {
	b, ok := c.read(addr, 8)
	if !ok {
		c.addr(addr)
		return
	}
	c.puts("{version=")
	c.xval(capVersions, uint64(le.Uint32(b)), "_LINUX_CAPABILITY_VERSION_???")
	c.printf(", pid=%d}", int32(le.Uint32(b[4:])))
}

func capBits(lo, hi uint32) string {
	var parts []string
	for i := 0; i < 64; i++ {
		w := lo
		if i >= 32 {
			w = hi
		}
		if w&(1<<(i%32)) == 0 {
			continue
		}
		if i < len(capNames) {
			parts = append(parts, "1<<"+capNames[i])
		} else {
			parts = append(parts, fmt.Sprintf("1<<%d", i))
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "|")
}

func (c *call) capData(addr uint64) {
	b, ok := c.read(addr, 24)
	if !ok || c.exiting && c.failed() {
		c.addr(addr)
		return
	}
	w := func(i int) uint32 { return le.Uint32(b[4*i:]) }
	c.printf("{effective=%s, permitted=%s, inheritable=%s}",
		capBits(w(0), w(3)), capBits(w(1), w(4)), capBits(w(2), w(5)))
}

func decCapget(c *call) bool {
	if !c.exiting {
		c.capHeader(c.a[0])
		c.sep()
		return false
	}
	c.capData(c.a[1])
	return true
}

func decCapset(c *call) bool {
	c.capHeader(c.a[0])
	c.sep()
	c.capData(c.a[1])
	return true
}

func decPrctl(c *call) bool {
	op := uint64(uint32(c.a[0]))
	if !c.exiting {
		c.xval(prctlOptions, op, "PR_???")
		switch op {
		case 3, 7, 21, 37, 39, 42: // PR_GET_DUMPABLE, PR_GET_KEEPCAPS, ...: no argument
			return true
		case 1: // PR_SET_PDEATHSIG
			c.sep()
			c.sig(c.a[1])
			return true
		case 4: // PR_SET_DUMPABLE
			c.sep()
			c.xval(dumpableValues, c.a[1], "SUID_DUMP_???")
			return true
		case 8, 36, 38: // PR_SET_KEEPCAPS, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS
			c.sep()
			c.ulong(c.a[1])
			if op == 38 {
				for i := 2; i < 5; i++ {
					c.sep()
					c.ulong(c.a[i])
				}
			}
			return true
		case 15: // PR_SET_NAME
			c.sep()
			c.commName(c.a[1])
			return true
		case 2, 16: // PR_GET_PDEATHSIG, PR_GET_NAME: written back
			c.sep()
			return false
		}
		for i := 1; i < 5; i++ {
			c.sep()
			c.hex(c.a[i])
		}
		return true
	}
	switch {
	case c.failed():
		c.addr(c.a[1])
	case op == 2:
		c.intPtr(c.a[1])
	default:
		c.commName(c.a[1])
	}
	return true
}

// commName prints a task name (at most 16 bytes with its NUL).
func (c *call) commName(addr uint64) {
	s, term, ok := c.readStr(addr, 16)
	if !ok {
		c.addr(addr)
		return
	}
	c.puts(quote(s, false))
	if !term {
		c.puts("...")
	}
}

func decArchPrctl(c *call) bool {
	code := uint64(uint32(c.a[0]))
	if !c.exiting {
		c.xval(archPrctlCodes, code, "ARCH_???")
		c.sep()
		if code == 0x1003 || code == 0x1004 { // ARCH_GET_FS, ARCH_GET_GS
			return false
		}
		c.hex(c.a[1])
		return true
	}
	if v, ok := c.u64(c.a[1]); ok && !c.failed() {
		c.printf("[%s]", hex(v))
	} else {
		c.addr(c.a[1])
	}
	return true
}

// --- time ------------------------------------------------------------------

func decNanosleep(c *call) bool {
	if !c.exiting {
		c.timespec(c.a[0])
		c.sep()
		return false
	}
	c.rem(c.a[1])
	return true
}

// rem prints the remaining time a sleep that a signal interrupted wrote
// back, or the pointer.
func (c *call) rem(addr uint64) {
	if c.failed() && (c.ret == -4 || c.ret == -ERESTARTRESTARTBLOCK) {
		c.timespec(addr)
		return
	}
	c.addr(addr)
}

func decClockNanosleep(c *call) bool {
	if !c.exiting {
		c.xval(clockNames, uint64(uint32(c.a[0])), "CLOCK_???")
		c.sep()
		c.flags(timerFlags, uint64(uint32(c.a[1])), "TIMER_???")
		c.sep()
		c.timespec(c.a[2])
		c.sep()
		return false
	}
	if uint32(c.a[1])&1 != 0 { // TIMER_ABSTIME: nothing written back
		c.addr(c.a[3])
	} else {
		c.rem(c.a[3])
	}
	return true
}

func decClockGettime(c *call) bool {
	if !c.exiting {
		c.xval(clockNames, uint64(uint32(c.a[0])), "CLOCK_???")
		c.sep()
		return false
	}
	c.written(c.a[1], func() { c.timespec(c.a[1]) })
	return true
}

func decGettimeofday(c *call) bool {
	if !c.exiting {
		return false
	}
	c.written(c.a[0], func() { c.timeval(c.a[0]) })
	c.sep()
	if b, ok := c.read(c.a[1], 8); ok && !c.failed() {
		c.printf("{tz_minuteswest=%d, tz_dsttime=%d}", int32(le.Uint32(b)), int32(le.Uint32(b[4:])))
	} else {
		c.addr(c.a[1])
	}
	return true
}

func decTime(c *call) bool {
	if !c.exiting {
		return false
	}
	if c.a[0] == 0 {
		c.puts("NULL")
	} else if v, ok := c.u64(c.a[0]); ok && !c.failed() {
		c.printf("[%d /* %s */]", int64(v), date(int64(v)))
	} else {
		c.addr(c.a[0])
	}
	if !c.failed() {
		c.aux = date(c.ret)
	}
	return true
}

func decSysinfo(c *call) bool {
	if !c.exiting {
		return false
	}
	b, ok := c.read(c.a[0], 112)
	if !ok || c.failed() {
		c.addr(c.a[0])
		return true
	}
	u := func(off int) uint64 { return le.Uint64(b[off:]) }
	c.printf("{uptime=%d, loads=[%d, %d, %d], totalram=%d, freeram=%d, sharedram=%d, bufferram=%d, totalswap=%d, freeswap=%d, procs=%d, totalhigh=%d, freehigh=%d, mem_unit=%d}",
		int64(u(0)), u(8), u(16), u(24), u(32), u(40), u(48), u(56), u(64), u(72), le.Uint16(b[80:]), u(88), u(96), le.Uint32(b[104:]))
	return true
}

// --- futexes and threads ---------------------------------------------------

func decFutex(c *call) bool {
	op := uint32(c.a[1])
	cmd := uint64(op & 127)
	c.addr(c.a[0])
	c.sep()
	name, ok := futexOps.lookup(cmd)
	if !ok {
		c.puts(withComment(hex(uint64(op)), "FUTEX_???"))
	} else {
		if op&futexPrivate != 0 {
			name += "_PRIVATE"
		}
		if op&futexRealtime != 0 {
			name += "|FUTEX_CLOCK_REALTIME"
		}
		if rest := op &^ (127 | futexPrivate | futexRealtime); rest != 0 {
			name += "|" + hex(uint64(rest))
		}
		c.puts(name)
	}
	val := func() { c.sep(); c.printf("%d", uint32(c.a[2])) }
	timeout := func() { c.sep(); c.timespec(c.a[3]) }
	bitset := func() {
		c.sep()
		if uint32(c.a[5]) == ^uint32(0) {
			c.puts("FUTEX_BITSET_MATCH_ANY")
		} else {
			c.hex(uint64(uint32(c.a[5])))
		}
	}
	switch cmd {
	case 0: // FUTEX_WAIT
		val()
		timeout()
	case 9: // FUTEX_WAIT_BITSET
		val()
		timeout()
		bitset()
	case 1: // FUTEX_WAKE
		val()
	case 10: // FUTEX_WAKE_BITSET
		val()
		bitset()
	case 3: // FUTEX_REQUEUE
		val()
		c.sep()
		c.printf("%d", uint32(c.a[3]))
		c.sep()
		c.addr(c.a[4])
	case 4: // FUTEX_CMP_REQUEUE
		val()
		c.sep()
		c.printf("%d", uint32(c.a[3]))
		c.sep()
		c.addr(c.a[4])
		c.sep()
		c.printf("%d", uint32(c.a[5]))
	case 6, 13: // FUTEX_LOCK_PI, FUTEX_LOCK_PI2
		timeout()
	case 7, 8: // FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI
	default:
		val()
		c.sep()
		c.addr(c.a[3])
		c.sep()
		c.addr(c.a[4])
		c.sep()
		c.hex(c.a[5])
	}
	return true
}

func decSetRobustList(c *call) bool {
	c.addr(c.a[0])
	c.sep()
	c.ulong(c.a[1])
	return true
}

func decRseq(c *call) bool {
	c.addr(c.a[0])
	c.sep()
	c.hex(uint64(uint32(c.a[1])))
	c.sep()
	c.hex(uint64(uint32(c.a[2])))
	c.sep()
	c.hex(uint64(uint32(c.a[3])))
	return true
}

// --- identity, namespaces, IPC ---------------------------------------------

func decSethostname(c *call) bool {
	c.buf(c.a[0], c.a[1])
	c.sep()
	c.ulong(c.a[1])
	return true
}

func decGetrandom(c *call) bool {
	if !c.exiting {
		return false
	}
	c.written(c.a[0], func() { c.hexbuf(c.a[0], uint64(c.ret)) })
	c.sep()
	c.ulong(c.a[1])
	c.sep()
	c.flags(getrandomFlags, uint64(uint32(c.a[2])), "GRND_???")
	return true
}

func ipcKey(v uint64) string {
	if int32(v) == 0 {
		return "IPC_PRIVATE"
	}
	return hex(uint64(uint32(v)))
}

func ipcGetFlags(v uint64) string {
	v = uint64(uint32(v))
	mode := fmt.Sprintf("%#03o", v&0o777)
	if rest := v &^ 0o777; rest != 0 {
		return ipcFlags.flags(rest, "") + "|" + mode
	}
	return mode
}

func decMsgget(c *call) bool {
	c.puts(ipcKey(c.a[0]))
	c.sep()
	c.puts(ipcGetFlags(c.a[1]))
	return true
}

// msgbuf prints a struct msgbuf whose text is n bytes long.
func (c *call) msgbuf(addr, n uint64) {
	typ, ok := c.u64(addr)
	if !ok {
		c.addr(addr)
		return
	}
	c.printf("{mtype=%d, mtext=", int64(typ))
	c.buf(addr+8, n)
	c.puts("}")
}

func decMsgsnd(c *call) bool {
	c.int(c.a[0])
	c.sep()
	c.msgbuf(c.a[1], c.a[2])
	c.sep()
	c.ulong(c.a[2])
	c.sep()
	c.flags(msgFlags, uint64(uint32(c.a[3])), "MSG_???")
	return true
}

// decMsgrcv: the received message prints with the buffer's size, as
// strace does, not the length received.
func decMsgrcv(c *call) bool {
	if !c.exiting {
		c.int(c.a[0])
		c.sep()
		return false
	}
	c.written(c.a[1], func() { c.msgbuf(c.a[1], c.a[2]) })
	c.sep()
	c.ulong(c.a[2])
	c.sep()
	c.long(c.a[3])
	c.sep()
	c.flags(msgFlags, uint64(uint32(c.a[4])), "MSG_???")
	return true
}

// msqid prints a struct msqid64_ds; set, only what IPC_SET takes.
func (c *call) msqid(addr uint64, set bool) {
	b, ok := c.read(addr, 112)
	if !ok || c.exiting && c.failed() {
		c.addr(addr)
		return
	}
	u32 := func(off int) uint32 { return le.Uint32(b[off:]) }
	u64 := func(off int) uint64 { return le.Uint64(b[off:]) }
	if set {
		c.printf("{msg_perm={uid=%d, gid=%d, mode=%#o}, msg_qbytes=%d}", u32(4), u32(8), le.Uint16(b[20:]), u64(88))
		return
	}
	c.printf("{msg_perm={uid=%d, gid=%d, mode=%#o, key=%s, cuid=%d, cgid=%d}, msg_stime=%d, msg_rtime=%d, msg_ctime=%d, msg_qnum=%d, msg_qbytes=%d, msg_lspid=%d, msg_lrpid=%d}",
		u32(4), u32(8), le.Uint16(b[20:]), hex(uint64(u32(0))), u32(12), u32(16),
		int64(u64(48)), int64(u64(56)), int64(u64(64)), u64(80), u64(88), int32(u32(96)), int32(u32(100)))
}

func decMsgctl(c *call) bool {
	cmd := uint64(uint32(c.a[1]))
	if !c.exiting {
		c.int(c.a[0])
		c.sep()
		c.xval(msgctlCmds, cmd&^0x100, "MSG_???")
		if cmd&0x100 != 0 {
			c.puts("|IPC_64")
		}
		c.sep()
		switch cmd &^ 0x100 {
		case 2, 11, 13: // IPC_STAT, MSG_STAT, MSG_STAT_ANY: written back
			return false
		case 1: // IPC_SET
			c.msqid(c.a[2], true)
		default:
			c.addr(c.a[2])
		}
		return true
	}
	c.msqid(c.a[2], false)
	return true
}

func decSocket(c *call) bool {
	fam := uint64(uint32(c.a[0]))
	c.xval(addressFamilies, fam, "AF_???")
	c.sep()
	t := uint64(uint32(c.a[1]))
	c.xval(socketTypes, t&0xf, "SOCK_???")
	if rest := t &^ 0xf; rest != 0 {
		c.puts("|" + socketFlags.flags(rest, ""))
	}
	c.sep()
	if fam == 2 || fam == 10 {
		c.xval(inetProtocols, uint64(uint32(c.a[2])), "IPPROTO_???")
	} else {
		c.int(c.a[2])
	}
	return true
}
