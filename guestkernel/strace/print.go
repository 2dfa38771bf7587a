package strace

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
)

var le = binary.LittleEndian

// call is the syscall being decoded (the part of strace's tcb a decoder
// sees).
type call struct {
	tr      *Tracer
	nr      uint64
	a       [6]uint64
	m       Memory
	sp      uint64
	ent     *sysent
	exiting bool
	decoded bool // everything was printed at entry (RVAL_DECODED)
	ret     int64
	// How the result prints: rv, and aux in parentheses after it.
	rv  rval
	aux string
}

// rval is how a successful result prints.
type rval uint8

const (
	rvDec  rval = iota // signed decimal
	rvHex              // %#x (an address)
	rvOct              // %#o (a mode)
	rvUDec             // unsigned decimal
)

// The kernel's restart codes (include/linux/errno.h): a syscall a signal
// interrupted returns one of them; the tracer sees it before the signal
// is handled.
const (
	ERESTARTSYS          = 512
	ERESTARTNOINTR       = 513
	ERESTARTNOHAND       = 514
	ERESTARTRESTARTBLOCK = 516
)

func (c *call) name() string { return Name(c.nr) }

// failed reports an error result (-4095..-1).
func (c *call) failed() bool { return c.ret < 0 && c.ret >= -4095 }

func (c *call) result() {
	tr := c.tr
	if c.failed() {
		e := int(-c.ret)
		switch e {
		case ERESTARTSYS:
			tr.puts("? ERESTARTSYS (To be restarted if SA_RESTART is set)")
		case ERESTARTNOINTR:
			tr.puts("? ERESTARTNOINTR (To be restarted)")
		case ERESTARTNOHAND:
			tr.puts("? ERESTARTNOHAND (To be restarted if no handler)")
		case ERESTARTRESTARTBLOCK:
			tr.puts("? ERESTART_RESTARTBLOCK (Interrupted by signal)")
		default:
			name, text := ErrnoName(e)
			tr.printf("-1 %s (%s)", name, text)
		}
		return
	}
	switch c.rv {
	case rvHex:
		tr.puts(hex(uint64(c.ret)))
	case rvOct:
		tr.printf("%#o", uint64(c.ret))
	case rvUDec:
		tr.printf("%d", uint64(c.ret))
	default:
		tr.printf("%d", c.ret)
	}
	if c.aux != "" {
		tr.printf(" (%s)", c.aux)
	}
}

// ErrnoName returns an errno's name and its text as strace prints them
// ("ENOENT", "No such file or directory").
func ErrnoName(e int) (name, text string) {
	switch e {
	case ERESTARTSYS:
		return "ERESTARTSYS", "To be restarted if SA_RESTART is set"
	case ERESTARTNOINTR:
		return "ERESTARTNOINTR", "To be restarted"
	case ERESTARTNOHAND:
		return "ERESTARTNOHAND", "To be restarted if no handler"
	case ERESTARTRESTARTBLOCK:
		return "ERESTART_RESTARTBLOCK", "Interrupted by signal"
	}
	if e > 0 && e < len(errnos) && errnos[e].name != "" {
		return errnos[e].name, errnos[e].text
	}
	return strconv.Itoa(e), "Unknown error " + strconv.Itoa(e)
}

// Name returns syscall nr's name, or "syscall_0x1f4" for a number Linux
// does not have, as strace names it.
func Name(nr uint64) string {
	if nr < uint64(len(sysNames)) && sysNames[nr] != "" {
		return sysNames[nr]
	}
	return "syscall_" + hex(nr)
}

// Number returns the number of the syscall called name.
func Number(name string) (uint64, bool) {
	for nr, n := range sysNames {
		if n != "" && n == name {
			return uint64(nr), true
		}
	}
	return 0, false
}

// hex is C's %#llx: "0" for zero.
func hex(v uint64) string {
	if v == 0 {
		return "0"
	}
	return "0x" + strconv.FormatUint(v, 16)
}

// --- printing helpers, in strace's terms -----------------------------------

func (c *call) puts(s string)             { c.tr.puts(s) }
func (c *call) printf(f string, a ...any) { c.tr.printf(f, a...) }
func (c *call) sep()                      { c.tr.puts(", ") }

// written prints what the kernel wrote at addr (show), or only the
// address when the call failed and wrote nothing, as strace's decoders
// do with syserror() and printaddr().
func (c *call) written(addr uint64, show func()) {
	if c.failed() {
		c.addr(addr)
		return
	}
	show()
}

