package fs_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nsvm/nsvm/fs"
)

func TestPermissions(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/priv", 0o700)
	e.writeFile("/priv/secret", "s", 0o644)
	e.writeFile("/ro", "r", 0o644)
	e.writeFile("/none", "n", 0o000)
	e.writeFile("/noexec", "x", 0o644)
	e.writeFile("/exec", "x", 0o744)
	e.writeFile("/grp", "g", 0o070)
	e.writeFile("/grpdeny", "g", 0o607) // group gets nothing, others everything
	e.mkdir("/search", 0o711)           // searchable, not listable
	e.writeFile("/search/f", "f", 0o644)
	for _, p := range []string{"/grp", "/grpdeny"} {
		if err := e.v.Fchownat(e.ctx, nil, p, 0, 50, 0); err != nil {
			t.Fatal(err)
		}
	}
	member := &cred{uid: 1002, gid: 1002, groups: []uint32{50}}
	readSearch := &cred{uid: 1003, gid: 1003, caps: 1 << fs.CapDacReadSearch}
	override := &cred{uid: 1004, gid: 1004, caps: 1 << fs.CapDacOverride}
	for _, tc := range []struct {
		name  string
		cred  *cred
		path  string
		flags int
		want  string
	}{
		{"search denied", alice, "/priv/secret", unix.O_RDONLY, "EACCES"},
		{"search denied for stat too", alice, "/priv/secret", -1, "EACCES"},
		{"root searches anything", root, "/priv/secret", unix.O_RDONLY, "ok"},
		{"others may read", alice, "/ro", unix.O_RDONLY, "ok"},
		{"others may not write", alice, "/ro", unix.O_WRONLY, "EACCES"},
		{"O_TRUNC needs write", alice, "/ro", unix.O_RDONLY | unix.O_TRUNC, "EACCES"},
		{"mode 000 for alice", alice, "/none", unix.O_RDONLY, "EACCES"},
		{"mode 000 for root", root, "/none", unix.O_RDWR, "ok"},
		{"DAC_READ_SEARCH reads", readSearch, "/none", unix.O_RDONLY, "ok"},
		{"DAC_READ_SEARCH does not write", readSearch, "/none", unix.O_WRONLY, "EACCES"},
		{"DAC_READ_SEARCH searches", readSearch, "/priv/secret", unix.O_RDONLY, "ok"},
		{"DAC_OVERRIDE writes", override, "/none", unix.O_WRONLY, "ok"},
		{"group member reads", member, "/grp", unix.O_RDONLY, "ok"},
		{"group class denies though others allow", member, "/grpdeny", unix.O_RDONLY, "EACCES"},
		{"non-member gets others' bits", alice, "/grpdeny", unix.O_RDWR, "ok"},
		{"search-only dir: lookup works", alice, "/search/f", unix.O_RDONLY, "ok"},
		{"search-only dir: listing does not", alice, "/search", unix.O_RDONLY, "EACCES"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.flags == -1 {
				_, err = e.stat(e.as(tc.cred), tc.path)
			} else {
				var f *fs.File
				f, err = e.open(e.as(tc.cred), tc.path, tc.flags, 0)
				if f != nil {
					f.Put()
				}
			}
			if got := errno(err); got != tc.want {
				t.Errorf("= %s, want %s", got, tc.want)
			}
		})
	}
	// access(X_OK): root may execute only what has some x bit.
	for _, tc := range []struct {
		path string
		want string
	}{{"/noexec", "EACCES"}, {"/exec", "ok"}} {
		if got := errno(e.v.Faccessat(e.ctx, nil, tc.path, unix.X_OK, 0)); got != tc.want {
			t.Errorf("root access(%s, X_OK) = %s, want %s", tc.path, got, tc.want)
		}
	}
	if got := errno(e.v.Faccessat(e.as(alice), nil, "/exec", unix.X_OK, 0)); got != "EACCES" {
		t.Errorf("alice access(/exec, X_OK) = %s", got)
	}
}

