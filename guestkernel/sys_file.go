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

// buf returns the scratch buffer for a transfer of n bytes: at most
// chunkMax of them (larger transfers are done in chunks, or short).
func (k *Kernel) buf(n uint64) []byte {
	n = min(n, chunkMax)
	if n > uint64(len(k.scratch)) {
		k.scratch = make([]byte, n)
	}
	return k.scratch[:n]
}

// chunkMax is the most host memory one transfer between guest memory and
// a host fd uses at a time: larger reads and writes go through the
// scratch buffer in pieces of this size, whatever length the guest asks
// for.
const chunkMax = 1 << 20

// sysRead: read(2).
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
	return t.readFile(f, a[1], count)
}

// readFile reads count bytes (already clamped) from f into guest va.
func (t *Task) readFile(f *file, va, count uint64) int64 {
	switch f.kind {
	case filePipe:
		return t.pipeRead(f, va, count)
	case fileProc:
		return t.procRead(f, va, count)
	case filePidfd, fileNS:
		return errno(unix.EINVAL)
	}
	// One host read of at most chunkMax bytes: a short read, as a
	// pipe or terminal gives anyway.
	b := t.k.buf(count)
	n, err := unix.Read(f.hostFD, b)
	if err != nil {
		return errno(err.(unix.Errno))
	}
	if e := t.mm.copyOut(va, b[:n]); e != 0 {
		return errno(e)
	}
	return int64(n)
}

// sysWrite: write(2).
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
	return t.writeFile(f, a[1], count)
}

// writeFile writes count bytes (already clamped) at guest va to f.
func (t *Task) writeFile(f *file, va, count uint64) int64 {
	switch f.kind {
	case filePipe:
		return t.pipeWrite(f, va, count)
	case fileProc:
		return t.procWrite(f, va, count)
	case filePidfd, fileNS:
		return errno(unix.EINVAL)
	}
	return t.k.writeHost(t, f, []iovec{{va, count}}, count, false)
}

// writeHost gathers total bytes from the guest segments iov and writes
// them to the host fd f in chunks of at most chunkMax bytes. It stops at
// a short write, an error or a fault, and returns what was written (or
// the errno, if nothing was). A transfer of up to chunkMax bytes is one
// host write, so its bytes reach the host fd together, as one write(2)
// or writev(2) of them does natively. For writev (vector), each segment
// is one copy_from_user and so one fail_usercopy site.
func (k *Kernel) writeHost(t *Task, f *file, iov []iovec, total uint64, vector bool) int64 {
	var done int64
	seg, off := 0, uint64(0) // the next byte to gather: iov[seg].base+off
	for total > 0 {
		b := k.buf(total)
		n, fault := 0, unix.Errno(0)
		for n < len(b) && seg < len(iov) {
			v := iov[seg]
			if off == v.len {
				seg, off = seg+1, 0
				continue
			}
			if off == 0 && vector && t.mm.usercopyFails() {
				fault = unix.EFAULT
				break
			}
			got, e := t.mm.copyInPartial(b[n:n+int(min(uint64(len(b)-n), v.len-off))], v.base+off)
			n += got
			off += uint64(got)
			if e != 0 {
				fault = e
				break
			}
		}
		if n == 0 {
			if done > 0 || fault == 0 {
				return done
			}
			return errno(fault)
		}
		w, err := unix.Write(f.hostFD, b[:n])
		if err != nil {
			if done > 0 {
				return done
			}
			return errno(err.(unix.Errno))
		}
		done += int64(w)
		if w < n || fault != 0 {
			break
		}
		total -= uint64(n)
	}
	return done
}

type iovec struct{ base, len uint64 }

const uioMaxIOV = 1024

// readIovecs validates and reads an iovec array (import_iovec): at most
// UIO_MAXIOV entries, each length at most SSIZE_MAX, the total clamped
// to MAX_RW_COUNT and the segments trimmed to it, as
// rw_copy_check_uvector does.
func (t *Task) readIovecs(addr, cnt uint64) ([]iovec, uint64, unix.Errno) {
	if cnt > uioMaxIOV {
		return nil, 0, unix.EINVAL
	}
	var raw [uioMaxIOV * 16]byte
	if e := t.mm.copyIn(raw[:cnt*16], addr); e != 0 {
		return nil, 0, e
	}
	iov := make([]iovec, cnt)
	var total uint64
	for i := range iov {
		v := iovec{le.Uint64(raw[i*16:]), le.Uint64(raw[i*16+8:])}
		if int64(v.len) < 0 {
			return nil, 0, unix.EINVAL
		}
		if !accessOK(v.base, v.len) {
			return nil, 0, unix.EFAULT
		}
		v.len = min(v.len, maxRWCount-total)
		total += v.len
		iov[i] = v
	}
	return iov, total, 0
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

// sysWritev: writev(2). On a host fd the iovecs are gathered into one
// host write per chunkMax bytes, so that the bytes of an ordinary writev
// reach the host fd together, as one write does.
func sysWritev(t *Task, a *args) int64 {
	f, iov, total, e := t.vectorArgs(a)
	if e != 0 {
		return errno(e)
	}
	if f.flags&unix.O_ACCMODE == unix.O_RDONLY && f.kind == filePipe {
		return errno(unix.EBADF)
	}
	if f.kind != fileHost {
		return t.vectored(f, iov, true)
	}
	return t.k.writeHost(t, f, iov, total, true)
}

// sysReadv: readv(2). On a host fd: one host read of at most chunkMax
// bytes (a short read, like read(2)'s), scattered over the iovecs in
// order.
func sysReadv(t *Task, a *args) int64 {
	f, iov, total, e := t.vectorArgs(a)
	if e != 0 {
		return errno(e)
	}
	if f.flags&unix.O_ACCMODE == unix.O_WRONLY {
		return errno(unix.EBADF)
	}
	if f.kind != fileHost {
		return t.vectored(f, iov, false)
	}
	b := t.k.buf(total)
	n, err := unix.Read(f.hostFD, b)
	if err != nil {
		return errno(err.(unix.Errno))
	}
	b = b[:n]
	for _, v := range iov {
		c := min(v.len, uint64(len(b)))
		if e := t.mm.copyOut(v.base, b[:c]); e != 0 {
			if len(b) < n {
				return int64(n - len(b))
			}
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
		var n int64
		if write {
			n = t.writeFile(f, v.base, v.len)
		} else {
			n = t.readFile(f, v.base, v.len)
		}
		if n < 0 {
			if done > 0 {
				if n == errRestart {
					// A later segment would sleep: the call ends
					// with what it did, and nothing is carried over.
					t.state, t.wait, t.rwDone = taskRunnable, waitState{}, 0
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
	if e := t.files.set(int(newfd), f, cloexec); e != 0 {
		f.refs--
		return errno(e)
	}
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
