package fs_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nsvm/nsvm/fs"
	"github.com/nsvm/nsvm/fs/tmpfs"
)

// cred is a test Credentials: capabilities are a bit set that holds in
// every user namespace except those listed in foreign.
type cred struct {
	uid, gid uint32
	groups   []uint32
	caps     uint64
	// userNS is the user namespace the cred lives in (an owner
	// token); NSCapable holds only there or in a namespace it owns.
	userNS any
}

const allCaps = ^uint64(0)

func (c *cred) FSUID() uint32 { return c.uid }
func (c *cred) FSGID() uint32 { return c.gid }
func (c *cred) InGroup(g uint32) bool {
	if g == c.gid {
		return true
	}
	for _, x := range c.groups {
		if x == g {
			return true
		}
	}
	return false
}
func (c *cred) CapableWrtInode(cp int, uid, gid uint32) bool { return c.caps&(1<<cp) != 0 }
func (c *cred) NSCapable(ns any, cp int) bool {
	return ns == c.userNS && c.caps&(1<<cp) != 0
}

var (
	root  = &cred{caps: allCaps}
	alice = &cred{uid: 1000, gid: 1000}
	bob   = &cred{uid: 1001, gid: 1001}
)

// env is one VFS with a tmpfs root, its namespace and a task's fs_struct.
type env struct {
	t     *testing.T
	v     *fs.VFS
	ns    *fs.MountNamespace
	fss   *fs.FSStruct
	ctx   *fs.Ctx
	clock atomic.Int64
	// failAt, when > 0, fails the failAt-th allocation from now on.
	failAt, allocs int
	failed         string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t}
	e.v = fs.New(e.hook)
	cfg := tmpfs.Config{Clock: e.now, TotalRAM: 1 << 30}
	typ := tmpfs.Type(cfg)
	if err := e.v.Register(typ); err != nil {
		t.Fatal(err)
	}
	f, err := tmpfs.New(e.v, typ, cfg, "rootfs", tmpfs.Options{Mode: 0o755})
	if err != nil {
		t.Fatal(err)
	}
	e.ns, err = e.v.CreateMntNS(f.SB(), fs.MntRelatime, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := e.ns.Root()
	e.fss, err = e.v.NewFSStruct(r, 0o022)
	r.Put()
	if err != nil {
		t.Fatal(err)
	}
	e.ctx = &fs.Ctx{Cred: root, FS: e.fss, MntNS: e.ns}
	t.Cleanup(e.close)
	return e
}

func (e *env) now() fs.Timespec { return fs.Timespec{Sec: e.clock.Load()} }

func (e *env) hook(site string) error {
	if e.failAt == 0 {
		return nil
	}
	e.allocs++
	if e.allocs == e.failAt {
		e.failed = site
		return unix.ENOMEM
	}
	return nil
}

// close tears everything down and checks that nothing is left.
func (e *env) close() {
	e.fss.Put()
	e.ns.Put()
	if live := e.v.Live(); live != (fs.Counts{}) {
		e.t.Errorf("leak after teardown: %v", live)
	}
}

// as returns a ctx for another credential sharing e's fs_struct.
func (e *env) as(c *cred) *fs.Ctx { return &fs.Ctx{Cred: c, FS: e.fss, MntNS: e.ns} }

func (e *env) mkdir(path string, mode uint32) {
	e.t.Helper()
	if err := e.v.Mkdirat(e.ctx, nil, path, mode); err != nil {
		e.t.Fatalf("mkdir %s: %v", path, err)
	}
	e.chmod(path, mode)
}

// chmod sets exactly mode (the helpers' modes are not masked by the umask).
func (e *env) chmod(path string, mode uint32) {
	e.t.Helper()
	if err := e.v.Fchmodat(e.ctx, nil, path, mode, 0); err != nil {
		e.t.Fatalf("chmod %s: %v", path, err)
	}
}

func (e *env) open(ctx *fs.Ctx, path string, flags int, mode uint32) (*fs.File, error) {
	return e.v.Openat(ctx, nil, path, fs.BuildOpenHow(flags, mode))
}

func (e *env) writeFile(path, data string, mode uint32) {
	e.t.Helper()
	f, err := e.open(e.ctx, path, unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, mode)
	if err != nil {
		e.t.Fatalf("create %s: %v", path, err)
	}
	defer f.Put()
	if _, err := f.Write(root, []byte(data)); err != nil {
		e.t.Fatalf("write %s: %v", path, err)
	}
	e.chmod(path, mode)
}

func (e *env) readFile(ctx *fs.Ctx, path string) (string, error) {
	f, err := e.open(ctx, path, unix.O_RDONLY, 0)
	if err != nil {
		return "", err
	}
	defer f.Put()
	var b strings.Builder
	buf := make([]byte, 7) // odd size: exercise page-crossing reads
	for {
		n, err := f.Read(buf)
		if err != nil {
			return "", err
		}
		if n == 0 {
			return b.String(), nil
		}
		b.Write(buf[:n])
	}
}

func (e *env) symlink(target, path string) {
	e.t.Helper()
	if err := e.v.Symlinkat(e.ctx, target, nil, path); err != nil {
		e.t.Fatalf("symlink %s -> %s: %v", path, target, err)
	}
}

func (e *env) mount(source, target, fstype string, flags uint64, data string) {
	e.t.Helper()
	if err := e.v.Mount(e.ctx, source, target, fstype, flags, data); err != nil {
		e.t.Fatalf("mount %s on %s: %v", fstype, target, err)
	}
}

func (e *env) stat(ctx *fs.Ctx, path string) (fs.Stat, error) {
	return e.v.Statat(ctx, nil, path, 0)
}

func (e *env) ino(path string) uint64 {
	e.t.Helper()
	st, err := e.stat(e.ctx, path)
	if err != nil {
		e.t.Fatalf("stat %s: %v", path, err)
	}
	return st.Ino
}

func (e *env) exists(path string) bool {
	_, err := e.v.Statat(e.ctx, nil, path, unix.AT_SYMLINK_NOFOLLOW)
	return err == nil
}

// errno renders an error for a table's comparison.
func errno(err error) string {
	if err == nil {
		return "ok"
	}
	var en unix.Errno
	if errors.As(err, &en) {
		return unix.ErrnoName(en)
	}
	return err.Error()
}
