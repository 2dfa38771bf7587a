package bench

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nsvm/nsvm/guestkernel"
	"github.com/nsvm/nsvm/internal/cbuild"
)

// runCapture runs a guest program under nsvm, returning its stdout and
// the kernel (for its counters).
func runCapture(tb testing.TB, bin string, args ...string) (string, *guestkernel.Kernel, time.Duration) {
	tb.Helper()
	img := readImage(tb, bin)
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	null := devNull(tb)
	cfg := guestkernel.Config{Image: img, Path: bin, ExePath: bin, Args: append([]string{bin}, args...),
		Env: []string{"PATH=/bin"}, Stdin: int(null.Fd()), Stdout: int(w.Fd()), Stderr: 2}
	t0 := time.Now()
	st, k, err := guestkernel.RunProgram(cfg, guestkernel.RunOptions{Mem: 1 << 30, Timeout: 10 * time.Minute})
	d := time.Since(t0)
	w.Close()
	out, _ := io.ReadAll(r)
	if err != nil || st.ShellCode() != 0 {
		tb.Fatalf("%s %v: status %d, %v\n%s", bin, args, st.ShellCode(), err, out)
	}
	return string(out), k, d
}

// nsPerOp reads the "<ns> ns/op" the benchmark guests print.
func nsPerOp(tb testing.TB, out string) float64 {
	tb.Helper()
	f := strings.Fields(out)
	for i, w := range f {
		if w == "ns/op" && i > 0 {
			v, err := strconv.ParseFloat(f[i-1], 64)
			if err == nil {
				return v
			}
		}
	}
	tb.Fatalf("no ns/op in %q", out)
	return 0
}

// BenchmarkForkExitWait measures fork+_exit+waitpid of a small static
// binary under nsvm and natively, in the same run, and splits nsvm's time
// per fork into: time inside KVM_RUN (the guest and KVM: the VM exits,
// shadow faults), Go work in the handlers, and within that the XSAVE
// ioctls and the page copying of fork.
func BenchmarkForkExitWait(b *testing.B) {
	requireKVM(b)
	bin := cbuild.Static(b, filepath.Join("testdata", "fork_bench.c"))
	for _, pages := range []int{0, 256} {
		b.Run(fmt.Sprintf("touched=%dKiB", pages*4), func(b *testing.B) {
			n := max(b.N, 100)
			args := []string{strconv.Itoa(n), strconv.Itoa(pages)}
			out, err := exec.Command(bin, args...).Output()
			if err != nil {
				b.Fatal(err)
			}
			native := nsPerOp(b, string(out))
			gout, k, _ := runCapture(b, bin, args...)
			guest := nsPerOp(b, gout)
			c := k.VCPUExits()
			forks := float64(k.Stats.Forks)
			b.ReportMetric(guest, "ns/op")
			b.ReportMetric(native, "ns/native-op")
			b.ReportMetric(guest/native, "x-native")
			b.ReportMetric(float64(c.Total)/forks, "exits/fork")
			b.ReportMetric(float64(c.InGuest.Nanoseconds())/forks, "ns-in-KVM_RUN/fork")
			b.ReportMetric(float64(c.InHandle.Nanoseconds())/forks, "ns-in-Go/fork")
			b.ReportMetric(float64(k.Stats.XSAVETime.Nanoseconds())/forks, "ns-xsave/fork")
			b.ReportMetric(float64(k.Stats.ForkCopyTime.Nanoseconds())/forks, "ns-mmcopy/fork")
			b.ReportMetric(float64(k.Stats.ShootdownPages)/forks, "shootdown-pages/fork")
			b.ReportMetric(float64(k.Stats.PagesCopied)/forks, "pages-copied/fork")
		})
	}
}
