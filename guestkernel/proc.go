package guestkernel

// A tiny procfs: the only file system nsvm has. It serves
//   /proc/<pid>/exe                      (readlink)
//   /proc/<pid>/fail-nth, /proc/<pid>/task/<tid>/fail-nth,
//   /proc/thread-self/fail-nth, /proc/<pid>/make-it-fail (fault injection)
//   /proc/<pid>/ns/<type>                (readlink "uts:[4026531838]"; open → an nsfs fd for setns)
//   /proc/<pid>/status                   (Name, State, Tgid, Pid, PPid, Uid, Gid, NStgid, NSpid, NSpgid, NSsid)
//   /proc/<pid>/uid_map, gid_map, setgroups (read; write once, with Linux's rules)
// for <pid> = self, thread-self or a number in the caller's pid
// namespace. Every other path is ENOENT.

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nsvm/nsvm/ns"
)

// procFile is an open generated file.
type procFile struct {
	data  []byte        // snapshot taken at open
	gen   func() []byte // or generated at each read from offset 0
	off   int
	write func(t *Task, b []byte) (int, unix.Errno)
}

// procTarget resolves /proc/<who>/<rest> to a task and the rest.
func (t *Task) procTarget(path string) (*Task, string, unix.Errno) {
	rest, ok := strings.CutPrefix(path, "/proc/")
	if !ok {
		return nil, "", unix.ENOENT
	}
	who, leaf, _ := strings.Cut(rest, "/")
	switch who {
	case "self":
		return t.tg.leader, leaf, 0
	case "thread-self":
		return t, leaf, 0
	}
	// Numbers are the initial pid namespace's: nsvm's /proc is the one
	// mounted there, like the host's /proc.
	pid, err := strconv.Atoi(who)
	if err != nil {
		return nil, "", unix.ENOENT
	}
	p := t.k.tasks[pid]
	if p == nil || !p.alive() || p == t.k.init {
		return nil, "", unix.ENOENT
	}
	return p, leaf, 0
}

// nsOf returns the namespace /proc/<pid>/ns/<name> names.
func (k *Kernel) nsOf(p *Task, name string) (ns.Namespace, ns.Kind, bool) {
	if p.nsproxy == nil {
		return nil, 0, false
	}
	n := p.nsproxy
	switch name {
	case "uts":
		return n.UTS, ns.UTS, true
	case "ipc":
		return n.IPC, ns.IPC, true
	case "mnt":
		return n.Mnt, ns.Mnt, true
	case "net":
		return n.Net, ns.Net, true
	case "cgroup":
		return n.Cgroup, ns.Cgroup, true
	case "pid":
		return p.activePIDNS(), ns.PID, true
	case "pid_for_children":
		// No target until the namespace has its init (Linux's
		// pidns_for_children_get gives ENOENT).
		if c := n.PIDForChildren; c.Parent != nil && c.Reaper == nil {
			return nil, 0, false
		}
		return n.PIDForChildren, ns.PID, true
	case "time":
		return n.Time, ns.Time, true
	case "time_for_children":
		return n.TimeForChildren, ns.Time, true
	case "user":
		return p.cred.userNS, ns.User, true
	}
	return nil, 0, false
}

// procLink resolves the /proc symlinks: exe and ns/<type>.
func (t *Task) procLink(path string) (string, unix.Errno) {
	p, leaf, e := t.procTarget(path)
	if e != 0 {
		return "", e
	}
	if leaf == "exe" {
		return p.exe, 0
	}
	if name, ok := strings.CutPrefix(leaf, "ns/"); ok {
		if n, _, ok := t.k.nsOf(p, name); ok {
			return ns.Link(n), 0
		}
	}
	return "", unix.ENOENT
}