// addr prints a pointer: NULL or its value in hex (printaddr).
func (c *call) addr(v uint64) {
	if v == 0 {
		c.puts("NULL")
		return
	}
	c.puts(hex(v))
}

func (c *call) int(v uint64)  { c.printf("%d", int32(v)) }
func (c *call) long(v uint64) { c.printf("%d", int64(v)) }
func (c *call) ulong(v uint64) {
	c.printf("%d", v)
}
func (c *call) hex(v uint64) { c.puts(hex(v)) }

// fd prints a file descriptor; dirfd prints AT_FDCWD by name.
func (c *call) fd(v uint64) { c.int(v) }
func (c *call) dirfd(v uint64) {
	if int32(v) == -100 {
		c.puts("AT_FDCWD")
		return
	}
	c.int(v)
}

// id prints a uid or gid: -1 when it is (uid_t)-1.
func (c *call) id(v uint64) {
	if uint32(v) == ^uint32(0) {
		c.puts("-1")
		return
	}
	c.printf("%d", uint32(v))
}

// mode prints a file mode in octal (print_numeric_umode_t: %#03o).
func (c *call) mode(v uint64) { c.printf("%#03o", uint32(v)) }

// read reads n bytes at addr, or reports false.
func (c *call) read(addr uint64, n int) ([]byte, bool) {
	if c.m == nil || addr == 0 {
		return nil, false
	}
	b := make([]byte, n)
	if !c.m.Read(addr, b) {
		return nil, false
	}
	return b, true
}

func (c *call) u32(addr uint64) (uint32, bool) {
	b, ok := c.read(addr, 4)
	if !ok {
		return 0, false
	}
	return le.Uint32(b), true
}

func (c *call) u64(addr uint64) (uint64, bool) {
	b, ok := c.read(addr, 8)
	if !ok {
		return 0, false
	}
	return le.Uint64(b), true
}

// readStr reads a NUL-terminated string of at most max bytes. It returns
// the bytes before the NUL, and whether a NUL was found within max.
func (c *call) readStr(addr uint64, max int) (s []byte, terminated, ok bool) {
	if c.m == nil || addr == 0 {
		return nil, false, false
	}
	for len(s) < max {
		// Up to the page end, so that a string near the end of a
		// mapping reads.
		n := int(4096 - (addr+uint64(len(s)))%4096)
		n = min(n, max-len(s))
		b := make([]byte, n)
		if !c.m.Read(addr+uint64(len(s)), b) {
			// Byte by byte up to what is readable.
			i := 0
			for ; i < n && c.m.Read(addr+uint64(len(s)+i), b[i:i+1]); i++ {
				if b[i] == 0 {
					return append(s, b[:i]...), true, true
				}
			}
			if len(s)+i == 0 {
				return nil, false, false
			}
			return append(s, b[:i]...), false, true
		}
		for i, ch := range b {
			if ch == 0 {
				return append(s, b[:i]...), true, true
			}
		}
		s = append(s, b...)
	}
	return s, false, true
}

// path prints a NUL-terminated path (printpath): quoted, "..." after it
// when longer than PATH_MAX, the address when unreadable.
func (c *call) path(addr uint64) {
	if addr == 0 {
		c.puts("NULL")
		return
	}
	s, term, ok := c.readStr(addr, maxPath)
	if !ok {
		c.hex(addr)
		return
	}
	c.puts(quote(s, false))
	if !term {
		c.puts("...")
	}
}

// str prints a NUL-terminated string of at most 32 bytes (printstr with
// no length).
func (c *call) str(addr uint64) {
	if addr == 0 {
		c.puts("NULL")
		return
	}
	s, term, ok := c.readStr(addr, maxStrlen+1)
	if !ok {
		c.hex(addr)
		return
	}
	more := !term || len(s) > maxStrlen
	if len(s) > maxStrlen {
		s = s[:maxStrlen]
	}
	c.puts(quote(s, false))
	if more {
		c.puts("...")
	}
}

// buf prints n bytes at addr (printstrn): at most 32, "..." after them
// when there are more.
func (c *call) buf(addr, n uint64) { c.bufStyle(addr, n, false) }

// hexbuf is buf with every byte in \x notation (QUOTE_FORCE_HEX).
func (c *call) hexbuf(addr, n uint64) { c.bufStyle(addr, n, true) }

func (c *call) bufStyle(addr, n uint64, forceHex bool) {
	if addr == 0 {
		c.puts("NULL")
		return
	}
	m := min(n, maxStrlen)
	b, ok := c.read(addr, int(m))
	if !ok {
		c.hex(addr)
		return
	}
	c.puts(quote(b, forceHex))
	if n > m {
		c.puts("...")
	}
}

