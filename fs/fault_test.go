package fs_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nsvm/nsvm/fs"
)

// TestFailNth fails the 1st, 2nd, ... allocation of one operation until
// it succeeds, and checks after every failure that each live count is
// back at its baseline: the unwind frees everything a failed open,
// mount or copy_mnt_ns allocated.
func TestFailNth(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(e *env)
		op    func(e *env) (undo func(), err error)
		sites int // at least this many distinct injections before success
	}{
		{"open O_CREAT", func(e *env) { e.mkdir("/d", 0o755); e.mkdir("/d/e", 0o755) },
			func(e *env) (func(), error) {
				f, err := e.open(e.ctx, "/d/e/new", unix.O_CREAT|unix.O_RDWR, 0o644)
				if err != nil {
					return nil, err
				}
				return func() { f.Put(); e.v.Unlinkat(e.ctx, nil, "/d/e/new", 0) }, nil
			}, 3},
		{"open through symlinks", func(e *env) { e.mkdir("/d", 0o755); e.writeFile("/d/f", "x", 0o644); e.symlink("d", "/l") },
			func(e *env) (func(), error) {
				f, err := e.open(e.ctx, "/l/f", unix.O_RDONLY, 0)
				if err != nil {
					return nil, err
				}
				return f.Put, nil
			}, 2},
		{"mount tmpfs", func(e *env) { e.mkdir("/m", 0o755) },
			func(e *env) (func(), error) {
				err := e.v.Mount(e.ctx, "none", "/m", "tmpfs", 0, "")
				return func() { e.v.Umount(e.ctx, "/m", 0) }, err
			}, 4},
		{"bind recursive into a shared mount", func(e *env) {
			e.mkdir("/s", 0o755)
			e.mount("none", "/s", "tmpfs", 0, "")
			e.mkdir("/s/a", 0o755)
			e.mount("none", "/s/a", "tmpfs", 0, "")
			e.mkdir("/p", 0o755)
			e.mount("none", "/p", "tmpfs", 0, "")
			e.mount("", "/p", "", unix.MS_SHARED, "")
			e.mkdir("/p/x", 0o755)
			e.mkdir("/q", 0o755)
			e.mount("/p", "/q", "", unix.MS_BIND, "") // a peer that receives a copy
		}, func(e *env) (func(), error) {
			err := e.v.Mount(e.ctx, "/s", "/p/x", "", unix.MS_BIND|unix.MS_REC, "")
			return func() { e.v.Umount(e.ctx, "/p/x", unix.MNT_DETACH) }, err
		}, 2},
		{"copy_mnt_ns", func(e *env) {
			e.mkdir("/a", 0o755)
			e.mount("none", "/a", "tmpfs", 0, "")
			e.mkdir("/a/b", 0o755)
			e.mount("none", "/a/b", "tmpfs", 0, "")
			e.mount("", "/a", "", unix.MS_SHARED, "")
		}, func(e *env) (func(), error) {
			fss, err := e.fss.Copy()
			if err != nil {
				return nil, err
			}
			ns, err := e.v.CopyMntNS(e.ns, "other", fss)
			if err != nil {
				fss.Put()
				return nil, err
			}
			return func() { fss.Put(); ns.Put() }, nil
		}, 3},
		{"write pages", func(e *env) { e.writeFile("/f", "", 0o644) },
			func(e *env) (func(), error) {
				f, err := e.open(e.ctx, "/f", unix.O_RDWR, 0)
				if err != nil {
					return nil, err
				}
				defer f.Put()
				_, err = f.Pwrite(root, make([]byte, 3*fs.PageSize), 0)
				return func() { e.v.Truncate(e.ctx, "/f", 0) }, err
			}, 2},
		{"rename", func(e *env) { e.mkdir("/a", 0o755); e.mkdir("/b", 0o755); e.writeFile("/a/f", "x", 0o644) },
			func(e *env) (func(), error) {
				err := e.v.Renameat2(e.ctx, nil, "/a/f", nil, "/b/g", 0)
				return func() { e.v.Renameat2(e.ctx, nil, "/b/g", nil, "/a/f", 0) }, err
			}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tc.setup(e)
			base := e.v.Live()
			sites := map[string]bool{}
			for n := 1; ; n++ {
				e.failAt, e.allocs, e.failed = n, 0, ""
				undo, err := tc.op(e)
				e.failAt = 0
				if e.failed == "" {
					if err != nil {
						t.Fatalf("fail-nth %d: no injection but %v", n, err)
					}
					undo()
					break
				}
				sites[e.failed] = true
				if err != unix.ENOMEM {
					// Only a partial write may succeed despite
					// an injection.
					if err != nil || tc.name != "write pages" {
						t.Fatalf("fail-nth %d at %s: %v, want ENOMEM", n, e.failed, err)
					}
					undo()
				}
				if got := e.v.Live(); got != base {
					t.Fatalf("fail-nth %d at %s leaks: %s", n, e.failed, got.Diff(base))
				}
				if n > 100 {
					t.Fatal("never succeeds")
				}
			}
			if len(sites) < tc.sites {
				t.Errorf("only %d sites injected: %v", len(sites), sites)
			}
			if got := e.v.Live(); got != base {
				t.Errorf("after undo: %s", got.Diff(base))
			}
		})
	}
}
