package bench

import (
	"errors"
	"github.com/nsvm/nsvm/internal/kvmtest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nsvm/nsvm/guestkernel"
	"github.com/nsvm/nsvm/images"
	"github.com/nsvm/nsvm/internal/cbuild"
)

func devNull(tb testing.TB) *os.File {
	f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

// runGuest boots a fresh VM for path with args, output to /dev/null, and
// returns how long boot-to-exit took.
func runGuest(tb testing.TB, image []byte, path string, args []string, bench bool) (time.Duration, *guestkernel.Kernel) {
	tb.Helper()
	null := devNull(tb)
	cfg := guestkernel.Config{
		Image: image, Path: path, ExePath: path, Args: append([]string{path}, args...),
		Env:   []string{"PATH=/bin"},
		Stdin: int(null.Fd()), Stdout: int(null.Fd()), Stderr: 2,
		Bench: bench,
	}
	t0 := time.Now()
	st, k, err := guestkernel.RunProgram(cfg, guestkernel.RunOptions{Timeout: 5 * time.Minute})
	d := time.Since(t0)
	if err != nil {
		tb.Fatalf("%s %v: %v", path, args, err)
	}
	if st.ShellCode() != 0 {
		tb.Fatalf("%s %v: exit status %d", path, args, st.ShellCode())
	}
	return d, k
}

func readImage(tb testing.TB, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestSyscallLoop checks the benchmark guest and the kernel's bench
// hooks: N getpid calls are N dispatched syscalls, while the no-work and
// floor paths never reach the syscall table.
func TestSyscallLoop(t *testing.T) {
	requireKVM(t)
	bin := cbuild.Static(t, filepath.Join("testdata", "syscall_loop.c"))
	img := readImage(t, bin)
	_, base := runGuest(t, img, bin, []string{"0", "getpid"}, true)
	const n = 500
	// One subtest per mode, so that a platform limit is named exactly
	// (the emulated-SVM suite knows "out" as one: test/svm/suite).
	for _, mode := range []string{"getpid", "nowork", "out"} {
		t.Run(mode, func(t *testing.T) {
			_, k := runGuest(t, img, bin, []string{strconv.Itoa(n), mode}, true)
			got := k.Stats.Syscalls - base.Stats.Syscalls
			want := uint64(0)
			if mode == "getpid" {
				want = n
			}
			if got != want {
				t.Errorf("%s: %d syscalls dispatched beyond startup, want %d", mode, got, want)
			}
		})
	}
	// Without Config.Bench the baseline number is an ordinary unknown
	// syscall, and the floor's `out` is a #GP as on Linux.
	t.Run("out_without_bench", func(t *testing.T) {
		null := devNull(t)
		cfg := guestkernel.Config{Image: img, Path: bin, ExePath: bin, Args: []string{bin, "3", "out"},
			Stdin: int(null.Fd()), Stdout: int(null.Fd()), Stderr: int(null.Fd()), Log: null}
		st, _, err := guestkernel.RunProgram(cfg, guestkernel.RunOptions{})
		if err != nil || st.Signal != syscall.SIGSEGV {
			t.Errorf("floor out without bench mode: status %+v, err %v; want SIGSEGV", st, err)
		}
	})
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// BenchmarkSyscall measures the guest syscall round trip three ways in
// one run: getpid through the whole kernel path, the same entry and
// return with no kernel work (our own overhead is the difference), and a
// bare CPL3 `out` exit (the platform's floor). Each is the time of a
// guest doing N of them minus the time of the same guest doing none.
func BenchmarkSyscall(b *testing.B) {
	requireKVM(b)
	bin := cbuild.Static(b, filepath.Join("testdata", "syscall_loop.c"))
	img := readImage(b, bin)
	n := max(b.N, 2000)
	per := map[string]float64{}
	b.ResetTimer()
	for _, mode := range []string{"getpid", "nowork", "out"} {
		var zero []time.Duration
		for i := 0; i < 3; i++ {
			d, _ := runGuest(b, img, bin, []string{"0", mode}, true)
			zero = append(zero, d)
		}
		d, _ := runGuest(b, img, bin, []string{strconv.Itoa(n), mode}, true)
		per[mode] = float64(d-median(zero)) / float64(n)
	}
	b.StopTimer()
	// The host's own syscall, for scale.
	t0 := time.Now()
	for i := 0; i < n; i++ {
		syscall.Getppid()
	}
	host := float64(time.Since(t0)) / float64(n)
	b.ReportMetric(per["getpid"], "ns/getpid")
	b.ReportMetric(per["nowork"], "ns/nowork")
	b.ReportMetric(per["out"], "ns/floor")
	b.ReportMetric(host, "ns/host-getppid")
	b.ReportMetric(per["getpid"]/per["nowork"], "getpid/nowork")
	b.ReportMetric(per["getpid"]/per["out"], "getpid/floor")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkBootToExit boots a fresh micro-VM for an image and runs it to
// exit, alternating with a native fork+execve+wait of the same binary, and
// reports the ratio.
func BenchmarkBootToExit(b *testing.B) {
	requireKVM(b)
	for _, name := range []string{"hello-raw", "hello"} {
		b.Run(name, func(b *testing.B) {
			img, ok := images.Lookup(name)
			if !ok {
				b.Fatalf("no image %s", name)
			}
			path := filepath.Join(b.TempDir(), name)
			if err := os.WriteFile(path, img, 0o755); err != nil {
				b.Fatal(err)
			}
			null := devNull(b)
			var vmT, nat time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d, _ := runGuest(b, img, path, nil, false)
				vmT += d
				cmd := exec.Command(path)
				cmd.Stdout, cmd.Stdin = null, null
				t0 := time.Now()
				if err := cmd.Run(); err != nil {
					var ee *exec.ExitError
					if !errors.As(err, &ee) {
						b.Fatal(err)
					}
				}
				nat += time.Since(t0)
			}
			b.StopTimer()
			b.ReportMetric(float64(vmT)/float64(b.N), "ns/op")
			b.ReportMetric(float64(nat)/float64(b.N), "ns/native-spawn")
			b.ReportMetric(float64(vmT)/float64(nat), "x-native")
		})
	}
}

func requireKVM(tb testing.TB) { kvmtest.Require(tb) }

// TestSyscallPathAllocates: the syscall path allocates nothing per exit.
// A guest making 20000 getpid calls must not cost the VMM more heap
// allocations than one making none, beyond a small constant.
func TestSyscallPathAllocates(t *testing.T) {
	requireKVM(t)
	bin := cbuild.Static(t, filepath.Join("testdata", "syscall_loop.c"))
	img := readImage(t, bin)
	mallocs := func(n string) uint64 {
		var a, b runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&a)
		runGuest(t, img, bin, []string{n, "getpid"}, true)
		runtime.ReadMemStats(&b)
		return b.Mallocs - a.Mallocs
	}
	mallocs("0") // warm up
	base := mallocs("0")
	many := mallocs("20000")
	per := float64(int64(many)-int64(base)) / 20000
	t.Logf("%.4f heap allocations per getpid (%d for 20000 calls, %d for none)", per, many, base)
	if per > 0.01 {
		t.Errorf("%.3f heap allocations per getpid (%d for 20000 calls, %d for none)", per, many, base)
	}
}
