package fs_test

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nsvm/nsvm/fs"
)

func TestMountUmount(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/mnt", 0o755)
	e.writeFile("/mnt/under", "u", 0o644)
	base := e.v.Live()
	e.mount("none", "/mnt", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m,mode=755")
	if e.exists("/mnt/under") {
		t.Error("the mount does not cover the directory")
	}
	e.writeFile("/mnt/over", "o", 0o644)
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"unknown type", func() error { return e.v.Mount(e.ctx, "x", "/mnt", "nofs", 0, "") }, "ENODEV"},
		{"no type", func() error { return e.v.Mount(e.ctx, "x", "/mnt", "", 0, "") }, "EINVAL"},
		{"bad option", func() error { return e.v.Mount(e.ctx, "x", "/mnt", "tmpfs", 0, "bogus=1") }, "EINVAL"},
		{"missing target", func() error { return e.v.Mount(e.ctx, "x", "/nope", "tmpfs", 0, "") }, "ENOENT"},
		{"unprivileged", func() error { return e.v.Mount(e.as(alice), "x", "/mnt", "tmpfs", 0, "") }, "EPERM"},
		{"on a file", func() error { return e.v.Mount(e.ctx, "/mnt", "/mnt/over", "", unix.MS_BIND, "") }, "ENOTDIR"},
		{"umount not a mount root", func() error { return e.v.Umount(e.ctx, "/", 0) }, "EINVAL"},
		{"umount a plain dir", func() error { return e.v.Umount(e.ctx, "/mnt/..", 0) }, "EINVAL"},
		{"umount bad flags", func() error { return e.v.Umount(e.ctx, "/mnt", 0x100) }, "EINVAL"},
		{"umount unprivileged", func() error { return e.v.Umount(e.as(alice), "/mnt", 0) }, "EPERM"},
	} {
		if got := errno(tc.do()); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	// Busy: an open file, a cwd, a submount.
	f, _ := e.open(e.ctx, "/mnt/over", unix.O_RDONLY, 0)
	if err := e.v.Umount(e.ctx, "/mnt", 0); err != unix.EBUSY {
		t.Errorf("umount with an open file: %v", err)
	}
	f.Put()
	e.mkdir("/mnt/sub", 0o755)
	e.mount("none", "/mnt/sub", "tmpfs", 0, "")
	if err := e.v.Umount(e.ctx, "/mnt", 0); err != unix.EBUSY {
		t.Errorf("umount with a submount: %v", err)
	}
	if err := e.v.Umount(e.ctx, "/mnt/sub", 0); err != nil {
		t.Fatal(err)
	}
	if err := e.v.Umount(e.ctx, "/mnt", 0); err != nil {
		t.Fatal(err)
	}
	if !e.exists("/mnt/under") {
		t.Error("after umount the directory is not uncovered")
	}
	if got := e.v.Live(); got != base {
		t.Errorf("after umount: %s", got.Diff(base))
	}
	// MNT_DETACH with an open file: the file keeps working and its
	// mount lives until the file is closed.
	e.mount("none", "/mnt", "tmpfs", 0, "")
	e.writeFile("/mnt/keep", "kept", 0o644)
	f, _ = e.open(e.ctx, "/mnt/keep", unix.O_RDWR, 0)
	if err := e.v.Umount(e.ctx, "/mnt", unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	if e.exists("/mnt/keep") {
		t.Error("detached mount still visible")
	}
	buf := make([]byte, 8)
	if n, _ := f.Read(buf); string(buf[:n]) != "kept" {
		t.Errorf("read after detach %q", buf[:n])
	}
	if e.v.Live() == base {
		t.Error("detached mount freed while a file is open on it")
	}
	f.Put()
	if got := e.v.Live(); got != base {
		t.Errorf("after the last close: %s", got.Diff(base))
	}
}

func TestBindMounts(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/src", "/src/sub", "/dst", "/dst2"} {
		e.mkdir(p, 0o755)
	}
	e.writeFile("/src/f", "f", 0o644)
	e.mount("none", "/src/sub", "tmpfs", 0, "")
	e.writeFile("/src/sub/g", "g", 0o644)
	e.mount("/src", "/dst", "", unix.MS_BIND, "")
	if !e.exists("/dst/f") || e.exists("/dst/sub/g") {
		t.Error("a plain bind must show the directory but not the submount")
	}
	e.mount("/src", "/dst2", "", unix.MS_BIND|unix.MS_REC, "")
	if !e.exists("/dst2/sub/g") {
		t.Error("a recursive bind must carry the submount")
	}
	// A file bind.
	e.writeFile("/target", "t", 0o644)
	e.mount("/src/f", "/target", "", unix.MS_BIND, "")
	if s, _ := e.readFile(e.ctx, "/target"); s != "f" {
		t.Errorf("file bind reads %q", s)
	}
	// ".." from the root of a bind of a subdirectory goes to the
	// bind's mountpoint's parent, not the source's.
	e.mkdir("/src/sub2", 0o755)
	e.mkdir("/b", 0o755)
	e.mkdir("/b/in", 0o755)
	e.mount("/src/sub2", "/b/in", "", unix.MS_BIND, "")
	if st := mustStat(e, "/b/in/.."); st.Ino != e.ino("/b") {
		t.Error(".. of a bind root")
	}
	// Unbindable.
	e.mount("", "/src/sub", "", unix.MS_UNBINDABLE, "")
	if err := e.v.Mount(e.ctx, "/src/sub", "/b", "", unix.MS_BIND, ""); err != unix.EINVAL {
		t.Errorf("bind of an unbindable mount: %v", err)
	}
	mi := e.v.Mountinfo(e.ctx)
	if !strings.Contains(mi, " /src/sub rw,relatime unbindable - tmpfs none rw,inode64") {
		t.Errorf("mountinfo:\n%s", mi)
	}
}

