package fs_test

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nsvm/nsvm/fs"
)

// walkTree makes the tree most walk tests use:
//
//	/dir/sub/  /dir/file  /file  /link→file  /dlink→dir  /dangling→nowhere
//	/loop→loop  /abs→/dir/file  /up→..  /chain0..chain40 (chainN→chainN+1, chain40→file)
func walkTree(e *env) {
	e.mkdir("/dir", 0o755)
	e.mkdir("/dir/sub", 0o755)
	e.writeFile("/dir/file", "in dir", 0o644)
	e.writeFile("/file", "top", 0o644)
	e.symlink("file", "/link")
	e.symlink("dir", "/dlink")
	e.symlink("nowhere", "/dangling")
	e.symlink("loop", "/loop")
	e.symlink("/dir/file", "/abs")
	e.symlink("..", "/dir/up")
	for i := 0; i < 40; i++ {
		e.symlink(fmt.Sprintf("chain%d", i+1), fmt.Sprintf("/chain%d", i))
	}
	e.symlink("file", "/chain40")
}

func TestLookupTable(t *testing.T) {
	e := newEnv(t)
	walkTree(e)
	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		name  string
		path  string
		flags int // Statat flags
		want  string
		ino   string // path whose inode the result must be
	}{
		{"absolute", "/dir/file", 0, "ok", "/dir/file"},
		{"missing", "/nope", 0, "ENOENT", ""},
		{"missing middle", "/nope/x", 0, "ENOENT", ""},
		{"file as dir", "/file/x", 0, "ENOTDIR", ""},
		{"trailing slash on file", "/file/", 0, "ENOTDIR", ""},
		{"trailing slash on dir", "/dir/", 0, "ok", "/dir"},
		{"many slashes", "//dir///sub//", 0, "ok", "/dir/sub"},
		{"dot", "/dir/./sub/.", 0, "ok", "/dir/sub"},
		{"dotdot", "/dir/sub/../file", 0, "ok", "/dir/file"},
		{"dotdot at root", "/../../..", 0, "ok", "/"},
		{"dotdot at root then down", "/../dir/file", 0, "ok", "/dir/file"},
		{"empty", "", 0, "ENOENT", ""},
		{"empty with AT_EMPTY_PATH", "", unix.AT_EMPTY_PATH, "ok", "/"},
		{"symlink followed", "/link", 0, "ok", "/file"},
		{"symlink nofollow", "/link", unix.AT_SYMLINK_NOFOLLOW, "ok", ""},
		{"symlink in the middle", "/dlink/file", 0, "ok", "/dir/file"},
		{"absolute symlink", "/abs", 0, "ok", "/dir/file"},
		{"relative .. symlink", "/dir/up/file", 0, "ok", "/file"},
		{"dangling", "/dangling", 0, "ENOENT", ""},
		{"dangling nofollow", "/dangling", unix.AT_SYMLINK_NOFOLLOW, "ok", ""},
		{"trailing slash forces follow", "/dlink/", unix.AT_SYMLINK_NOFOLLOW, "ok", "/dir"},
		{"trailing slash on link to file", "/link/", 0, "ENOTDIR", ""},
		{"self loop", "/loop", 0, "ELOOP", ""},
		{"self loop nofollow", "/loop", unix.AT_SYMLINK_NOFOLLOW, "ok", ""},
		{"40 links resolve", "/chain1", 0, "ok", "/file"},
		{"41 links are ELOOP", "/chain0", 0, "ELOOP", ""},
		{"41 links in the middle", "/chain0/x", 0, "ELOOP", ""},
		{"NAME_MAX+1", "/" + long, 0, "ENAMETOOLONG", ""},
		{"NAME_MAX", "/" + long[:255], 0, "ENOENT", ""},
		{"NAME_MAX+1 in the middle", "/" + long + "/x", 0, "ENAMETOOLONG", ""},
		{"PATH_MAX", "/" + strings.Repeat("a/", 2047) + "b", 0, "ENAMETOOLONG", ""},
		{"PATH_MAX-1", strings.Repeat("/", 4094) + "x", 0, "ENOENT", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := e.v.Statat(e.ctx, nil, tc.path, tc.flags)
			if got := errno(err); got != tc.want {
				t.Fatalf("stat(%.40q) = %s, want %s", tc.path, got, tc.want)
			}
			if tc.ino != "" && st.Ino != e.ino(tc.ino) {
				t.Errorf("stat(%q) reached ino %d, want %s's %d", tc.path, st.Ino, tc.ino, e.ino(tc.ino))
			}
		})
	}
	if st, _ := e.v.Statat(e.ctx, nil, "/link", unix.AT_SYMLINK_NOFOLLOW); st.Mode&unix.S_IFMT != unix.S_IFLNK || st.Size != 4 {
		t.Errorf("lstat of link: mode %o size %d", st.Mode, st.Size)
	}
}