// quote renders bytes as a C string the way strace does: \t \n \v \f \r
// \" \\ escaped, other unprintable bytes in octal (three digits when an
// octal digit follows), or every byte as \xHH.
func quote(b []byte, forceHex bool) string {
	out := make([]byte, 0, len(b)+2)
	out = append(out, '"')
	for i, ch := range b {
		if forceHex {
			out = append(out, '\\', 'x', "0123456789abcdef"[ch>>4], "0123456789abcdef"[ch&15])
			continue
		}
		switch ch {
		case '"', '\\':
			out = append(out, '\\', ch)
		case '\f':
			out = append(out, `\f`...)
		case '\n':
			out = append(out, `\n`...)
		case '\r':
			out = append(out, `\r`...)
		case '\t':
			out = append(out, `\t`...)
		case '\v':
			out = append(out, `\v`...)
		default:
			if ch >= ' ' && ch < 0x7f {
				out = append(out, ch)
				continue
			}
			out = append(out, '\\')
			if i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7' {
				out = append(out, '0'+ch>>6, '0'+ch>>3&7)
			} else if ch>>3 != 0 {
				if ch>>6 != 0 {
					out = append(out, '0'+ch>>6)
				}
				out = append(out, '0'+ch>>3&7)
			}
			out = append(out, '0'+ch&7)
		}
	}
	return string(append(out, '"'))
}

// intArray prints n ints at addr: [3, 4] (pipe, getgroups).
func (c *call) intArray(addr uint64, n int) {
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
		c.printf("%d", int32(le.Uint32(b[4*i:])))
	}
	c.puts("]")
}

// intPtr prints the int at addr in brackets: [5] (printnum_int).
func (c *call) intPtr(addr uint64) {
	v, ok := c.u32(addr)
	if !ok {
		c.addr(addr)
		return
	}
	c.printf("[%d]", int32(v))
}

// idPtr prints the uid at addr in brackets: [0].
func (c *call) idPtr(addr uint64) {
	v, ok := c.u32(addr)
	if !ok {
		c.addr(addr)
		return
	}
	c.puts("[")
	c.id(uint64(v))
	c.puts("]")
}

// timespec prints a struct timespec: {tv_sec=0, tv_nsec=1000}.
func (c *call) timespec(addr uint64) {
	b, ok := c.read(addr, 16)
	if !ok {
		c.addr(addr)
		return
	}
	c.printf("{tv_sec=%d, tv_nsec=%d}", int64(le.Uint64(b)), int64(le.Uint64(b[8:])))
}

// timeval prints a struct timeval.
func (c *call) timeval(addr uint64) {
	b, ok := c.read(addr, 16)
	if !ok {
		c.addr(addr)
		return
	}
	c.printf("{tv_sec=%d, tv_usec=%d}", int64(le.Uint64(b)), int64(le.Uint64(b[8:])))
}

// date is strace's rendering of a time_t in comments and results:
// 2026-11-30T05:10:23+0000.
func date(sec int64) string {
	return time.Unix(sec, 0).Format("2006-01-02T15:04:05-0700")
}

// xval prints v by its name in x, else in hex with dflt as a comment
// (printxval): 0x5 /* SIG_??? */.
func (c *call) xval(x xlat, v uint64, dflt string) { c.puts(x.val(v, dflt)) }

// flags prints the names of v's bits in x joined by "|" (printflags).
func (c *call) flags(x xlat, v uint64, dflt string) { c.puts(x.flags(v, dflt)) }

func (x xlat) lookup(v uint64) (string, bool) {
	for _, e := range x {
		if e.v == v {
			return e.s, true
		}
	}
	return "", false
}

func (x xlat) val(v uint64, dflt string) string {
	if s, ok := x.lookup(v); ok {
		return s
	}
	return withComment(hex(v), dflt)
}

func withComment(s, dflt string) string {
	if dflt == "" {
		return s
	}
	return s + " /* " + dflt + " */"
}

func (x xlat) flags(v uint64, dflt string) string {
	var out []byte
	n := 0
	for _, e := range x {
		if v == e.v || e.v != 0 && v&e.v == e.v {
			if n > 0 {
				out = append(out, '|')
			}
			out = append(out, e.s...)
			n++
			v &^= e.v
			if v == 0 {
				break
			}
		}
	}
	switch {
	case n > 0 && v != 0:
		out = append(out, '|')
		out = append(out, hex(v)...)
	case n == 0 && v != 0:
		return withComment(hex(v), dflt)
	case n == 0:
		return "0"
	}
	return string(out)
}

