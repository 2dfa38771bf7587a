package guestkernel

import (
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxRWCount is MAX_RW_COUNT: Linux clamps every read/write to this.
const maxRWCount = 0x7ffff000

// accessOK is access_ok(): the range lies in user space. It checks the
// range only; the copy itself finds unmapped pages.
func accessOK(addr, n uint64) bool {
	return addr+n >= addr && addr+n <= taskSize
}

func (k *Kernel) buf(n uint64) []byte {
	if n > uint64(len(k.scratch)) {
		if n > 1<<20 {
			n = 1 << 20 // larger transfers are done in chunks
		}
		k.scratch = make([]byte, n)
	}
	return k.scratch[:n]
}

// sysRead: read(2) on a bridged stdio fd.
func sysRead(t *Task, a *args) int64 {
	f, e := t.files.get(a[0])
	if e != 0 {
		return errno(e)
	}
	// vfs_read/vfs_write: access_ok on the full count, then the clamp.
	if !accessOK(a[1], a[2]) {
		return errno(unix.EFAULT)
	}
	count := min(a[2], maxRWCount)
	b := t.k.buf(count)
	n, err := unix.Read(f.hostFD, b)
	if err != nil {
		return errno(err.(unix.Errno))
	}
	if e := t.mm.copyOut(a[1], b[:n]); e != 0 {
		return errno(e)
	}
	return int64(n)
}

// sysWrite: write(2) on a bridged stdio fd.
func sysWrite(t *Task, a *args) int64 {
	f, e := t.files.get(a[0])
	if e != 0 {
		return errno(e)
	}
	// vfs_read/vfs_write: access_ok on the full count, then the clamp.
	if !accessOK(a[1], a[2]) {
		return errno(unix.EFAULT)
	}
	count := min(a[2], maxRWCount)
	return t.k.writeUser(t, f, a[1], count)
}

// writeUser copies count bytes from guest va and writes them to the host
// fd in chunks, returning what was written (or an errno if nothing was).
func (k *Kernel) writeUser(t *Task, f *file, va, count uint64) int64 {
	var done int64
	for count > 0 {
		b := k.buf(count)
		got, e := t.mm.copyInPartial(b, va)
		if got == 0 {
			if done > 0 {
				return done
			}
			return errno(e)
		}
		b = b[:got]
		n, err := unix.Write(f.hostFD, b)
		if err != nil {
			if done > 0 {
				return done
			}
			return errno(err.(unix.Errno))
		}
		done += int64(n)
		if n < len(b) || e != 0 {
			break
		}
		va += uint64(n)
		count -= uint64(n)
	}
	return done
}

type iovec struct{ base, len uint64 }

const uioMaxIOV = 1024

// readIovecs validates and reads an iovec array (import_iovec).
func (t *Task) readIovecs(addr, cnt uint64) ([]iovec, uint64, unix.Errno) {
	if cnt > uioMaxIOV {
		return nil, 0, unix.EINVAL
	}
	raw := make([]byte, cnt*16)
	if e := t.mm.copyIn(raw, addr); e != 0 {
		return nil, 0, e
	}
	iov := make([]iovec, cnt)
	var total uint64
	for i := range iov {
		iov[i] = iovec{le.Uint64(raw[i*16:]), le.Uint64(raw[i*16+8:])}
		if int64(iov[i].len) < 0 {
			return nil, 0, unix.EINVAL
		}
		if !accessOK(iov[i].base, iov[i].len) {
			return nil, 0, unix.EFAULT
		}
		total += iov[i].len
	}
	return iov, min(total, maxRWCount), 0
}

// sysWritev: writev(2); the iovecs are gathered into one host write so
// that the bytes reach the host fd together, as one write does.
func sysWritev(t *Task, a *args) int64 {
	f, e := t.files.get(a[0])
	if e != 0 {
		return errno(e)
	}
	iov, total, e := t.readIovecs(a[1], a[2])
	if e != 0 {
		return errno(e)
	}
	b := make([]byte, 0, total)
	for _, v := range iov {
		n := min(v.len, total-uint64(len(b)))
		chunk := make([]byte, n)
		if e := t.mm.copyIn(chunk, v.base); e != 0 {
			if len(b) == 0 {
				return errno(e)
			}
			break
		}
		b = append(b, chunk...)
	}
	n, err := unix.Write(f.hostFD, b)
	if err != nil {
		return errno(err.(unix.Errno))
	}
	return int64(n)
}

// sysReadv: readv(2), filling the iovecs in order from one host read.
func sysReadv(t *Task, a *args) int64 {
	f, e := t.files.get(a[0])
	if e != 0 {
		return errno(e)
	}
	iov, total, e := t.readIovecs(a[1], a[2])
	if e != 0 {
		return errno(e)
	}
	b := make([]byte, total)
	n, err := unix.Read(f.hostFD, b)
	if err != nil {
		return errno(err.(unix.Errno))
	}
	b = b[:n]
	for _, v := range iov {
		c := min(v.len, uint64(len(b)))
		if e := t.mm.copyOut(v.base, b[:c]); e != 0 {
			return errno(e)
		}
		b = b[c:]
	}
	return int64(n)
}

func sysClose(t *Task, a *args) int64 { return errno(t.files.close(a[0])) }

// sysFstat: fstat(2) passes through to the host fd behind the stream, so
// the guest sees the same file type (tty, pipe, file) it would natively.
func sysFstat(t *Task, a *args) int64 {
	f, e := t.files.get(a[0])
	if e != 0 {
		return errno(e)
	}
	var st unix.Stat_t
	if err := unix.Fstat(f.hostFD, &st); err != nil {
		return errno(err.(unix.Errno))
	}
	return errno(t.mm.copyOut(a[1], bytesOf(&st)))
}

const atEmptyPath = 0x1000

// sysNewfstatat: only the fd form (AT_EMPTY_PATH) can succeed: nsvm has no
// file system, so every path is ENOENT.
func sysNewfstatat(t *Task, a *args) int64 {
	if a[3]&^uint64(unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT|atEmptyPath) != 0 {
		return errno(unix.EINVAL)
	}
	path, e := t.mm.readString(a[1], unix.PathMax)
	if e != 0 {
		return errno(e)
	}
	if path == "" && a[3]&atEmptyPath != 0 {
		return sysFstat(t, &args{a[0], a[2]})
	}
	if path == "" {
		return errno(unix.ENOENT)
	}
	return errno(unix.ENOENT)
}

// Terminal ioctls nsvm passes through to the host stream.
const (
	tcgets     = 0x5401
	tiocgwinsz = 0x5413
	termiosLen = 36 // struct termios (x86-64 kernel layout)
	winsizeLen = 8
)

// sysIoctl: TCGETS and TIOCGWINSZ ask the host fd, so isatty() in the
// guest answers as it would natively (ENOTTY for pipes and files). Other
// requests are ENOTTY, Linux's answer for an ioctl a file does not know.
func sysIoctl(t *Task, a *args) int64 {
	f, e := t.files.get(a[0])
	if e != 0 {
		return errno(e)
	}
	var n int
	switch a[1] {
	case tcgets:
		n = termiosLen
	case tiocgwinsz:
		n = winsizeLen
	default:
		return errno(unix.ENOTTY)
	}
	var buf [64]byte
	_, _, en := unix.Syscall(unix.SYS_IOCTL, uintptr(f.hostFD), uintptr(a[1]), uintptr(unsafe.Pointer(&buf[0])))
	if en != 0 {
		return errno(en)
	}
	return errno(t.mm.copyOut(a[2], buf[:n]))
}

// sysFcntl: the descriptor-flag and status-flag queries.
func sysFcntl(t *Task, a *args) int64 {
	f, e := t.files.get(a[0])
	if e != 0 {
		return errno(e)
	}
	switch a[1] {
	case unix.F_GETFD:
		return 0
	case unix.F_SETFD:
		return 0
	case unix.F_GETFL:
		fl, err := unix.FcntlInt(uintptr(f.hostFD), unix.F_GETFL, 0)
		if err != nil {
			return errno(err.(unix.Errno))
		}
		return int64(fl)
	}
	return errno(unix.EINVAL)
}

// procLink resolves the /proc symlinks nsvm models: /proc/self/exe and
// /proc/<pid>/exe.
func (t *Task) procLink(path string) (string, unix.Errno) {
	rest, ok := strings.CutPrefix(path, "/proc/")
	if !ok {
		return "", unix.ENOENT
	}
	who, leaf, _ := strings.Cut(rest, "/")
	target := t
	if who != "self" && who != "thread-self" {
		pid, err := strconv.Atoi(who)
		if err != nil || t.k.tasks[pid] == nil {
			return "", unix.ENOENT
		}
		target = t.k.tasks[pid]
	}
	if leaf == "exe" {
		return target.exe, 0
	}
	return "", unix.ENOENT
}

func (t *Task) readlink(pathAddr, buf, size uint64) int64 {
	if int64(size) <= 0 {
		return errno(unix.EINVAL)
	}
	path, e := t.mm.readString(pathAddr, unix.PathMax)
	if e != 0 {
		return errno(e)
	}
	target, e := t.procLink(path)
	if e != 0 {
		return errno(e)
	}
	b := []byte(target)
	if uint64(len(b)) > size {
		b = b[:size]
	}
	if e := t.mm.copyOut(buf, b); e != 0 {
		return errno(e)
	}
	return int64(len(b))
}

func sysReadlink(t *Task, a *args) int64   { return t.readlink(a[0], a[1], a[2]) }
func sysReadlinkat(t *Task, a *args) int64 { return t.readlink(a[1], a[2], a[3]) }