func TestPropagation(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/a", "/b", "/c", "/a/x"} {
		e.mkdir(p, 0o755)
	}
	e.mount("none", "/a", "tmpfs", 0, "")
	e.mkdir("/a/x", 0o755)
	e.mkdir("/a/y", 0o755)
	e.mount("", "/a", "", unix.MS_SHARED, "")
	e.mount("/a", "/b", "", unix.MS_BIND, "") // a peer of /a
	e.mount("/a", "/c", "", unix.MS_BIND, "")
	e.mount("", "/c", "", unix.MS_SLAVE, "") // receives from /a and /b only
	e.mount("none", "/a/x", "tmpfs", 0, "")
	e.writeFile("/a/x/new", "n", 0o644)
	if !e.exists("/b/x/new") || !e.exists("/c/x/new") {
		t.Error("a mount on a shared mount must propagate to its peer and its slave")
	}
	e.mount("none", "/c/y", "tmpfs", 0, "")
	e.writeFile("/c/y/slave", "s", 0o644)
	if e.exists("/a/y/slave") || e.exists("/b/y/slave") {
		t.Error("a mount on a slave must not propagate back")
	}
	mi := e.v.Mountinfo(e.ctx)
	lines := strings.Split(strings.TrimSpace(mi), "\n")
	want := []string{" / rw,relatime - tmpfs rootfs rw,mode=755,inode64",
		" /a rw,relatime shared:1 - tmpfs none rw,inode64",
		" /b rw,relatime shared:1 - tmpfs none rw,inode64",
		" /c rw,relatime master:1 - tmpfs none rw,inode64",
		" /a/x rw,relatime shared:2 - tmpfs none rw,inode64",
		" /b/x rw,relatime shared:2 - tmpfs none rw,inode64",
		" /c/x rw,relatime master:2 - tmpfs none rw,inode64",
		" /c/y rw,relatime - tmpfs none rw,inode64"}
	if len(lines) != len(want) {
		t.Fatalf("mountinfo:\n%s", mi)
	}
	for i, w := range want {
		if !strings.HasSuffix(lines[i], w) {
			t.Errorf("line %d: %q, want suffix %q", i, lines[i], w)
		}
	}
	// Umount propagates too.
	if err := e.v.Umount(e.ctx, "/a/x", 0); err != nil {
		t.Fatal(err)
	}
	if e.exists("/b/x/new") || e.exists("/c/x/new") {
		t.Error("umount must propagate to the copies")
	}
	// Private: nothing propagates any more.
	e.mount("", "/b", "", unix.MS_PRIVATE, "")
	e.mount("none", "/b/x", "tmpfs", 0, "")
	e.writeFile("/b/x/p", "p", 0o644)
	if e.exists("/a/x/p") {
		t.Error("a private mount propagated")
	}
	if err := e.v.Mount(e.ctx, "", "/b/x", "", unix.MS_SHARED|unix.MS_PRIVATE, ""); err != unix.EINVAL {
		t.Errorf("two propagation types: %v", err)
	}
}