func TestStickyAndOwnership(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/tmp", 0o1777)
	e.mkdir("/plain", 0o777)
	for _, d := range []string{"/tmp", "/plain"} {
		f, err := e.open(e.as(alice), d+"/a", unix.O_CREAT|unix.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.Put()
	}
	if st := mustStat(e, "/tmp/a"); st.UID != 1000 || st.GID != 1000 || st.Mode != unix.S_IFREG|0o644 {
		t.Errorf("alice's file: %+v", st)
	}
	if err := e.v.Unlinkat(e.as(bob), nil, "/tmp/a", 0); err != unix.EPERM {
		t.Errorf("bob unlinks alice's file in a sticky dir: %v, want EPERM", err)
	}
	if err := e.v.Renameat2(e.as(bob), nil, "/tmp/a", nil, "/tmp/b", 0); err != unix.EPERM {
		t.Errorf("bob renames alice's file in a sticky dir: %v, want EPERM", err)
	}
	if err := e.v.Unlinkat(e.as(bob), nil, "/plain/a", 0); err != nil {
		t.Errorf("bob unlinks alice's file in a plain 0777 dir: %v", err)
	}
	fowner := &cred{uid: 7, gid: 7, caps: 1 << fs.CapFowner}
	if err := e.v.Unlinkat(&fs.Ctx{Cred: fowner, FS: e.fss, MntNS: e.ns}, nil, "/tmp/a", 0); err != unix.EACCES {
		// CAP_FOWNER passes the sticky check but not the write check on the directory... which 1777 grants.
		if err != nil {
			t.Errorf("CAP_FOWNER unlink in sticky dir: %v", err)
		}
	}
	// chmod/chown.
	e.writeFile("/f", "x", 0o644)
	if err := e.v.Fchownat(e.ctx, nil, "/f", 1000, 1000, 0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"bob chmods alice's file", func() error { return e.v.Fchmodat(e.as(bob), nil, "/f", 0o777, 0) }, "EPERM"},
		{"alice chmods her file", func() error { return e.v.Fchmodat(e.as(alice), nil, "/f", 0o600, 0) }, "ok"},
		{"alice gives it away", func() error { return e.v.Fchownat(e.as(alice), nil, "/f", 1001, fs.NoID, 0) }, "EPERM"},
		{"alice chowns to herself", func() error { return e.v.Fchownat(e.as(alice), nil, "/f", 1000, fs.NoID, 0) }, "ok"},
		{"alice chgrps to a group she is not in", func() error { return e.v.Fchownat(e.as(alice), nil, "/f", fs.NoID, 50, 0) }, "EPERM"},
		{"bob sets times", func() error {
			return e.v.Utimensat(e.as(bob), nil, "/f", &[2]fs.Timespec{{Sec: 1}, {Sec: 2}}, 0)
		}, "EPERM"},
		{"bob touches without write permission", func() error { return e.v.Utimensat(e.as(bob), nil, "/f", nil, 0) }, "EACCES"},
		{"alice sets times", func() error {
			return e.v.Utimensat(e.as(alice), nil, "/f", &[2]fs.Timespec{{Sec: 1}, {Nsec: fs.UtimeOmit}}, 0)
		}, "ok"},
	} {
		if got := errno(tc.do()); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	if st := mustStat(e, "/f"); st.Atime.Sec != 1 || st.Mode != unix.S_IFREG|0o600 {
		t.Errorf("after utimensat: %+v", st)
	}
	// setgid: a non-member's chmod g+s is silently dropped; writing
	// clears setuid; chown clears both.
	e.writeFile("/s", "x", 0o755)
	e.v.Fchownat(e.ctx, nil, "/s", 1000, 50, 0)
	if err := e.v.Fchmodat(e.as(alice), nil, "/s", 0o6755, 0); err != nil {
		t.Fatal(err)
	}
	if st := mustStat(e, "/s"); st.Mode != unix.S_IFREG|0o4755 {
		t.Errorf("alice's chmod 6755 in group 50: %o, want 4755", st.Mode)
	}
	e.v.Fchmodat(e.ctx, nil, "/s", 0o6755, 0)
	f, _ := e.open(e.as(alice), "/s", unix.O_WRONLY, 0)
	f.Write(alice, []byte("y"))
	f.Put()
	if st := mustStat(e, "/s"); st.Mode != unix.S_IFREG|0o755 {
		t.Errorf("after an unprivileged write: %o, want 755", st.Mode)
	}
	e.v.Fchmodat(e.ctx, nil, "/s", 0o6755, 0)
	e.v.Fchownat(e.ctx, nil, "/s", 1001, fs.NoID, 0)
	if st := mustStat(e, "/s"); st.Mode != unix.S_IFREG|0o755 {
		t.Errorf("after chown: %o, want 755", st.Mode)
	}
	// A set-group-ID directory hands down its group, and its bit to subdirectories.
	e.mkdir("/sg", 0o2777)
	e.v.Fchownat(e.ctx, nil, "/sg", 0, 77, 0)
	e.v.Fchmodat(e.ctx, nil, "/sg", 0o2777, 0)
	if err := e.v.Mkdirat(e.as(alice), nil, "/sg/d", 0o755); err != nil {
		t.Fatal(err)
	}
	if st := mustStat(e, "/sg/d"); st.GID != 77 || st.Mode != unix.S_IFDIR|0o2755 {
		t.Errorf("subdir of a setgid dir: gid %d mode %o", st.GID, st.Mode)
	}
}

func TestNamespaceOps(t *testing.T) {
	e := newEnv(t)
	setup := func() {
		for _, p := range []string{"/a", "/a/b", "/a/b/c", "/empty", "/full", "/full/x", "/mnt"} {
			e.v.Mkdirat(e.ctx, nil, p, 0o755)
		}
		e.writeFile("/file", "f", 0o644)
		e.writeFile("/file2", "g", 0o644)
		e.v.Linkat(e.ctx, nil, "/file", nil, "/hard", 0)
	}
	setup()
	e.mount("none", "/mnt", "tmpfs", 0, "")
	e.writeFile("/mnt/m", "m", 0o644)
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"rmdir non-empty", func() error { return e.v.Unlinkat(e.ctx, nil, "/full", unix.AT_REMOVEDIR) }, "ENOTEMPTY"},
		{"rmdir .", func() error { return e.v.Unlinkat(e.ctx, nil, "/a/.", unix.AT_REMOVEDIR) }, "EINVAL"},
		{"rmdir ..", func() error { return e.v.Unlinkat(e.ctx, nil, "/a/b/..", unix.AT_REMOVEDIR) }, "ENOTEMPTY"},
		{"rmdir /", func() error { return e.v.Unlinkat(e.ctx, nil, "/", unix.AT_REMOVEDIR) }, "EBUSY"},
		{"rmdir a file", func() error { return e.v.Unlinkat(e.ctx, nil, "/file", unix.AT_REMOVEDIR) }, "ENOTDIR"},
		{"rmdir a mountpoint", func() error { return e.v.Unlinkat(e.ctx, nil, "/mnt", unix.AT_REMOVEDIR) }, "EBUSY"},
		{"unlink a dir", func() error { return e.v.Unlinkat(e.ctx, nil, "/empty", 0) }, "EISDIR"},
		{"unlink a file with a slash", func() error { return e.v.Unlinkat(e.ctx, nil, "/file/", 0) }, "ENOTDIR"},
		{"unlink missing", func() error { return e.v.Unlinkat(e.ctx, nil, "/nope", 0) }, "ENOENT"},
		{"unlink ..", func() error { return e.v.Unlinkat(e.ctx, nil, "/a/..", 0) }, "EISDIR"},
		{"unlinkat bad flags", func() error { return e.v.Unlinkat(e.ctx, nil, "/file", 1) }, "EINVAL"},
		{"mkdir existing", func() error { return e.v.Mkdirat(e.ctx, nil, "/a", 0o755) }, "EEXIST"},
		{"mkdir ..", func() error { return e.v.Mkdirat(e.ctx, nil, "/a/..", 0o755) }, "EEXIST"},
		{"mkdir with slash", func() error { return e.v.Mkdirat(e.ctx, nil, "/new/", 0o755) }, "ok"},
		{"mknod with slash, free name", func() error { return e.v.Mknodat(e.ctx, nil, "/node/", unix.S_IFIFO|0o644, 0) }, "ENOENT"},
		{"mknod with slash, taken name", func() error { return e.v.Mknodat(e.ctx, nil, "/file/", unix.S_IFIFO|0o644, 0) }, "EEXIST"},
		{"mknod a dir", func() error { return e.v.Mknodat(e.ctx, nil, "/d", unix.S_IFDIR|0o755, 0) }, "EPERM"},
		{"mknod a device as alice", func() error { return e.v.Mknodat(e.as(alice), nil, "/tmpdev", unix.S_IFCHR|0o644, 0) }, "EACCES"},
		{"mknod bad type", func() error { return e.v.Mknodat(e.ctx, nil, "/x", 0o170000, 0) }, "EINVAL"},
		{"symlink empty target", func() error { return e.v.Symlinkat(e.ctx, "", nil, "/sl") }, "ENOENT"},
		{"symlink existing", func() error { return e.v.Symlinkat(e.ctx, "x", nil, "/file") }, "EEXIST"},
		{"rename into own subtree", func() error { return e.v.Renameat2(e.ctx, nil, "/a", nil, "/a/b/c/a", 0) }, "EINVAL"},
		{"rename onto own ancestor", func() error { return e.v.Renameat2(e.ctx, nil, "/a/b/c", nil, "/a", 0) }, "ENOTEMPTY"},
		{"rename a file over a dir", func() error { return e.v.Renameat2(e.ctx, nil, "/file2", nil, "/empty", 0) }, "EISDIR"},
		{"rename a dir over a file", func() error { return e.v.Renameat2(e.ctx, nil, "/empty", nil, "/file2", 0) }, "ENOTDIR"},
		{"rename a dir over a full dir", func() error { return e.v.Renameat2(e.ctx, nil, "/empty", nil, "/full", 0) }, "ENOTEMPTY"},
		{"rename across mounts", func() error { return e.v.Renameat2(e.ctx, nil, "/file2", nil, "/mnt/file2", 0) }, "EXDEV"},
		{"rename a mountpoint", func() error { return e.v.Renameat2(e.ctx, nil, "/mnt", nil, "/mnt2", 0) }, "EBUSY"},
		{"rename .", func() error { return e.v.Renameat2(e.ctx, nil, "/a/.", nil, "/z", 0) }, "EBUSY"},
		{"rename onto ..", func() error { return e.v.Renameat2(e.ctx, nil, "/file2", nil, "/a/..", 0) }, "EBUSY"},
		{"rename missing", func() error { return e.v.Renameat2(e.ctx, nil, "/nope", nil, "/z", 0) }, "ENOENT"},
		{"rename file with trailing slash", func() error { return e.v.Renameat2(e.ctx, nil, "/file2/", nil, "/z", 0) }, "ENOTDIR"},
		{"rename file to a trailing slash", func() error { return e.v.Renameat2(e.ctx, nil, "/file2", nil, "/z/", 0) }, "ENOTDIR"},
		{"noreplace existing", func() error { return e.v.Renameat2(e.ctx, nil, "/file2", nil, "/file", unix.RENAME_NOREPLACE) }, "EEXIST"},
		{"exchange with missing", func() error { return e.v.Renameat2(e.ctx, nil, "/file2", nil, "/z", unix.RENAME_EXCHANGE) }, "ENOENT"},
		{"exchange|noreplace", func() error {
			return e.v.Renameat2(e.ctx, nil, "/file2", nil, "/file", unix.RENAME_EXCHANGE|unix.RENAME_NOREPLACE)
		}, "EINVAL"},
		{"rename hard links of one inode", func() error { return e.v.Renameat2(e.ctx, nil, "/file", nil, "/hard", 0) }, "ok"},
		{"link a dir", func() error { return e.v.Linkat(e.ctx, nil, "/a", nil, "/alink", 0) }, "EPERM"},
		{"link across mounts", func() error { return e.v.Linkat(e.ctx, nil, "/file", nil, "/mnt/l", 0) }, "EXDEV"},
		{"link onto existing", func() error { return e.v.Linkat(e.ctx, nil, "/file", nil, "/file2", 0) }, "EEXIST"},
		{"link AT_EMPTY_PATH unprivileged", func() error { return e.v.Linkat(e.as(alice), nil, "", nil, "/l", unix.AT_EMPTY_PATH) }, "ENOENT"},
		{"readlink a file", func() error { _, err := e.v.Readlinkat(e.ctx, nil, "/file"); return err }, "EINVAL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errno(tc.do()); got != tc.want {
				t.Errorf("%s, want %s", got, tc.want)
			}
		})
	}
	// The rename of two names of one inode left both.
	if !e.exists("/file") || !e.exists("/hard") {
		t.Error("rename between hard links removed one")
	}
	if st := mustStat(e, "/file"); st.Nlink != 2 {
		t.Errorf("nlink %d", st.Nlink)
	}
	// Rename replaces, and a renamed directory's .. follows it.
	if err := e.v.Renameat2(e.ctx, nil, "/a/b", nil, "/empty", 0); err != nil {
		t.Fatalf("rename dir over empty dir: %v", err)
	}
	if st := mustStat(e, "/empty/c/../.."); st.Ino != e.ino("/") {
		t.Error("renamed dir's .. is stale")
	}
	if e.exists("/a/b") {
		t.Error("source still there")
	}
	if st := mustStat(e, "/a"); st.Nlink != 2 {
		t.Errorf("/a nlink %d after losing its subdir", st.Nlink)
	}
	// Exchange swaps.
	e.writeFile("/x1", "one", 0o644)
	e.mkdir("/x2", 0o755)
	i1, i2 := e.ino("/x1"), e.ino("/x2")
	if err := e.v.Renameat2(e.ctx, nil, "/x1", nil, "/x2", unix.RENAME_EXCHANGE); err != nil {
		t.Fatal(err)
	}
	if e.ino("/x1") != i2 || e.ino("/x2") != i1 {
		t.Error("RENAME_EXCHANGE did not swap")
	}
	if s, _ := e.readFile(e.ctx, "/x2"); s != "one" {
		t.Errorf("x2 reads %q", s)
	}
	// Readlink.
	e.symlink("some/where", "/sl")
	if s, err := e.v.Readlinkat(e.ctx, nil, "/sl"); s != "some/where" || err != nil {
		t.Errorf("readlink %q %v", s, err)
	}
	// An unlinked open file stays readable until closed.
	f, _ := e.open(e.ctx, "/file2", unix.O_RDONLY, 0)
	if err := e.v.Unlinkat(e.ctx, nil, "/file2", 0); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if n, _ := f.Read(buf); string(buf[:n]) != "g" {
		t.Errorf("read of an unlinked file: %q", buf[:n])
	}
	if st := f.Stat(); st.Nlink != 0 {
		t.Errorf("nlink of unlinked file %d", st.Nlink)
	}
	if err := e.v.Linkat(e.ctx, f, "", nil, "/back", unix.AT_EMPTY_PATH); err != unix.ENOENT {
		t.Errorf("linking an unlinked file back: %v, want ENOENT", err)
	}
	f.Put()
}