// procOpen opens a /proc file.
func (t *Task) procOpen(path string, flags int) (*file, unix.Errno) {
	p, leaf, e := t.procTarget(path)
	if e != 0 {
		return nil, e
	}
	acc := flags & unix.O_ACCMODE
	if name, ok := strings.CutPrefix(leaf, "ns/"); ok {
		n, kind, ok := t.k.nsOf(p, name)
		if !ok {
			return nil, unix.ENOENT
		}
		ns.Get(n)
		return &file{kind: fileNS, nsf: &nsFile{ns: n, kind: kind}, refs: 1, flags: flags}, 0
	}
	if rest, ok := strings.CutPrefix(leaf, "task/"); ok {
		// /proc/<pid>/task/<tid>/fail-nth: one thread of p's group.
		tidStr, sub, _ := strings.Cut(rest, "/")
		tid, err := strconv.Atoi(tidStr)
		th := t.k.tasks[tid]
		if err != nil || th == nil || th.tg != p.tg || sub != "fail-nth" {
			return nil, unix.ENOENT
		}
		p, leaf = th, "fail-nth"
	}
	var pf *procFile
	switch leaf {
	case "fail-nth":
		target := p
		pf = &procFile{gen: func() []byte { return []byte(fmt.Sprintf("%d\n", target.fault.FailNth)) }}
		pf.write = func(w *Task, b []byte) (int, unix.Errno) {
			s := strings.TrimSuffix(string(b), "\n")
			n, err := strconv.ParseUint(s, 0, 32)
			if err != nil {
				if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
					return 0, unix.ERANGE
				}
				return 0, unix.EINVAL
			}
			if !target.alive() {
				return 0, unix.ESRCH
			}
			target.fault.FailNth = uint32(n)
			return len(b), 0
		}
	case "make-it-fail":
		target := p
		pf = &procFile{gen: func() []byte {
			v := 0
			if target.fault.MakeItFail {
				v = 1
			}
			return []byte(fmt.Sprintf("%d\n", v))
		}}
		pf.write = func(w *Task, b []byte) (int, unix.Errno) {
			if !w.k.capable(w, capSysResource) {
				return 0, unix.EPERM
			}
			n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 0, 32)
			if err != nil || n != 0 && n != 1 {
				return 0, unix.EINVAL
			}
			if !target.alive() {
				return 0, unix.ESRCH
			}
			target.fault.MakeItFail = n == 1
			return len(b), 0
		}
	case "status":
		pf = &procFile{data: []byte(t.k.procStatus(t, p))}
	case "uid_map", "gid_map":
		u := p.cred.userNS
		m := u.UIDMap
		if leaf == "gid_map" {
			m = u.GIDMap
		}
		pf = &procFile{data: []byte(formatIDMap(m))}
		uid := leaf == "uid_map"
		pf.write = func(w *Task, b []byte) (int, unix.Errno) { return w.k.writeIDMap(w, u, uid, b) }
	case "setgroups":
		u := p.cred.userNS
		s := "allow\n"
		if u.SetgroupsDenied {
			s = "deny\n"
		}
		pf = &procFile{data: []byte(s)}
		pf.write = func(w *Task, b []byte) (int, unix.Errno) {
			switch strings.TrimSpace(string(b)) {
			case "deny":
				if len(u.GIDMap) > 0 && !u.SetgroupsDenied {
					return 0, unix.EPERM // too late: gid_map is set
				}
				u.SetgroupsDenied = true
			case "allow":
				if u.SetgroupsDenied || u.Parent != nil && u.Parent.SetgroupsDenied {
					return 0, unix.EPERM
				}
			default:
				return 0, unix.EINVAL
			}
			return len(b), 0
		}
	default:
		return nil, unix.ENOENT
	}
	if acc != unix.O_RDONLY && pf.write == nil {
		return nil, unix.EACCES
	}
	return &file{kind: fileProc, proc: pf, refs: 1, flags: flags}, 0
}

func formatIDMap(m []ns.IDMap) string {
	var b strings.Builder
	for _, e := range m {
		fmt.Fprintf(&b, "%10d %10d %10d\n", e.Inside, e.Outside, e.Count)
	}
	return b.String()
}

// writeIDMap is map_write(): one write, once; the writer needs
// CAP_SETUID (CAP_SETGID) over the parent namespace, or maps just its
// own id (and for gid_map, after setgroups was denied).
func (k *Kernel) writeIDMap(w *Task, u *ns.UserNS, uid bool, b []byte) (int, unix.Errno) {
	if u.Parent == nil {
		return 0, unix.EPERM
	}
	cur := u.UIDMap
	if !uid {
		cur = u.GIDMap
	}
	if len(cur) > 0 {
		return 0, unix.EPERM
	}
	var m []ns.IDMap
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			return 0, unix.EINVAL
		}
		var v [3]uint64
		for i := range f {
			x, err := strconv.ParseUint(f[i], 10, 32)
			if err != nil {
				return 0, unix.EINVAL
			}
			v[i] = x
		}
		if v[2] == 0 || v[0]+v[2] > 1<<32 || v[1]+v[2] > 1<<32 {
			return 0, unix.EINVAL
		}
		m = append(m, ns.IDMap{Inside: uint32(v[0]), Outside: uint32(v[1]), Count: uint32(v[2])})
	}
	if len(m) == 0 || len(m) > 340 {
		return 0, unix.EINVAL
	}
	// The outside ids are in the parent namespace; as kernel ids:
	cap := capSetgid
	if uid {
		cap = capSetuid
	}
	privileged := k.nsCapable(w, u.Parent, cap) && w.cred.userNS.IsAncestorOf(u.Parent)
	if !privileged {
		// Unprivileged: a single id, the writer's own (as the
		// namespace's owner), and for groups only after "deny".
		own := w.cred.euid
		if !uid {
			own = w.cred.egid
		}
		outsideK, ok := u.Parent.KUID(m[0].Outside)
		if !uid {
			outsideK, ok = u.Parent.KGID(m[0].Outside)
		}
		if len(m) != 1 || m[0].Count != 1 || !ok || outsideK != own || w.cred.euid != u.OwnerUID {
			return 0, unix.EPERM
		}
		if !uid && !u.SetgroupsDenied {
			return 0, unix.EPERM
		}
	}
	if uid {
		u.UIDMap = m
	} else {
		u.GIDMap = m
	}
	return len(b), 0
}

