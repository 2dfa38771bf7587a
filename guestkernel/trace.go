package guestkernel

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// --trace prints each syscall as strace does: name(args) = result. The
// format string of a table row has one letter per argument:
//
//	d  signed decimal        u  unsigned decimal     x  hex
//	p  pointer (NULL or hex) s  C string (a path)
//	o  octal (file modes)
//	m  mmap/mprotect protection bits
//	W  buffer the guest passes in, length in the next argument
//	R  buffer the kernel fills, length = the result
//
// Unknown syscalls print their six arguments in hex.

const traceStrMax = 32

func (k *Kernel) traceEnter(t *Task, nr uint64, e *syscallEntry, a *args) {
	var b strings.Builder
	b.WriteString(k.tracePrefix(t))
	b.WriteString(sysName(nr))
	b.WriteByte('(')
	format := "xxxxxx"
	if e != nil {
		format = e.fmt
	}
	for i, c := range format {
		if i > 0 {
			b.WriteString(", ")
		}
		if c == 'R' {
			// Printed after the call, when the data exists.
			b.WriteString("\x00")
			continue
		}
		b.WriteString(k.traceArg(t, byte(c), a, i))
	}
	b.WriteByte(')')
	t.traceLine = b.String()
}

func (k *Kernel) traceExit(t *Task, nr uint64, e *syscallEntry, a *args, ret int64) {
	line := t.traceLine
	if e != nil {
		for i, c := range e.fmt {
			if c == 'R' {
				s := fmt.Sprintf("%#x", a[i])
				if ret >= 0 {
					s = k.quoteUser(t, a[i], uint64(ret))
				}
				line = strings.Replace(line, "\x00", s, 1)
			}
		}
	}
	switch {
	case !t.alive():
		fmt.Fprintf(k.cfg.Trace, "%s = ?\n", line)
		if st := statusFromWait(t.exitStatus); st.Signal != 0 {
			fmt.Fprintf(k.cfg.Trace, "%s+++ killed by %s +++\n", k.tracePrefix(t), sigName(st.Signal))
		} else {
			fmt.Fprintf(k.cfg.Trace, "%s+++ exited with %d +++\n", k.tracePrefix(t), st.Code)
		}
	case ret < 0 && ret >= -4095:
		en := unix.Errno(-ret)
		fmt.Fprintf(k.cfg.Trace, "%s = -1 %s (%s)\n", line, unix.ErrnoName(en), errText(en))
	case nr == 9 || nr == 12 || ret > 0xffff:
		fmt.Fprintf(k.cfg.Trace, "%s = %#x\n", line, uint64(ret))
	default:
		fmt.Fprintf(k.cfg.Trace, "%s = %d\n", line, ret)
	}
}

func errText(e unix.Errno) string {
	s := e.Error()
	if s == "" {
		return "errno " + strconv.Itoa(int(e))
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (k *Kernel) traceArg(t *Task, c byte, a *args, i int) string {
	v := a[i]
	switch c {
	case 'd':
		return strconv.FormatInt(int64(int32(v)), 10)
	case 'u':
		return strconv.FormatUint(v, 10)
	case 'x':
		return fmt.Sprintf("%#x", v)
	case 'o':
		return fmt.Sprintf("%#o", v)
	case 'm':
		return protString(v)
	case 'p':
		if v == 0 {
			return "NULL"
		}
		return fmt.Sprintf("%#x", v)
	case 's':
		if t.mm == nil {
			return fmt.Sprintf("%#x", v)
		}
		s, e := t.mm.readString(v, 4096)
		if e != 0 {
			return fmt.Sprintf("%#x", v)
		}
		return strconv.Quote(s)
	case 'W':
		n := uint64(0)
		if i+1 < len(a) {
			n = a[i+1]
		}
		return k.quoteUser(t, v, n)
	}
	return fmt.Sprintf("%#x", v)
}

// quoteUser renders up to traceStrMax bytes of guest memory as strace
// does, with "..." when truncated; an unreadable buffer prints as its
// address.
func (k *Kernel) quoteUser(t *Task, va, n uint64) string {
	if t.mm == nil {
		return fmt.Sprintf("%#x", va)
	}
	m := min(n, traceStrMax)
	// peek: tracing must not fault pages in nor count as a user copy.
	code := t.mm.peek(va, int(m))
	if code.base != va || len(code.bytes) < int(m) {
		return fmt.Sprintf("%#x", va)
	}
	b := code.bytes
	var s strings.Builder
	s.WriteByte('"')
	for _, c := range b {
		switch {
		case c == '\n':
			s.WriteString(`\n`)
		case c == '\t':
			s.WriteString(`\t`)
		case c == '"' || c == '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			s.WriteByte(c)
		default:
			fmt.Fprintf(&s, `\%o`, c)
		}
	}
	s.WriteByte('"')
	if n > m {
		s.WriteString("...")
	}
	return s.String()
}

// tracePrefix marks lines with the task once there is more than one, as
// strace -f does.
func (k *Kernel) tracePrefix(t *Task) string {
	if k.Stats.Forks == 0 {
		return ""
	}
	return fmt.Sprintf("[pid %5d] ", t.tid)
}

// traceUnfinished ends the line of a syscall that went to sleep.
func (k *Kernel) traceUnfinished(t *Task) {
	fmt.Fprintf(k.cfg.Trace, "%s <unfinished ...>\n", strings.ReplaceAll(t.traceLine, "\x00", "..."))
}

// traceResumed reports the result of a syscall that slept.
func (k *Kernel) traceResumed(t *Task, nr uint64, ret int64) {
	if ret < 0 && ret >= -4095 {
		en := unix.Errno(-ret)
		fmt.Fprintf(k.cfg.Trace, "%s<... %s resumed> = -1 %s (%s)\n", k.tracePrefix(t), sysName(nr), unix.ErrnoName(en), errText(en))
		return
	}
	fmt.Fprintf(k.cfg.Trace, "%s<... %s resumed> = %d\n", k.tracePrefix(t), sysName(nr), ret)
}

// protString renders PROT_* bits as strace does.
func protString(v uint64) string {
	if v == 0 {
		return "PROT_NONE"
	}
	var p []string
	for _, b := range []struct {
		bit  uint64
		name string
	}{{unix.PROT_READ, "PROT_READ"}, {unix.PROT_WRITE, "PROT_WRITE"}, {unix.PROT_EXEC, "PROT_EXEC"}} {
		if v&b.bit != 0 {
			p = append(p, b.name)
			v &^= b.bit
		}
	}
	if v != 0 {
		p = append(p, fmt.Sprintf("%#x", v))
	}
	return strings.Join(p, "|")
}