// sigset prints a signal set of size bytes at addr: [CHLD USR1], or
// ~[KILL STOP] when more than half the signals are in it.
func (c *call) sigset(addr, size uint64) {
	if addr == 0 {
		c.puts("NULL")
		return
	}
	if size == 0 || size > 128 || size%4 != 0 {
		c.hex(addr)
		return
	}
	b, ok := c.read(addr, int(size))
	if !ok {
		c.hex(addr)
		return
	}
	c.puts(sprintSigset(b))
}

func sprintSigset(b []byte) string {
	nsig := len(b) * 8
	set := func(i int) bool { return b[i/8]&(1<<(i%8)) != 0 }
	n := 0
	for i := 0; i < nsig; i++ {
		if set(i) {
			n++
		}
	}
	inv := n > nsig/2
	out := []byte{}
	if inv {
		out = append(out, '~')
	}
	out = append(out, '[')
	first := true
	for i := 0; i < nsig; i++ {
		if set(i) == inv {
			continue
		}
		if !first {
			out = append(out, ' ')
		}
		first = false
		// Bits past signal 64 (a sigsetsize over 8) print as numbers.
		name := signame(i + 1)
		if len(name) > 3 && name[:3] == "SIG" {
			name = name[3:]
		}
		out = append(out, name...)
	}
	return string(append(out, ']'))
}

// SigsetString renders the signal mask m (bit N-1 for signal N) as
// strace prints an 8-byte sigset_t.
func SigsetString(m uint64) string {
	var b [8]byte
	le.PutUint64(b[:], m)
	return sprintSigset(b[:])
}

// signame is a signal's name: SIGUSR1, SIGRTMIN, SIGRT_3, or the number.
func signame(sig int) string {
	switch {
	case sig > 0 && sig < len(signalNames):
		return signalNames[sig]
	case sig == 32:
		return "SIGRTMIN"
	case sig > 32 && sig <= 64:
		return "SIGRT_" + strconv.Itoa(sig-32)
	}
	return strconv.Itoa(sig)
}

// SignalName returns a signal's name as strace prints it.
func SignalName(sig int) string { return signame(sig) }

// sig prints a signal argument: its name, or the number when invalid.
func (c *call) sig(v uint64) {
	s := int32(v)
	if s > 0 && s <= 64 {
		c.puts(signame(int(s)))
		return
	}
	c.printf("%d", s)
}

// Siginfo is what a delivered signal carries (siginfo_t), as much as
// strace prints.
type Siginfo struct {
	Signo, Code  int32
	Pid, UID     uint32
	Status       int32 // SIGCHLD: exit code or signal
	Addr         uint64
	Utime, Stime int64
}

// String renders si as strace's printsiginfo does:
// {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL}.
func (si Siginfo) String() string {
	s := "{si_signo=" + signame(int(si.Signo)) + ", si_code="
	s += siCode(si.Signo, si.Code)
	addr := func(v uint64) string {
		if v == 0 {
			return "NULL"
		}
		return hex(v)
	}
	source := fmt.Sprintf(", si_pid=%d, si_uid=%d", si.Pid, si.UID)
	switch {
	case si.Code <= 0:
		// From a process: kill, tkill, sigqueue.
		s += source
	case si.Signo == 17: // SIGCHLD
		s += source + ", si_status="
		if si.Code == cldExited {
			s += strconv.Itoa(int(si.Status))
		} else {
			s += signame(int(si.Status))
		}
		s += ", si_utime=" + clockT(si.Utime) + ", si_stime=" + clockT(si.Stime)
	case si.Signo == 4 || si.Signo == 8 || si.Signo == 11 || si.Signo == 7: // ILL FPE SEGV BUS
		s += ", si_addr=" + addr(si.Addr)
	default:
		if si.Pid != 0 || si.UID != 0 {
			s += source
		}
	}
	return s + "}"
}

const cldExited = 1

// clockT renders a clock_t in USER_HZ ticks, with seconds in a comment
// when it is not 0: 3 /* 0.03 s */.
func clockT(v int64) string {
	if v == 0 {
		return "0"
	}
	return fmt.Sprintf("%d /* %d.%02d s */", v, v/100, v%100)
}

func siCode(signo, code int32) string {
	if code <= 0 || code == 0x80 {
		if s, ok := siCodes.lookup(uint64(int64(code))); ok {
			return s
		}
		return strconv.Itoa(int(code))
	}
	if x, ok := sigCodes[signo]; ok {
		if s, ok := x.lookup(uint64(code)); ok {
			return s
		}
	}
	return strconv.Itoa(int(code))
}
