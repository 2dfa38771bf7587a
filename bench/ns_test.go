package bench

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nsvm/nsvm/internal/cbuild"
)

// parseSets reads "name: <ns> ns/op" lines.
func parseSets(tb testing.TB, out string) map[string]float64 {
	m := map[string]float64{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		name, rest, ok := strings.Cut(l, ": ")
		f := strings.Fields(rest)
		if !ok || len(f) != 2 || f[1] != "ns/op" {
			tb.Fatalf("bad line %q", l)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			tb.Fatal(err)
		}
		m[name] = v
	}
	return m
}

// BenchmarkCloneNamespaces measures clone+_exit+waitpid with each
// CLONE_NEW* flag against a plain fork, under nsvm and natively (as
// root) in the same run: "x-fork" is the cost relative to a plain fork
// on the same side, "x-native" nsvm against the host for that flag.
func BenchmarkCloneNamespaces(b *testing.B) {
	requireKVM(b)
	bin := cbuild.Static(b, filepath.Join("testdata", "clone_ns_bench.c"))
	n := strconv.Itoa(max(b.N, 50))
	out, err := exec.Command(bin, n).Output()
	if err != nil {
		b.Fatal(err)
	}
	native := parseSets(b, string(out))
	gout, _, _ := runCapture(b, bin, n)
	guest := parseSets(b, gout)
	for _, name := range []string{"fork", "NEWUTS", "NEWIPC", "NEWPID", "NEWNET", "NEWNS", "NEWCGROUP", "NEWUSER"} {
		b.Run(name, func(b *testing.B) {
			b.ReportMetric(guest[name], "ns/op")
			b.ReportMetric(guest[name]/guest["fork"], "x-fork")
			b.ReportMetric(native[name], "ns/native-op")
			b.ReportMetric(native[name]/native["fork"], "native-x-fork")
			b.ReportMetric(guest[name]/native[name], "x-native")
		})
	}
}