func TestMountNamespaces(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/mnt", 0o755)
	e.mkdir("/shared", 0o755)
	e.mount("none", "/shared", "tmpfs", 0, "")
	e.mount("", "/shared", "", unix.MS_SHARED, "")
	e.mkdir("/shared/in", 0o755)
	e.mount("none", "/mnt", "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID, "")
	if err := e.v.Chdir(e.ctx, "/mnt"); err != nil {
		t.Fatal(err)
	}
	base := e.v.Live()
	// A child's copy with the same owner: a new mount in it is
	// invisible outside, except under a shared mount, whose copy is
	// its peer.
	cfs, err := e.fss.Copy()
	if err != nil {
		t.Fatal(err)
	}
	cns, err := e.v.CopyMntNS(e.ns, nil, cfs)
	if err != nil {
		t.Fatal(err)
	}
	child := &fs.Ctx{Cred: root, FS: cfs, MntNS: cns}
	if cns.Mounts() != e.ns.Mounts() {
		t.Errorf("copy has %d mounts, original %d", cns.Mounts(), e.ns.Mounts())
	}
	if cwd, _ := e.v.Getcwd(child); cwd != "/mnt" {
		t.Errorf("child cwd %q", cwd)
	}
	// The child's cwd is on the copy: umount in the child is busy, in
	// the parent too (the parent's cwd).
	if err := e.v.Chdir(child, "/"); err != nil {
		t.Fatal(err)
	}
	e.mkdir("/private", 0o755)
	if err := e.v.Mount(child, "none", "/private", "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	f, err := e.open(child, "/private/x", unix.O_CREAT|unix.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Put()
	if e.exists("/private/x") {
		t.Error("the child's mount is visible in the parent")
	}
	if err := e.v.Mount(child, "none", "/shared/in", "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	e.writeFile("/shared/in/both", "b", 0o644)
	if _, err := e.stat(child, "/shared/in/both"); err != nil {
		t.Errorf("a mount under a shared mount did not propagate from the child: %v", err)
	}
	if !strings.Contains(e.v.Mountinfo(child), " /private rw,relatime - tmpfs none rw") {
		t.Errorf("child mountinfo:\n%s", e.v.Mountinfo(child))
	}
	if strings.Contains(e.v.Mountinfo(e.ctx), "/private") {
		t.Error("parent mountinfo shows the child's mount")
	}
	// Removing a directory that another namespace mounted on detaches
	// that mount; one mounted on in the caller's namespace is EBUSY.
	if err := e.v.Unlinkat(child, nil, "/private", unix.AT_REMOVEDIR); err != unix.EBUSY {
		t.Errorf("rmdir of a local mountpoint: %v", err)
	}
	if err := e.v.Unlinkat(e.ctx, nil, "/private", unix.AT_REMOVEDIR); err != nil {
		t.Errorf("rmdir of another namespace's mountpoint: %v", err)
	}
	if _, err := e.stat(child, "/private/x"); err != unix.ENOENT {
		t.Errorf("the child's mount survived rmdir of its mountpoint: %v", err)
	}
	if err := e.v.Umount(child, "/shared/in", 0); err != nil {
		t.Fatal(err)
	}
	cfs.Put()
	cns.Put()
	if got := e.v.Live(); got != base {
		t.Errorf("after the child namespace went: %s", got.Diff(base))
	}
	if err := e.v.Chdir(e.ctx, "/"); err != nil {
		t.Fatal(err)
	}
}

func TestLockedMounts(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/ro", 0o755)
	e.mkdir("/ro/sub", 0o755)
	e.mkdir("/shared", 0o755)
	e.mount("none", "/ro", "tmpfs", unix.MS_NODEV, "")
	e.mkdir("/ro/sub", 0o755)
	e.mount("none", "/ro/sub", "tmpfs", 0, "")
	e.mount("", "/ro", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NODEV, "")
	e.mount("none", "/shared", "tmpfs", 0, "")
	e.mount("", "/shared", "", unix.MS_SHARED, "")
	// The child's user namespace: a different owner, in which the
	// child's credentials have every capability.
	type userns struct{ name string }
	uns := &userns{"child"}
	ucred := &cred{caps: allCaps, userNS: uns}
	cfs, _ := e.fss.Copy()
	cns, err := e.v.CopyMntNS(e.ns, uns, cfs)
	if err != nil {
		t.Fatal(err)
	}
	defer cfs.Put()
	defer cns.Put()
	child := &fs.Ctx{Cred: ucred, FS: cfs, MntNS: cns}
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"umount a locked mount", func() error { return e.v.Umount(child, "/ro/sub", 0) }, "EINVAL"},
		{"umount a locked mount lazily", func() error { return e.v.Umount(child, "/ro/sub", unix.MNT_DETACH) }, "EINVAL"},
		{"clear a locked read-only", func() error { return e.v.Mount(child, "", "/ro", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_NODEV, "") }, "EPERM"},
		{"clear a locked nodev", func() error { return e.v.Mount(child, "", "/ro", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, "") }, "EPERM"},
		{"keep the locks", func() error {
			return e.v.Mount(child, "", "/ro", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NODEV, "")
		}, "ok"},
		{"reveal under a locked mount", func() error { return e.v.Mount(child, "/ro", "/shared", "", unix.MS_BIND, "") }, "EINVAL"},
		{"recursive bind is fine", func() error { return e.v.Mount(child, "/ro", "/shared", "", unix.MS_BIND|unix.MS_REC, "") }, "ok"},
		{"the bind's submount stays locked", func() error { return e.v.Umount(child, "/shared/sub", 0) }, "EINVAL"},
		{"a new tmpfs is allowed (FS_USERNS_MOUNT)", func() error { return e.v.Mount(child, "none", "/ro/sub", "tmpfs", 0, "") }, "ok"},
		{"the parent mounts in its own namespace", func() error { return e.v.Mount(e.ctx, "none", "/ro/sub", "tmpfs", 0, "") }, "ok"},
	} {
		if got := errno(tc.do()); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	// The shared mount is a slave in the copy: the parent's mounts flow
	// in, the child's do not flow out.
	e.mkdir("/shared/p", 0o755)
	if err := e.v.Umount(child, "/shared", unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	e.mount("none", "/shared/p", "tmpfs", 0, "")
	mi := e.v.Mountinfo(child)
	if !strings.Contains(mi, "master:") {
		t.Errorf("child's copy of a shared mount is not a slave:\n%s", mi)
	}
}

func TestMountinfoFormat(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/with space", 0o755)
	e.mount("my src", "/with space", "tmpfs", unix.MS_NOEXEC|unix.MS_NOATIME, "size=64k,nr_inodes=10,uid=5")
	mi := e.v.Mountinfo(e.ctx)
	lines := strings.Split(strings.TrimSpace(mi), "\n")
	if len(lines) != 2 {
		t.Fatalf("mountinfo:\n%s", mi)
	}
	if !strings.HasPrefix(lines[0], "1 1 0:1 / / rw,relatime - tmpfs rootfs rw,mode=755,inode64") {
		t.Errorf("root line %q", lines[0])
	}
	if !strings.HasPrefix(lines[1], "2 1 0:2 / /with\\040space rw,noexec,noatime - tmpfs my\\040src rw,size=64k,nr_inodes=10,uid=5,inode64") {
		t.Errorf("second line %q", lines[1])
	}
	if m := e.v.Mounts(e.ctx); !strings.Contains(m, "my\\040src /with\\040space tmpfs rw,noexec,noatime,size=64k,nr_inodes=10,uid=5,inode64 0 0") {
		t.Errorf("mounts:\n%s", m)
	}
	if fsys := e.v.Filesystems(); fsys != "nodev\ttmpfs\n" {
		t.Errorf("filesystems %q", fsys)
	}
	// A chrooted task sees only what is below its root, relative to it.
	cfs, _ := e.fss.Copy()
	defer cfs.Put()
	c := &fs.Ctx{Cred: root, FS: cfs, MntNS: e.ns}
	if err := e.v.Chroot(c, "/with space", func() bool { return true }); err != nil {
		t.Fatal(err)
	}
	if mi := e.v.Mountinfo(c); !strings.HasPrefix(mi, "2 1 0:2 / / rw,noexec") || strings.Count(mi, "\n") != 1 {
		t.Errorf("chrooted mountinfo:\n%s", mi)
	}
}
