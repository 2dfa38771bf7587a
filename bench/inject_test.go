package bench

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nsvm/nsvm/internal/cbuild"
)

// BenchmarkForkSweep times a full fail-nth sweep of a small program's
// fork with `nsvm inject` (one fresh micro-VM per nth): the seconds for
// the whole sweep and the runs per second.
func BenchmarkForkSweep(b *testing.B) {
	requireKVM(b)
	nsvm := filepath.Join(b.TempDir(), "nsvm")
	if out, err := exec.Command("go", "build", "-o", nsvm, "../cmd/nsvm").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	prog := cbuild.Static(b, filepath.Join("..", "cmd", "nsvm", "testdata", "inject_ops.c"))
	var last struct {
		Runs       int     `json:"runs"`
		Seconds    float64 `json:"seconds"`
		RunsPerSec float64 `json:"runs_per_second"`
		Leaks      int     `json:"runs_with_leaks"`
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := exec.Command(nsvm, "inject", "--format", "json", "--syscall", "clone:2", prog, "fork").Output()
		if err != nil {
			b.Fatalf("inject: %v", err)
		}
		if err := json.Unmarshal(out, &last); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(last.Seconds, "s/sweep")
	b.ReportMetric(float64(last.Runs), "runs/sweep")
	b.ReportMetric(last.RunsPerSec, "runs/s")
	b.ReportMetric(float64(last.Leaks), "leaks")
}
