package tmpfs_test

import (
	"bytes"
	"fmt"
	"sort"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nsvm/nsvm/fs"
	"github.com/nsvm/nsvm/fs/tmpfs"
)

type rootCred struct{}

func (rootCred) FSUID() uint32                            { return 0 }
func (rootCred) FSGID() uint32                            { return 0 }
func (rootCred) InGroup(uint32) bool                      { return true }
func (rootCred) CapableWrtInode(int, uint32, uint32) bool { return true }
func (rootCred) NSCapable(any, int) bool                  { return true }

type tenv struct {
	t   *testing.T
	v   *fs.VFS
	f   *tmpfs.FS
	ns  *fs.MountNamespace
	fss *fs.FSStruct
	ctx *fs.Ctx
	now int64
	mu  sync.Mutex
}

func newTenv(t *testing.T, opts tmpfs.Options) *tenv {
	e := &tenv{t: t, v: fs.New(nil)}
	cfg := tmpfs.Config{Clock: e.clock}
	typ := tmpfs.Type(cfg)
	var err error
	e.f, err = tmpfs.New(e.v, typ, cfg, "tmpfs", opts)
	if err != nil {
		t.Fatal(err)
	}
	if e.ns, err = e.v.CreateMntNS(e.f.SB(), fs.MntRelatime, nil); err != nil {
		t.Fatal(err)
	}
	r := e.ns.Root()
	e.fss, _ = e.v.NewFSStruct(r, 0)
	r.Put()
	e.ctx = &fs.Ctx{Cred: rootCred{}, FS: e.fss, MntNS: e.ns}
	t.Cleanup(func() {
		e.fss.Put()
		e.ns.Put()
		if l := e.v.Live(); l != (fs.Counts{}) {
			t.Errorf("leak: %v", l)
		}
	})
	return e
}

func (e *tenv) clock() fs.Timespec {
	e.mu.Lock()
	defer e.mu.Unlock()
	return fs.Timespec{Sec: e.now}
}

func (e *tenv) tick(s int64) {
	e.mu.Lock()
	e.now += s
	e.mu.Unlock()
}

func (e *tenv) open(path string, flags int) *fs.File {
	e.t.Helper()
	f, err := e.v.Openat(e.ctx, nil, path, fs.BuildOpenHow(flags, 0o644))
	if err != nil {
		e.t.Fatalf("open %s: %v", path, err)
	}
	return f
}

func TestSparseFiles(t *testing.T) {
	e := newTenv(t, tmpfs.Options{})
	f := e.open("/sparse", unix.O_CREAT|unix.O_RDWR)
	defer f.Put()
	const far = int64(1) << 40
	if n, err := f.Pwrite(rootCred{}, []byte("end"), far); n != 3 || err != nil {
		t.Fatalf("pwrite far: %d %v", n, err)
	}
	if e.f.Pages() != 1 {
		t.Errorf("a write at 1 TiB uses %d pages, want 1", e.f.Pages())
	}
	st := f.Stat()
	if st.Size != far+3 || st.Blocks != 8 {
		t.Errorf("size %d blocks %d", st.Size, st.Blocks)
	}
	// A huge read of a hole allocates nothing and reads zeros.
	buf := bytes.Repeat([]byte{0xff}, 3*fs.PageSize+5)
	if n, _ := f.Pread(buf, 12345); n != len(buf) || !bytes.Equal(buf, make([]byte, len(buf))) {
		t.Errorf("hole read %d bytes, not all zero", n)
	}
	if e.f.Pages() != 1 {
		t.Error("reading a hole allocated")
	}
	// A page-crossing write and read back.
	data := bytes.Repeat([]byte("0123456789"), 1000)
	f.Pwrite(rootCred{}, data, fs.PageSize-3)
	got := make([]byte, len(data))
	f.Pread(got, fs.PageSize-3)
	if !bytes.Equal(got, data) {
		t.Error("page-crossing read differs")
	}
	// Truncate frees the pages past the end and zeroes the tail.
	if err := f.Truncate(rootCred{}, fs.PageSize+1); err != nil {
		t.Fatal(err)
	}
	if e.f.Pages() != 2 {
		t.Errorf("after truncate: %d pages, want 2", e.f.Pages())
	}
	f.Truncate(rootCred{}, 3*fs.PageSize)
	tail := make([]byte, 10)
	f.Pread(tail, fs.PageSize+1)
	if !bytes.Equal(tail, make([]byte, 10)) {
		t.Errorf("data past a truncation came back: %q", tail)
	}
	// Read at and past EOF.
	if n, err := f.Pread(buf, 3*fs.PageSize); n != 0 || err != nil {
		t.Errorf("read at EOF: %d %v", n, err)
	}
	if _, err := f.Seek(-1, unix.SEEK_SET); err != unix.EINVAL {
		t.Errorf("negative seek: %v", err)
	}
	if pos, _ := f.Seek(-1, unix.SEEK_END); pos != 3*fs.PageSize-1 {
		t.Errorf("SEEK_END %d", pos)
	}
	if err := f.Truncate(rootCred{}, -1); err != unix.EINVAL {
		t.Errorf("negative truncate: %v", err)
	}
}

