package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nsvm/nsvm/internal/cbuild"
)

// TestPS: --ps lists every task of the run, in creation order, with how
// it ended; fork_life creates the program plus 40-odd children.
func TestPS(t *testing.T) {
	requireKVM(t)
	bin := cbuild.Static(t, filepath.Join("testdata", "fork_life.c"))
	r := runNSVM(t, "run", "--ps", bin)
	if r.status != 0 {
		t.Fatalf("status %d\n%s", r.status, clip(r.stderr))
	}
	lines := strings.Split(strings.TrimSpace(string(r.stderr)), "\n")
	if len(lines) < 20 || !strings.Contains(lines[0], "PID") || !strings.Contains(lines[0], "END") {
		t.Fatalf("--ps printed %d lines:\n%s", len(lines), clip(r.stderr))
	}
	row := regexp.MustCompile(psRow)
	for _, l := range lines[1:] {
		if !row.MatchString(l) {
			t.Errorf("unexpected --ps line %q", l)
		}
	}
	if m := row.FindStringSubmatch(lines[1]); m == nil || m[1] != "2" || m[3] != "1" {
		t.Errorf("the first task should be the program, pid 2, child of init: %q", lines[1])
	}
}

// psRow is a --ps row: PID, TID, PPID (the initial pid namespace's
// numbers), NSPID ("-", or the numbers from the initial pid namespace
// down), COMMAND, KIND, END.
const psRow = `^\s*(\d+)\s+(\d+)\s+(\d+)\s+(-|\d+(?: \d+)+)\s+(\S+)\s+(process|thread)\s+(exited \d+|killed by SIG\w+)$`