func TestDirfdAndCwd(t *testing.T) {
	e := newEnv(t)
	walkTree(e)
	d, err := e.open(e.ctx, "/dir", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Put()
	if st, err := e.v.Statat(e.ctx, d, "file", 0); err != nil || st.Ino != e.ino("/dir/file") {
		t.Errorf("stat(dirfd, file) = %v", err)
	}
	if st, err := e.v.Statat(e.ctx, d, "/file", 0); err != nil || st.Ino != e.ino("/file") {
		t.Errorf("absolute name ignores dirfd: %v", err)
	}
	f, err := e.open(e.ctx, "/file", unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Put()
	if _, err := e.v.Statat(e.ctx, f, "x", 0); err != unix.ENOTDIR {
		t.Errorf("relative to a file dirfd: %v, want ENOTDIR", err)
	}
	if _, err := e.v.Statat(e.ctx, f, "", unix.AT_EMPTY_PATH); err != nil {
		t.Errorf("AT_EMPTY_PATH on a file dirfd: %v", err)
	}
	if err := e.v.Chdir(e.ctx, "/dir/sub"); err != nil {
		t.Fatal(err)
	}
	if cwd, _ := e.v.Getcwd(e.ctx); cwd != "/dir/sub" {
		t.Errorf("getcwd = %q", cwd)
	}
	if st, err := e.stat(e.ctx, "../file"); err != nil || st.Ino != e.ino("/dir/file") {
		t.Errorf("relative ../file: %v", err)
	}
	if err := e.v.Chdir(e.ctx, "/file"); err != unix.ENOTDIR {
		t.Errorf("chdir to a file: %v", err)
	}
	// A removed cwd: getcwd is ENOENT, relative lookups of ".." still work.
	if err := e.v.Unlinkat(e.ctx, nil, "/dir/sub", unix.AT_REMOVEDIR); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.Getcwd(e.ctx); err != unix.ENOENT {
		t.Errorf("getcwd of a removed dir: %v", err)
	}
	if err := e.v.Mkdirat(e.ctx, nil, "new", 0o755); err != unix.ENOENT {
		t.Errorf("mkdir in a removed cwd: %v, want ENOENT", err)
	}
	if err := e.v.Chdir(e.ctx, "/"); err != nil {
		t.Fatal(err)
	}
}

// TestDotDotMountsAndChroot: ".." climbs out of a mount to its
// mountpoint's parent, and never above the process root.
func TestDotDotMountsAndChroot(t *testing.T) {
	e := newEnv(t)
	walkTree(e)
	e.mkdir("/mnt", 0o755)
	e.mount("none", "/mnt", "tmpfs", 0, "")
	e.mkdir("/mnt/a", 0o755)
	for _, tc := range []struct{ path, ino string }{
		{"/mnt/..", "/"},
		{"/mnt/a/../..", "/"},
		{"/mnt/../dir", "/dir"},
		{"/mnt/a/..", "/mnt"},
	} {
		if st, err := e.stat(e.ctx, tc.path); err != nil || st.Ino != e.ino(tc.ino) || st.Dev != mustStat(e, tc.ino).Dev {
			t.Errorf("%s: %v, not %s", tc.path, err, tc.ino)
		}
	}
	// Stacked mounts: ".." of the top one goes past both.
	e.mount("none", "/mnt", "tmpfs", 0, "")
	if st, _ := e.stat(e.ctx, "/mnt/.."); st.Ino != e.ino("/") || st.Dev != mustStat(e, "/").Dev {
		t.Errorf("/mnt/.. over stacked mounts reached %v", st)
	}
	if e.exists("/mnt/a") {
		t.Error("the top mount does not hide the one beneath")
	}
	// chroot /dir: nothing above it is reachable.
	fss, err := e.fss.Copy()
	if err != nil {
		t.Fatal(err)
	}
	defer fss.Put()
	jail := &fs.Ctx{Cred: root, FS: fss, MntNS: e.ns}
	if err := e.v.Chroot(jail, "/dir", func() bool { return true }); err != nil {
		t.Fatal(err)
	}
	if err := e.v.Chdir(jail, "/"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/..", "../../..", "/sub/../../..", "up/up", "/up/up/."} {
		if st, err := e.stat(jail, p); err != nil || st.Ino != e.ino("/dir") {
			t.Errorf("in the jail, %s escaped: %v ino %d", p, err, st.Ino)
		}
	}
	if st, err := e.stat(jail, "/file"); err != nil || st.Ino != e.ino("/dir/file") {
		t.Errorf("jail's /file: %v", err)
	}
	// An absolute symlink resolves inside the jail.
	if st, err := e.stat(jail, "/up/up/file"); err != nil || st.Ino != e.ino("/dir/file") {
		t.Errorf("jail ../../file: %v", err)
	}
	// A cwd left outside the root (chroot without chdir) is unreachable.
	if err := e.v.Chdir(jail, "sub"); err != nil {
		t.Fatal(err)
	}
	if cwd, _ := e.v.Getcwd(jail); cwd != "/sub" {
		t.Errorf("cwd in jail %q", cwd)
	}
	if cwd, _ := e.v.Getcwd(e.ctx); cwd != "/" {
		t.Errorf("cwd %q", cwd)
	}
}

func mustStat(e *env, p string) fs.Stat {
	st, err := e.stat(e.ctx, p)
	if err != nil {
		e.t.Fatalf("stat %s: %v", p, err)
	}
	return st
}

func TestOpenFlags(t *testing.T) {
	e := newEnv(t)
	walkTree(e)
	type flags = int
	for _, tc := range []struct {
		name  string
		path  string
		flags flags
		want  string
	}{
		{"O_CREAT|O_EXCL existing", "/file", unix.O_CREAT | unix.O_EXCL | unix.O_WRONLY, "EEXIST"},
		{"O_CREAT|O_EXCL on a dangling symlink", "/dangling", unix.O_CREAT | unix.O_EXCL | unix.O_WRONLY, "EEXIST"},
		{"O_CREAT|O_EXCL on a symlink to a file", "/link", unix.O_CREAT | unix.O_EXCL, "EEXIST"},
		{"O_CREAT on a directory", "/dir", unix.O_CREAT | unix.O_RDONLY, "EISDIR"},
		{"O_CREAT with a trailing slash", "/newdir/", unix.O_CREAT | unix.O_WRONLY, "EISDIR"},
		{"O_CREAT|O_DIRECTORY", "/x", unix.O_CREAT | unix.O_DIRECTORY, "EINVAL"},
		{"O_DIRECTORY on a file", "/file", unix.O_DIRECTORY, "ENOTDIR"},
		{"O_DIRECTORY through a symlink", "/dlink", unix.O_DIRECTORY, "ok"},
		{"O_NOFOLLOW on a symlink", "/link", unix.O_NOFOLLOW, "ELOOP"},
		{"O_NOFOLLOW in the middle is fine", "/dlink/file", unix.O_NOFOLLOW, "ok"},
		{"O_PATH|O_NOFOLLOW on a symlink", "/link", unix.O_PATH | unix.O_NOFOLLOW, "ok"},
		{"O_PATH on a file without read permission", "/file", unix.O_PATH, "ok"},
		{"O_WRONLY on a dir", "/dir", unix.O_WRONLY, "EISDIR"},
		{"O_RDWR on a dir", "/dir", unix.O_RDWR, "EISDIR"},
		{"missing with trailing slash", "/nope/", unix.O_RDONLY, "ENOENT"},
		{"file with trailing slash", "/file/", unix.O_RDONLY, "ENOTDIR"},
		{"create in a missing dir", "/nope/x", unix.O_CREAT | unix.O_WRONLY, "ENOENT"},
		{"dot", "/dir/.", unix.O_RDONLY, "ok"},
		{"O_TMPFILE", "/dir", unix.O_TMPFILE | unix.O_RDWR, "ENOTSUP"}, // EOPNOTSUPP
		{"loop", "/loop", unix.O_RDONLY, "ELOOP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := e.open(e.ctx, tc.path, tc.flags, 0o644)
			if got := errno(err); got != tc.want {
				t.Fatalf("open(%q, %#x) = %s, want %s", tc.path, tc.flags, got, tc.want)
			}
			if f != nil {
				f.Put()
			}
		})
	}
	// O_CREAT through a dangling symlink creates its target.
	f, err := e.open(e.ctx, "/dangling", unix.O_CREAT|unix.O_WRONLY, 0o600)
	if err != nil {
		t.Fatalf("O_CREAT through a dangling symlink: %v", err)
	}
	f.Put()
	if st := mustStat(e, "/nowhere"); st.Mode != unix.S_IFREG|0o600 {
		t.Errorf("created target mode %o", st.Mode)
	}
	// umask applies to O_CREAT.
	f, _ = e.open(e.ctx, "/masked", unix.O_CREAT|unix.O_WRONLY, 0o666)
	f.Put()
	if st := mustStat(e, "/masked"); st.Mode != unix.S_IFREG|0o644 {
		t.Errorf("umask 022: mode %o", st.Mode)
	}
	// O_TRUNC and O_APPEND.
	e.writeFile("/t", "hello world", 0o644)
	f, _ = e.open(e.ctx, "/t", unix.O_WRONLY|unix.O_TRUNC, 0)
	f.Put()
	if s, _ := e.readFile(e.ctx, "/t"); s != "" {
		t.Errorf("after O_TRUNC: %q", s)
	}
	e.writeFile("/t", "abc", 0o644)
	f, _ = e.open(e.ctx, "/t", unix.O_WRONLY|unix.O_APPEND, 0)
	f.Seek(0, unix.SEEK_SET)
	f.Write(root, []byte("def"))
	f.Pwrite(root, []byte("ghi"), 0) // Linux appends even for pwrite
	f.Put()
	if s, _ := e.readFile(e.ctx, "/t"); s != "abcdefghi" {
		t.Errorf("O_APPEND: %q", s)
	}
	// Access modes.
	f, _ = e.open(e.ctx, "/t", unix.O_RDONLY, 0)
	if _, err := f.Write(root, []byte("x")); err != unix.EBADF {
		t.Errorf("write to O_RDONLY: %v", err)
	}
	f.Put()
	f, _ = e.open(e.ctx, "/t", unix.O_PATH, 0)
	if _, err := f.Read(make([]byte, 1)); err != unix.EBADF {
		t.Errorf("read from O_PATH: %v", err)
	}
	f.Put()
	// openat2 is strict where open is lenient.
	for _, tc := range []struct {
		how  fs.OpenHow
		want string
	}{
		{fs.OpenHow{Flags: unix.O_PATH | unix.O_RDWR}, "EINVAL"},
		{fs.OpenHow{Flags: unix.O_RDONLY, Mode: 0o644}, "EINVAL"},
		{fs.OpenHow{Flags: unix.O_CREAT | unix.O_WRONLY, Mode: 0o10644}, "EINVAL"},
		{fs.OpenHow{Flags: 1 << 40}, "EINVAL"},
		{fs.OpenHow{Resolve: 1 << 20}, "EINVAL"},
		{fs.OpenHow{Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_IN_ROOT}, "EINVAL"},
		{fs.OpenHow{Flags: unix.O_CREAT | unix.O_WRONLY, Resolve: 0x20}, "EAGAIN"},
	} {
		f, err := e.v.Openat(e.ctx, nil, "/t", tc.how)
		if got := errno(err); got != tc.want {
			t.Errorf("openat2(%+v) = %s, want %s", tc.how, got, tc.want)
		}
		if f != nil {
			f.Put()
		}
	}
	// open(2) drops what O_PATH does not allow.
	f, err = e.open(e.ctx, "/t", unix.O_PATH|unix.O_RDWR|unix.O_TRUNC, 0)
	if err != nil || f.Mode()&fs.FmodePath == 0 {
		t.Fatalf("open O_PATH|O_RDWR: %v", err)
	}
	f.Put()
	if s, _ := e.readFile(e.ctx, "/t"); s != "abcdefghi" {
		t.Errorf("O_PATH|O_TRUNC truncated: %q", s)
	}
}

func TestResolveFlags(t *testing.T) {
	e := newEnv(t)
	walkTree(e)
	e.mkdir("/dir/sub/deep", 0o755)
	e.symlink("/file", "/dir/sub/absfile")
	e.symlink("../../file", "/dir/sub/upfile")
	e.symlink("../file", "/dir/sub/okfile")
	e.writeFile("/dir/sub/here", "here", 0o644)
	e.mkdir("/dir/sub/mnt", 0o755)
	e.mount("none", "/dir/sub/mnt", "tmpfs", 0, "")
	e.writeFile("/dir/sub/mnt/m", "m", 0o644)
	base, err := e.open(e.ctx, "/dir/sub", unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer base.Put()
	for _, tc := range []struct {
		name    string
		path    string
		resolve uint64
		want    string
		reached string
	}{
		{"beneath plain", "here", unix.RESOLVE_BENEATH, "ok", "/dir/sub/here"},
		{"beneath down and up", "deep/../here", unix.RESOLVE_BENEATH, "ok", "/dir/sub/here"},
		{"beneath dotdot escape", "../file", unix.RESOLVE_BENEATH, "EXDEV", ""},
		{"beneath dotdot at root", "..", unix.RESOLVE_BENEATH, "EXDEV", ""},
		{"beneath absolute", "/file", unix.RESOLVE_BENEATH, "EXDEV", ""},
		{"beneath absolute symlink", "absfile", unix.RESOLVE_BENEATH, "EXDEV", ""},
		{"beneath relative symlink out", "upfile", unix.RESOLVE_BENEATH, "EXDEV", ""},
		{"beneath relative symlink out by one", "okfile", unix.RESOLVE_BENEATH, "EXDEV", ""},
		{"beneath into a mount", "mnt/m", unix.RESOLVE_BENEATH, "ok", "/dir/sub/mnt/m"},
		{"in_root dotdot clamps", "../../../here", unix.RESOLVE_IN_ROOT, "ok", "/dir/sub/here"},
		{"in_root absolute", "/here", unix.RESOLVE_IN_ROOT, "ok", "/dir/sub/here"},
		{"in_root absolute symlink", "absfile", unix.RESOLVE_IN_ROOT, "ENOENT", ""},
		{"in_root relative symlink clamps", "upfile", unix.RESOLVE_IN_ROOT, "ENOENT", ""},
		{"no_symlinks", "okfile", unix.RESOLVE_NO_SYMLINKS, "ELOOP", ""},
		{"no_symlinks plain", "here", unix.RESOLVE_NO_SYMLINKS, "ok", "/dir/sub/here"},
		{"no_xdev into a mount", "mnt/m", unix.RESOLVE_NO_XDEV, "EXDEV", ""},
		{"no_xdev same mount", "deep/..", unix.RESOLVE_NO_XDEV, "ok", "/dir/sub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := e.v.Openat(e.ctx, base, tc.path, fs.OpenHow{Flags: unix.O_PATH, Resolve: tc.resolve})
			if got := errno(err); got != tc.want {
				t.Fatalf("openat2(%q, %#x) = %s, want %s", tc.path, tc.resolve, got, tc.want)
			}
			if f != nil {
				defer f.Put()
				if st := f.Stat(); st.Ino != e.ino(tc.reached) {
					t.Errorf("reached ino %d, want %s", st.Ino, tc.reached)
				}
			}
		})
	}
	// IN_ROOT: an absolute symlink lands inside the root.
	e.writeFile("/dir/sub/file", "inner", 0o644)
	f, err := e.v.Openat(e.ctx, base, "absfile", fs.OpenHow{Flags: unix.O_RDONLY, Resolve: unix.RESOLVE_IN_ROOT})
	if err != nil {
		t.Fatalf("in_root absfile: %v", err)
	}
	if st := f.Stat(); st.Ino != e.ino("/dir/sub/file") {
		t.Error("IN_ROOT absolute symlink escaped")
	}
	f.Put()
}

// magicFS makes every symlink named "magic*" a magic link to /dir.
type magicFS struct {
	fs.SuperOperations
	target func() fs.Path
}

func (m magicFS) JumpLink(ino *fs.Inode) (fs.Path, error) {
	body, _ := m.Readlink(ino)
	if body == "magic" {
		return m.target(), nil
	}
	return fs.Path{}, nil
}

func TestMagicLinks(t *testing.T) {
	e := newEnv(t)
	walkTree(e)
	e.mkdir("/proc", 0o755)
	e.mount("none", "/proc", "tmpfs", 0, "")
	e.symlink("magic", "/proc/cwd")
	e.symlink("dir", "/proc/plain")
	p, err := e.v.Lookup(e.ctx, nil, "/proc", fs.LookupFollow)
	if err != nil {
		t.Fatal(err)
	}
	sb := p.Dentry.Inode().SB()
	p.Put()
	dirPath, err := e.v.Lookup(e.ctx, nil, "/dir", fs.LookupFollow)
	if err != nil {
		t.Fatal(err)
	}
	defer dirPath.Put()
	// The lookup of /dir above is held while the test runs; the
	// magic link hands out another reference each time.
	sb.Ops = magicFS{sb.Ops, func() fs.Path { return dirPath.Hold() }}
	base, err := e.open(e.ctx, "/proc", unix.O_PATH, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer base.Put()
	for _, tc := range []struct {
		path    string
		resolve uint64
		want    string
	}{
		{"/proc/cwd/file", 0, "ok"},
		{"/proc/cwd/file", unix.RESOLVE_NO_MAGICLINKS, "ELOOP"},
		{"/proc/plain", unix.RESOLVE_NO_MAGICLINKS, "ENOENT"}, // a plain relative link, to /proc/dir
		{"cwd/file", unix.RESOLVE_BENEATH, "EXDEV"},
		{"cwd/file", unix.RESOLVE_IN_ROOT, "EXDEV"},
		{"/proc/cwd", unix.RESOLVE_NO_XDEV, "EXDEV"},
	} {
		dirf := (*fs.File)(nil)
		if !strings.HasPrefix(tc.path, "/") {
			dirf = base
		}
		f, err := e.v.Openat(e.ctx, dirf, tc.path, fs.OpenHow{Flags: unix.O_PATH, Resolve: tc.resolve})
		if got := errno(err); got != tc.want {
			t.Errorf("openat2(%q, %#x) = %s, want %s", tc.path, tc.resolve, got, tc.want)
		}
		if f != nil {
			f.Put()
		}
	}
	if st, err := e.stat(e.ctx, "/proc/cwd"); err != nil || st.Ino != e.ino("/dir") {
		t.Errorf("stat through a magic link: %v", err)
	}
	sb.Ops = sb.Ops.(magicFS).SuperOperations
}