func TestReadOnly(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/ro", 0o755)
	e.mount("none", "/ro", "tmpfs", 0, "")
	e.writeFile("/ro/f", "data", 0o644)
	e.mkdir("/ro/d", 0o755)
	e.mount("", "/ro", "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"create", func() error { _, err := e.open(e.ctx, "/ro/new", unix.O_CREAT|unix.O_WRONLY, 0o644); return err }, "EROFS"},
		{"open for write", func() error { _, err := e.open(e.ctx, "/ro/f", unix.O_WRONLY, 0); return err }, "EROFS"},
		{"O_TRUNC", func() error { _, err := e.open(e.ctx, "/ro/f", unix.O_RDONLY|unix.O_TRUNC, 0); return err }, "EROFS"},
		{"read is fine", func() error {
			f, err := e.open(e.ctx, "/ro/f", unix.O_RDONLY, 0)
			if f != nil {
				f.Put()
			}
			return err
		}, "ok"},
		{"O_CREAT of an existing file for reading", func() error {
			f, err := e.open(e.ctx, "/ro/f", unix.O_CREAT|unix.O_RDONLY, 0)
			if f != nil {
				f.Put()
			}
			return err
		}, "ok"},
		{"mkdir existing: EEXIST wins", func() error { return e.v.Mkdirat(e.ctx, nil, "/ro/d", 0o755) }, "EEXIST"},
		{"mkdir", func() error { return e.v.Mkdirat(e.ctx, nil, "/ro/e", 0o755) }, "EROFS"},
		{"unlink", func() error { return e.v.Unlinkat(e.ctx, nil, "/ro/f", 0) }, "EROFS"},
		{"unlink missing: EROFS first", func() error { return e.v.Unlinkat(e.ctx, nil, "/ro/nope", 0) }, "EROFS"},
		{"rmdir", func() error { return e.v.Unlinkat(e.ctx, nil, "/ro/d", unix.AT_REMOVEDIR) }, "EROFS"},
		{"rename", func() error { return e.v.Renameat2(e.ctx, nil, "/ro/f", nil, "/ro/g", 0) }, "EROFS"},
		{"chmod", func() error { return e.v.Fchmodat(e.ctx, nil, "/ro/f", 0o600, 0) }, "EROFS"},
		{"truncate", func() error { return e.v.Truncate(e.ctx, "/ro/f", 0) }, "EROFS"},
		{"access W_OK", func() error { return e.v.Faccessat(e.ctx, nil, "/ro/f", unix.W_OK, 0) }, "EROFS"},
		{"access R_OK", func() error { return e.v.Faccessat(e.ctx, nil, "/ro/f", unix.R_OK, 0) }, "ok"},
	} {
		if got := errno(tc.do()); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	st, _ := e.v.Statfs(e.ctx, "/ro")
	if st.Flags&unix.ST_RDONLY == 0 {
		t.Errorf("statfs flags %#x", st.Flags)
	}
	// A read-only bind of a writable mount.
	e.mount("", "/ro", "", unix.MS_REMOUNT, "")
	e.mkdir("/view", 0o755)
	e.mount("/ro", "/view", "", unix.MS_BIND, "")
	e.mount("", "/view", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, "")
	if err := e.v.Unlinkat(e.ctx, nil, "/view/f", 0); err != unix.EROFS {
		t.Errorf("unlink through a read-only bind: %v", err)
	}
	if err := e.v.Unlinkat(e.ctx, nil, "/ro/f", 0); err != nil {
		t.Errorf("unlink through the writable mount: %v", err)
	}
}