// TestPSOneView: --ps does not mix pid views in a row. In ns_scene, 3
// unshares its pid namespace and forks 4, pid 1 there: 4's row says
// PID 4, PPID 3 (both as the initial namespace numbers them) and NSPID
// "4 1"; nobody's row says PID 1 but init's parent of the program.
func TestPSOneView(t *testing.T) {
	requireKVM(t)
	bin := cbuild.Static(t, filepath.Join("testdata", "ns_scene.c"))
	r := runNSVM(t, "run", "--ps", bin)
	if r.status != 0 {
		t.Fatalf("status %d\n%s", r.status, clip(r.stderr))
	}
	var rows [][]string
	for _, l := range strings.Split(string(r.stderr), "\n") {
		if m := regexp.MustCompile(psRow).FindStringSubmatch(l); m != nil {
			rows = append(rows, m[1:])
		}
	}
	want := [][]string{ // PID TID PPID NSPID
		{"2", "2", "1", "-"},
		{"3", "3", "2", "-"},
		{"4", "4", "3", "4 1"},
		{"5", "5", "2", "-"},
		{"6", "6", "2", "-"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d --ps rows, want %d:\n%s", len(rows), len(want), clip(r.stderr))
	}
	for i, w := range want {
		if got := rows[i][:4]; strings.Join(got, "|") != strings.Join(w, "|") {
			t.Errorf("row %d: PID TID PPID NSPID = %q, want %q", i, got, w)
		}
	}
}

// TestTraceForks: --trace marks lines with the task once there are
// several, and shows fork's child pid and the wait that reaps it.
func TestTraceForks(t *testing.T) {
	requireKVM(t)
	bin := cbuild.Static(t, filepath.Join("testdata", "vfork_mem.c"))
	r := runNSVM(t, "run", "--trace", bin)
	if r.status != 0 {
		t.Fatalf("status %d\n%s", r.status, clip(r.stderr))
	}
	trace := string(r.stderr)
	// A vfork sleeps until the child exits, so strace-style it ends as
	// "<... vfork resumed>) = PID" (the result padded to column 40).
	clone := regexp.MustCompile(`(?m)^(\[pid +\d+\] )?(vfork|clone|clone3)\(.*\) += (\d+)$|<\.\.\. (vfork|clone|clone3) resumed>\) += (\d+)$`)
	m := clone.FindStringSubmatch(trace)
	if m == nil {
		t.Fatalf("no process creation with a child pid in the trace:\n%s", clip(r.stderr))
	}
	child := m[3] + m[5]
	if !regexp.MustCompile(`(?m)^\[pid +` + child + `\] `).MatchString(trace) {
		t.Errorf("no line of the child %s marked [pid %s]", child, child)
	}
	if !regexp.MustCompile(`wait4\(` + child + `, .*= ` + child).MatchString(trace) {
		t.Errorf("no wait4 reaping %s in the trace", child)
	}
}

var updateGolden = flag.Bool("update", false, "rewrite golden files")

// TestNSPicture: `nsvm ns` on a scripted scenario prints the namespace
// picture of the golden files, as text and as DOT, and its SVG is
// well-formed XML with a box per task, nsproxy and namespace. The picture
// alone is on stdout (the guest's stdout goes to stderr then), so that
// `nsvm ns --format svg PROG > f.svg` is an SVG file; with --out the
// picture goes to the file and the guest keeps stdout.
func TestNSPicture(t *testing.T) {
	requireKVM(t)
	built := cbuild.Static(t, filepath.Join("testdata", "ns_scene.c"))
	// The DOT names tasks by their command: give it a fixed name.
	bin := filepath.Join(t.TempDir(), "ns_scene")
	data, err := os.ReadFile(built)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	const ready = "scene ready"
	golden := func(format string) string {
		return filepath.Join("testdata", "ns_scene.golden."+map[string]string{"text": "txt", "dot": "dot", "svg": "svg"}[format])
	}
	for _, format := range []string{"text", "dot", "svg"} {
		r := runNSVM(t, "ns", "--format", format, bin)
		if r.status != 0 {
			t.Fatalf("%s: status %d\n%s", format, r.status, clip(r.stderr))
		}
		// The program's own line goes to stderr, the picture to stdout.
		if !strings.Contains(string(r.stderr), ready) {
			t.Errorf("%s: the guest's stdout is not on stderr:\n%s", format, clip(r.stderr))
		}
		pic := string(r.stdout)
		if *updateGolden {
			os.WriteFile(golden(format), []byte(pic), 0o644)
		}
		want, err := os.ReadFile(golden(format))
		if err != nil {
			t.Fatal(err)
		}
		if pic != string(want) {
			t.Errorf("%s picture differs from %s:\n--- got\n%s--- want\n%s", format, golden(format), pic, want)
		}
	}
	// `nsvm ns --format svg PROG > f.svg`: stdout is the SVG (the golden
	// file, checked above).
	stdoutSVG, err := os.ReadFile(golden("svg"))
	if err != nil {
		t.Fatal(err)
	}
	// --out: the picture goes to the file, the guest keeps stdout.
	svg := filepath.Join(t.TempDir(), "scene.svg")
	r := runNSVM(t, "ns", "--format", "svg", "--out", svg, bin)
	if r.status != 0 {
		t.Fatalf("svg --out: status %d\n%s", r.status, clip(r.stderr))
	}
	if !strings.HasPrefix(string(r.stdout), ready) {
		t.Errorf("svg --out: the guest's stdout is not on stdout:\n%s", clip(r.stdout))
	}
	data, err = os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, stdoutSVG) {
		t.Errorf("the SVG on stdout differs from the one written with --out")
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	rects, texts := 0, []string{}
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = e.Name.Local
			}
			if e.Name.Local == "rect" {
				rects++
			}
		case xml.CharData:
			texts = append(texts, string(e))
		}
	}
	all := strings.Join(texts, "\n")
	// 6 tasks, 4 nsproxies, 14 namespaces, plus the background.
	if root != "svg" || rects != 6+4+14+1 {
		t.Errorf("SVG root %q with %d rects, want svg with 25", root, rects)
	}
	// The boxes, and the legend of the edge styles.
	for _, want := range []string{"pid 1", "pid 6", "nsproxy #4", "uts:[4026531848]", "user:[4026531847]",
		"edges", "task → its nsproxy", "nsproxy → its namespaces", "task → its own pid namespace",
		"the user namespace that owns it", "its parent"} {
		if !strings.Contains(all, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	// Where librsvg is installed, render it for real.
	if rsvg, err := exec.LookPath("rsvg-convert"); err == nil {
		png := filepath.Join(t.TempDir(), "scene.png")
		if out, err := exec.Command(rsvg, "-o", png, svg).CombinedOutput(); err != nil {
			t.Errorf("rsvg-convert could not render the SVG: %v\n%s", err, out)
		} else if st, err := os.Stat(png); err != nil || st.Size() < 1000 {
			t.Errorf("rendered PNG missing or tiny: %v", err)
		}
	}
}

// TestBenchQuick: `nsvm bench fork --quick` (the CI mode) measures nsvm
// and the host in one run, prints the ratios and the breakdown, and
// writes the JSON, benchstat lines and two well-formed SVG plots.
func TestBenchQuick(t *testing.T) {
	requireKVM(t)
	dir := t.TempDir()
	r := runNSVM(t, "bench", "fork", "--quick", "--samples", "15", "--out", dir)
	if r.status != 0 {
		t.Fatalf("status %d\n%s", r.status, clip(r.stderr))
	}
	out := string(r.stdout)
	for _, want := range []string{"platform: ", "x-host", "fork pinned", "64 MiB touched", "fork avx512", "breakdown", "exit floor"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	var res struct {
		Latency   []struct{ Name string }
		Breakdown struct{ SumOverMean, MedianOverFloor, ExitFloorNS, ExitsPerFork float64 }
	}
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	b := res.Breakdown
	// The breakdown is a mean over the same cycles as the samples, so it
	// must match their mean: a consistency check (a part counted twice or
	// left out), not a speed threshold. Against the median it moved with
	// every outlier (4.7 under the emulated-SVM suite's TCG). The floor is
	// checked only where it was measured (TCG refuses its user-mode out).
	if b.SumOverMean < 0.5 || b.SumOverMean > 1.5 || b.ExitsPerFork < 3 || (b.ExitFloorNS > 0 && b.MedianOverFloor <= 1) {
		t.Errorf("breakdown does not add up: %+v", b)
	}
	bs, err := os.ReadFile(filepath.Join(dir, "results.bench"))
	if err != nil || !strings.Contains(string(bs), "BenchmarkFork/fork/side=nsvm 1 ") {
		t.Errorf("results.bench: %v\n%s", err, bs)
	}
	for _, svg := range []string{"memory.svg", "histogram.svg"} {
		data, err := os.ReadFile(filepath.Join(dir, svg))
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(bytes.NewReader(data))
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s is not well-formed: %v", svg, err)
			}
		}
	}
}
