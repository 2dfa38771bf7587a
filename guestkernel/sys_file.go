package guestkernel

import (
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
	if f.flags&unix.O_ACCMODE == unix.O_WRONLY {
		return errno(unix.EBADF)
	}
	switch f.kind {
	case filePipe:
		return t.pipeRead(f, a[1], count)
	case fileProc:
		return t.procRead(f, a[1], count)
	case filePidfd, fileNS:
		return errno(unix.EINVAL)
	}
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
	if f.flags&unix.O_ACCMODE == unix.O_RDONLY && f.kind == filePipe {
		return errno(unix.EBADF)
	}
	switch f.kind {
	case filePipe:
		return t.pipeWrite(f, a[1], count)
	case fileProc:
		return t.procWrite(f, a[1], count)
	case filePidfd, fileNS:
		return errno(unix.EINVAL)
	}
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

// vectorArgs takes readv/writev's (fd, iov, iovcnt): the file first,
// then the iovec array (do_readv/do_writev, then import_iovec).
func (t *Task) vectorArgs(a *args) (*file, []iovec, uint64, unix.Errno) {
	f, e := t.files.get(a[0])
	if e != 0 {
		return nil, nil, 0, e
	}
	iov, total, e := t.readIovecs(a[1], a[2])
	return f, iov, total, e
}

// sysWritev: writev(2); the iovecs are gathered into one host write so
// that the bytes reach the host fd together, as one write does.
func sysWritev(t *Task, a *args) int64 {
	f, iov, total, e := t.vectorArgs(a)
	if e != 0 {
		return errno(e)
	}
	if f.kind != fileHost {
		return t.vectored(f, iov, true)
	}
	b := make([]byte, total)
	off := uint64(0)
	for _, v := range iov {
		n := min(v.len, total-off)
		if e := t.mm.copyIn(b[off:off+n], v.base); e != 0 {
			if off == 0 {
				return errno(e)
			}
			break
		}
		off += n
	}
	b = b[:off]
	n, err := unix.Write(f.hostFD, b)
	if err != nil {
		return errno(err.(unix.Errno))
	}
	return int64(n)
}

// sysReadv: readv(2), filling the iovecs in order from one host read.
func sysReadv(t *Task, a *args) int64 {
	f, iov, total, e := t.vectorArgs(a)
	if e != 0 {
		return errno(e)
	}
	if f.kind != fileHost {
		return t.vectored(f, iov, false)
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

// vectored does readv/writev on a guest file one segment at a time; a
// short transfer ends it, as do_loop_readv_writev does. Only the first
// segment may block.
func (t *Task) vectored(f *file, iov []iovec, write bool) int64 {
	var done int64
	for _, v := range iov {
		if v.len == 0 {
			continue
		}
		a := args{0, v.base, v.len}
		var n int64
		switch {
		case f.kind == filePidfd:
			return errno(unix.EINVAL)
		case write:
			n = t.pipeWrite(f, a[1], a[2])
		default:
			n = t.pipeRead(f, a[1], a[2])
		}
		if n < 0 {
			if done > 0 {
				if n == errRestart {
					t.state, t.wait = taskRunnable, waitState{}
				}
				return done
			}
			return n
		}
		done += n
		if uint64(n) < v.len {
			break
		}
	}
	return done
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
	switch f.kind {
	case fileHost:
		if err := unix.Fstat(f.hostFD, &st); err != nil {
			return errno(err.(unix.Errno))
		}
	case filePipe:
		// pipefs: a FIFO owned by its creator, mode 0600.
		st.Mode = unix.S_IFIFO | 0o600
		st.Nlink = 1
		st.Ino = f.pipe.ino
		st.Blksize = pageSize
		st.Uid, st.Gid = t.cred.euid, t.cred.egid
	case filePidfd, fileNS:
		st.Mode = 0o600
		st.Nlink = 1
		st.Blksize = pageSize
		if f.kind == fileNS {
			st.Mode = unix.S_IFREG | 0o444
			st.Ino = uint64(f.nsf.ns.Base().Inum)
		}
	case fileProc:
		st.Mode = unix.S_IFREG | 0o444
		st.Nlink = 1
		st.Blksize = pageSize
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
	fionread   = 0x541b
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
	if f.kind != fileHost {
		if f.kind == filePipe && a[1] == fionread {
			return errno(t.mm.writeU32(a[2], uint32(len(f.pipe.buf))))
		}
		return errno(unix.ENOTTY)
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

// sysFcntl: descriptor flags, status flags (O_NONBLOCK, O_APPEND) and
// F_DUPFD.
func sysFcntl(t *Task, a *args) int64 {
	fd, cmd, arg := a[0], a[1], a[2]
	f, e := t.files.get(fd)
	if e != 0 {
		return errno(e)
	}
	switch cmd {
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC:
		limit := t.tg.rlimits[unix.RLIMIT_NOFILE].cur
		if arg >= limit || arg >= nrOpen {
			return errno(unix.EINVAL)
		}
		f.refs++
		nfd, e := t.files.install(f, int(arg), cmd == unix.F_DUPFD_CLOEXEC, limit)
		if e != 0 {
			f.refs--
			return errno(e)
		}
		return int64(nfd)
	case unix.F_GETFD:
		if t.files.fds[fd].cloexec {
			return unix.FD_CLOEXEC
		}
		return 0
	case unix.F_SETFD:
		t.files.fds[fd].cloexec = arg&unix.FD_CLOEXEC != 0
		return 0
	case unix.F_GETFL:
		if f.kind == fileHost {
			fl, err := unix.FcntlInt(uintptr(f.hostFD), unix.F_GETFL, 0)
			if err != nil {
				return errno(err.(unix.Errno))
			}
			return int64(fl)
		}
		return int64(f.flags)
	case unix.F_SETFL:
		const settable = unix.O_APPEND | unix.O_NONBLOCK | unix.O_ASYNC | unix.O_DIRECT | unix.O_NOATIME
		f.flags = f.flags&^settable | int(arg)&settable
		return 0
	}
	return errno(unix.EINVAL)
}

// sysDup: dup(fd).
func sysDup(t *Task, a *args) int64 {
	f, e := t.files.get(a[0])
	if e != 0 {
		return errno(e)
	}
	f.refs++
	fd, e := t.files.install(f, 0, false, t.tg.rlimits[unix.RLIMIT_NOFILE].cur)
	if e != 0 {
		f.refs--
		return errno(e)
	}
	return int64(fd)
}

// sysDup3: dup3(old, new, flags).
func sysDup3(t *Task, a *args) int64 {
	oldfd, newfd, flags := a[0], a[1], a[2]
	if flags&^uint64(unix.O_CLOEXEC) != 0 || oldfd == newfd {
		return errno(unix.EINVAL)
	}
	return t.dup2(oldfd, newfd, flags&unix.O_CLOEXEC != 0)
}

// sysDup2: dup2(old, new); dup2(fd, fd) checks fd and returns it.
func sysDup2(t *Task, a *args) int64 {
	if a[0] == a[1] {
		if _, e := t.files.get(a[0]); e != 0 {
			return errno(e)
		}
		return int64(a[1])
	}
	return t.dup2(a[0], a[1], false)
}

func (t *Task) dup2(oldfd, newfd uint64, cloexec bool) int64 {
	f, e := t.files.get(oldfd)
	if e != 0 {
		return errno(e)
	}
	if newfd >= t.tg.rlimits[unix.RLIMIT_NOFILE].cur || newfd >= nrOpen {
		return errno(unix.EBADF)
	}
	f.refs++
	t.files.set(int(newfd), f, cloexec)
	return int64(newfd)
}

// sysLseek: the streams and pipes are not seekable.
func sysLseek(t *Task, a *args) int64 {
	f, e := t.files.get(a[0])
	if e != 0 {
		return errno(e)
	}
	if f.kind == fileHost {
		off, err := unix.Seek(f.hostFD, int64(a[1]), int(a[2]))
		if err != nil {
			return errno(err.(unix.Errno))
		}
		return off
	}
	return errno(unix.ESPIPE)
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