// procStatus renders /proc/<pid>/status (the lines nsvm knows).
func (k *Kernel) procStatus(reader, p *Task) string {
	var b strings.Builder
	state := stateName(p.state)
	fmt.Fprintf(&b, "Name:\t%s\n", p.comm)
	fmt.Fprintf(&b, "Umask:\t%04o\n", p.fs.umask)
	fmt.Fprintf(&b, "State:\t%s\n", state)
	// This procfs belongs to the initial pid namespace: its numbers.
	root := k.nsw.InitPID
	fmt.Fprintf(&b, "Tgid:\t%d\n", p.tg.leader.nrIn(root))
	fmt.Fprintf(&b, "Pid:\t%d\n", p.nrIn(root))
	ppid := 0
	if p.parent != nil && len(p.parent.pids) > 0 && p.parent != k.init {
		ppid = p.parent.tg.leader.nrIn(root)
	}
	fmt.Fprintf(&b, "PPid:\t%d\n", ppid)
	c := p.cred
	u := reader.cred.userNS
	fmt.Fprintf(&b, "Uid:\t%d\t%d\t%d\t%d\n", u.FromKUID(c.uid), u.FromKUID(c.euid), u.FromKUID(c.suid), u.FromKUID(c.fsuid))
	fmt.Fprintf(&b, "Gid:\t%d\t%d\t%d\t%d\n", u.FromKGID(c.gid), u.FromKGID(c.egid), u.FromKGID(c.sgid), u.FromKGID(c.fsgid))
	// NS* lines: the numbers from the reader's pid namespace (the
	// namespace of this procfs) down to the task's own.
	from := root.Level
	nums := func(t *Task) string {
		var s []string
		for i := from; i < len(t.pids); i++ {
			s = append(s, strconv.Itoa(t.pids[i].nr))
		}
		return strings.Join(s, "\t")
	}
	group := func(global int) string {
		g := k.tasks[global]
		var s []string
		for i := from; i < len(p.pids); i++ {
			nr := 0
			if g != nil {
				nr = g.tg.leader.nrIn(p.pids[i].ns)
			}
			s = append(s, strconv.Itoa(nr))
		}
		return strings.Join(s, "\t")
	}
	fmt.Fprintf(&b, "NStgid:\t%s\n", nums(p.tg.leader))
	fmt.Fprintf(&b, "NSpid:\t%s\n", nums(p))
	fmt.Fprintf(&b, "NSpgid:\t%s\n", group(p.tg.pgid))
	fmt.Fprintf(&b, "NSsid:\t%s\n", group(p.tg.sid))
	fmt.Fprintf(&b, "CapInh:\t%016x\nCapPrm:\t%016x\nCapEff:\t%016x\nCapBnd:\t%016x\n", c.capInh, c.capPrm, c.capEff, c.capBnd)
	return b.String()
}

// sysOpenat: openat(dirfd, path, flags, mode) and open(path, flags,
// mode): only /proc exists.
func sysOpenat(t *Task, a *args) int64 { return t.open(a[1], a[2]) }
func sysOpen(t *Task, a *args) int64   { return t.open(a[0], a[1]) }

func (t *Task) open(pathAddr, flags uint64) int64 {
	path, e := t.mm.readString(pathAddr, unix.PathMax)
	if e != 0 {
		return errno(e)
	}
	if path == "" {
		return errno(unix.ENOENT)
	}
	f, e := t.procOpen(path, int(flags))
	if e != 0 {
		return errno(e)
	}
	fd, e := t.files.install(f, 0, flags&unix.O_CLOEXEC != 0, t.tg.rlimits[unix.RLIMIT_NOFILE].cur)
	if e != 0 {
		f.refs = 1
		f.release(t.k)
		return errno(e)
	}
	t.k.Stats.LiveFiles++
	return int64(fd)
}

// procRead reads from a generated file.
func (t *Task) procRead(f *file, va, count uint64) int64 {
	pf := f.proc
	if pf.gen != nil && pf.off == 0 {
		pf.data = pf.gen()
	}
	if pf.off >= len(pf.data) {
		return 0
	}
	n := min(int(count), len(pf.data)-pf.off)
	if e := t.mm.copyOut(va, pf.data[pf.off:pf.off+n]); e != 0 {
		return errno(e)
	}
	pf.off += n
	return int64(n)
}

// procWrite writes to a generated file that takes writes.
func (t *Task) procWrite(f *file, va, count uint64) int64 {
	if f.proc.write == nil || f.flags&unix.O_ACCMODE == unix.O_RDONLY {
		return errno(unix.EBADF)
	}
	if count > pageSize {
		return errno(unix.EINVAL)
	}
	b := make([]byte, count)
	if e := t.mm.copyIn(b, va); e != 0 {
		return errno(e)
	}
	n, e := f.proc.write(t, b)
	if e != 0 {
		return errno(e)
	}
	return int64(n)
}