func TestLimits(t *testing.T) {
	e := newTenv(t, tmpfs.Options{MaxPages: 4, MaxInodes: 3})
	f := e.open("/a", unix.O_CREAT|unix.O_RDWR)
	defer f.Put()
	n, err := f.Write(rootCred{}, make([]byte, 5*fs.PageSize))
	if n != 4*fs.PageSize || err != nil {
		t.Errorf("write past size=: %d %v, want a short write", n, err)
	}
	if _, err := f.Write(rootCred{}, []byte("x")); err != unix.ENOSPC {
		t.Errorf("write into a full tmpfs: %v, want ENOSPC", err)
	}
	st, _ := e.v.Statfs(e.ctx, "/")
	if st.Type != tmpfs.Magic || st.Blocks != 4 || st.Bfree != 0 || st.Files != 3 || st.Ffree != 1 || st.Namelen != 255 {
		t.Errorf("statfs %+v", st)
	}
	if err := e.v.Mkdirat(e.ctx, nil, "/d", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := e.v.Mkdirat(e.ctx, nil, "/e", 0o755); err != unix.ENOSPC {
		t.Errorf("nr_inodes: %v, want ENOSPC", err)
	}
	f.Truncate(rootCred{}, 0)
	if e.f.Pages() != 0 {
		t.Errorf("pages after truncate to 0: %d", e.f.Pages())
	}
	if _, err := tmpfs.ParseOptions("size=10%,nr_inodes=1k,mode=700,uid=1,gid=2", 1<<20); err != nil {
		t.Error(err)
	}
	o, _ := tmpfs.ParseOptions("size=1m,nr_inodes=1k", 0)
	if o.MaxPages != 256 || o.MaxInodes != 1024 {
		t.Errorf("parsed %+v", o)
	}
	for _, bad := range []string{"size=x", "mode=9", "what=1", "nr_inodes=-1"} {
		if _, err := tmpfs.ParseOptions(bad, 0); err != unix.EINVAL {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestPageCacheCoherence(t *testing.T) {
	e := newTenv(t, tmpfs.Options{})
	f := e.open("/shm", unix.O_CREAT|unix.O_RDWR)
	defer f.Put()
	f.Truncate(rootCred{}, 2*fs.PageSize)
	ino := f.Inode()
	pg, err := e.f.GetPage(ino, 1)
	if err != nil {
		t.Fatal(err)
	}
	// A store through the "mapping" is seen by read(2)...
	copy(pg.Data[10:], "mapped")
	buf := make([]byte, 6)
	f.Pread(buf, fs.PageSize+10)
	if string(buf) != "mapped" {
		t.Errorf("read sees %q", buf)
	}
	// ... and write(2) is seen by the mapping: it is the same page.
	f.Pwrite(rootCred{}, []byte("written"), fs.PageSize+100)
	if string(pg.Data[100:107]) != "written" {
		t.Error("the mapping does not see write(2)")
	}
	again, _ := e.f.GetPage(ino, 1)
	if &again.Data[0] != &pg.Data[0] {
		t.Error("two faults on one page got two pages")
	}
	if _, err := e.f.GetPage(ino, 2); err != unix.ENXIO {
		t.Errorf("fault past EOF: %v, want ENXIO (SIGBUS)", err)
	}
	// Truncation zeroes what a mapping of the last page still sees.
	f.Truncate(rootCred{}, fs.PageSize+12)
	if pg.Data[12] != 0 || string(pg.Data[10:12]) != "ma" {
		t.Errorf("after truncate the page holds %q", pg.Data[10:20])
	}
}

func TestDirectoriesAndLinks(t *testing.T) {
	e := newTenv(t, tmpfs.Options{})
	e.v.Mkdirat(e.ctx, nil, "/d", 0o755)
	if st, _ := e.v.Statat(e.ctx, nil, "/d", 0); st.Nlink != 2 || st.Size != 40 {
		t.Errorf("new dir nlink %d size %d", st.Nlink, st.Size)
	}
	e.v.Mkdirat(e.ctx, nil, "/d/sub", 0o755)
	if st, _ := e.v.Statat(e.ctx, nil, "/d", 0); st.Nlink != 3 || st.Size != 60 {
		t.Errorf("with a subdir: nlink %d size %d", st.Nlink, st.Size)
	}
	f := e.open("/d/f", unix.O_CREAT|unix.O_WRONLY)
	f.Write(rootCred{}, []byte("data"))
	f.Put()
	e.v.Linkat(e.ctx, nil, "/d/f", nil, "/g", 0)
	st, _ := e.v.Statat(e.ctx, nil, "/g", 0)
	if st.Nlink != 2 {
		t.Errorf("hard link nlink %d", st.Nlink)
	}
	e.v.Unlinkat(e.ctx, nil, "/d/f", 0)
	st, _ = e.v.Statat(e.ctx, nil, "/g", 0)
	if st.Nlink != 1 || st.Size != 4 {
		t.Errorf("after unlink of one name: %+v", st)
	}
	// Special inodes.
	if err := e.v.Mknodat(e.ctx, nil, "/fifo", unix.S_IFIFO|0o600, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.v.Mknodat(e.ctx, nil, "/null", unix.S_IFCHR|0o666, unix.Mkdev(1, 3)); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.v.Statat(e.ctx, nil, "/null", 0); st.Rdev != unix.Mkdev(1, 3) || st.Mode != unix.S_IFCHR|0o666 {
		t.Errorf("device %+v", st)
	}
	if _, err := e.v.Openat(e.ctx, nil, "/fifo", fs.BuildOpenHow(unix.O_RDONLY, 0)); err != unix.ENXIO {
		t.Errorf("open a FIFO without a special opener: %v", err)
	}
	// Readdir types.
	d := e.open("/", unix.O_RDONLY|unix.O_DIRECTORY)
	defer d.Put()
	types := map[string]uint8{}
	d.Readdir(func(de fs.Dirent) bool { types[de.Name] = de.Type; return true })
	want := map[string]uint8{".": unix.DT_DIR, "..": unix.DT_DIR, "d": unix.DT_DIR, "g": unix.DT_REG, "fifo": unix.DT_FIFO, "null": unix.DT_CHR}
	for k, v := range want {
		if types[k] != v {
			t.Errorf("readdir type of %s: %d, want %d", k, types[k], v)
		}
	}
}

// TestReaddirCookies: a listing resumed from its cookies sees every entry
// that existed throughout exactly once, whatever is created and removed
// between the calls.
func TestReaddirCookies(t *testing.T) {
	e := newTenv(t, tmpfs.Options{})
	e.v.Mkdirat(e.ctx, nil, "/d", 0o755)
	for i := 0; i < 100; i++ {
		f := e.open(fmt.Sprintf("/d/f%03d", i), unix.O_CREAT|unix.O_WRONLY)
		f.Put()
	}
	d := e.open("/d", unix.O_RDONLY|unix.O_DIRECTORY)
	defer d.Put()
	seen := map[string]int{}
	for round := 0; ; round++ {
		n := 0
		d.Readdir(func(de fs.Dirent) bool {
			if n == 7 {
				return false
			}
			n++
			seen[de.Name]++
			return true
		})
		if n == 0 {
			break
		}
		if round >= 10 {
			continue
		}
		// Churn: remove an odd file (which may then never be seen)
		// and add a new one (which may or may not be).
		e.v.Unlinkat(e.ctx, nil, fmt.Sprintf("/d/f%03d", 99-round*2), 0)
		f := e.open(fmt.Sprintf("/d/new%03d", round), unix.O_CREAT|unix.O_WRONLY)
		f.Put()
	}
	var missing []string
	for i := 0; i < 100; i++ {
		name := fmt.Sprintf("f%03d", i)
		if seen[name] > 1 {
			t.Errorf("%s seen %d times", name, seen[name])
		}
		if seen[name] == 0 && i%2 == 0 {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("never seen: %v", missing)
	}
	// Rewind with lseek(0).
	d.Seek(0, unix.SEEK_SET)
	first := ""
	d.Readdir(func(de fs.Dirent) bool { first = de.Name; return false })
	if first != "." {
		t.Errorf("after rewind the first entry is %q", first)
	}
}

func TestTimestamps(t *testing.T) {
	e := newTenv(t, tmpfs.Options{})
	e.tick(100)
	f := e.open("/f", unix.O_CREAT|unix.O_RDWR)
	defer f.Put()
	st := f.Stat()
	if st.Atime.Sec != 100 || st.Mtime.Sec != 100 || st.Ctime.Sec != 100 || st.Btime.Sec != 100 {
		t.Errorf("new file times %+v", st)
	}
	e.tick(10)
	f.Write(rootCred{}, []byte("x"))
	st = f.Stat()
	if st.Mtime.Sec != 110 || st.Ctime.Sec != 110 || st.Atime.Sec != 100 {
		t.Errorf("after write %+v", st)
	}
	e.tick(10)
	buf := make([]byte, 1)
	f.Pread(buf, 0) // relatime: atime <= mtime, so it updates
	if st = f.Stat(); st.Atime.Sec != 120 {
		t.Errorf("relatime read: atime %d", st.Atime.Sec)
	}
	e.tick(10)
	f.Pread(buf, 0) // relatime: atime newer than mtime and < 1 day: no update
	if st = f.Stat(); st.Atime.Sec != 120 {
		t.Errorf("relatime second read: atime %d", st.Atime.Sec)
	}
	e.tick(10)
	e.v.Fchmodat(e.ctx, nil, "/f", 0o600, 0)
	if st = f.Stat(); st.Ctime.Sec != 140 || st.Mtime.Sec != 110 {
		t.Errorf("chmod times %+v", st)
	}
	dst, _ := e.v.Statat(e.ctx, nil, "/", 0)
	e.tick(10)
	e.v.Unlinkat(e.ctx, nil, "/f", 0)
	if d2, _ := e.v.Statat(e.ctx, nil, "/", 0); d2.Mtime.Sec != 150 || dst.Mtime.Sec != 100 {
		t.Errorf("dir mtime %d then %d", dst.Mtime.Sec, d2.Mtime.Sec)
	}
}

// TestConcurrent runs file I/O, readdir and namespace operations from
// several goroutines; `go test -race` checks the locking.
func TestConcurrent(t *testing.T) {
	e := newTenv(t, tmpfs.Options{})
	shared := e.open("/shared", unix.O_CREAT|unix.O_RDWR)
	defer shared.Put()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			dir := fmt.Sprintf("/w%d", w)
			if err := e.v.Mkdirat(e.ctx, nil, dir, 0o755); err != nil {
				t.Error(err)
				return
			}
			for i := 0; i < 50; i++ {
				p := fmt.Sprintf("%s/f%d", dir, i)
				f, err := e.v.Openat(e.ctx, nil, p, fs.BuildOpenHow(unix.O_CREAT|unix.O_RDWR, 0o644))
				if err != nil {
					t.Error(err)
					return
				}
				f.Write(rootCred{}, []byte(p))
				shared.Pwrite(rootCred{}, []byte{byte(w)}, int64(w*fs.PageSize+i))
				b := make([]byte, 8)
				shared.Pread(b, int64(((w+1)%4)*fs.PageSize))
				e.f.GetPage(shared.Inode(), 0)
				f.Stat()
				f.Put()
				d, _ := e.v.Openat(e.ctx, nil, "/", fs.BuildOpenHow(unix.O_RDONLY, 0))
				d.Readdir(func(fs.Dirent) bool { return true })
				d.Put()
				if i%3 == 0 {
					e.v.Unlinkat(e.ctx, nil, p, 0)
				}
				if i%5 == 0 {
					e.v.Renameat2(e.ctx, nil, p, nil, p+"r", 0)
					e.v.Fchmodat(e.ctx, nil, "/shared", 0o600, 0)
				}
			}
		}(w)
	}
	wg.Wait()
}
