package ns

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// scene builds the namespaces of cmd/nsvm/testdata/ns_scene.c with the
// World's own functions, and the picture of its six tasks:
//   - 1 (init) and 2 (the program) in the initial namespaces;
//   - 3 unshared UTS and PID: a new uts and pid_for_children, while its
//     own pid namespace stays the initial one;
//   - 4, 3's child, pid 1 of the new pid namespace;
//   - 5 cloned into new IPC and network namespaces;
//   - 6 has a user namespace of its own and a UTS namespace it owns.
func scene(t *testing.T) *Picture {
	t.Helper()
	w := newTestWorld()
	init := w.InitNsproxy
	init.Refs++ // the program shares init's nsproxy
	must := func(p *Nsproxy, err error) *Nsproxy {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := must(w.CopyNamespaces(CloneNewUTS|CloneNewPID, init, root(w), true, nil))
	a.Refs++ // 3 and 4
	b := must(w.CopyNamespaces(CloneNewIPC|CloneNewNet, init, root(w), true, nil))
	user, err := w.NewUserNS(w.InitUser, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := must(w.CopyNamespaces(CloneNewUTS, init, Creator{User: user, EUID: 0, ActivePID: w.InitPID}, true, nil))
	p := w.Snapshot()
	p.AddTask(1, "init", init, w.InitPID, w.InitUser)
	p.AddTask(2, "ns_scene", init, w.InitPID, w.InitUser)
	p.AddTask(3, "ns_scene", a, w.InitPID, w.InitUser)
	p.AddTask(4, "ns_scene", a, a.PIDForChildren, w.InitUser)
	p.AddTask(5, "ns_scene", b, w.InitPID, w.InitUser)
	p.AddTask(6, "ns_scene", c, w.InitPID, user)
	return p
}

func nsByLink(p *Picture, kind Kind, level int, initial bool) *PicNS {
	for i, n := range p.Namespaces {
		if n.Kind == kind && n.Level == level && (n.Inum>>28 == 0xE) == initial {
			return &p.Namespaces[i]
		}
	}
	return nil
}

// TestPictureCountsAsLsns: a task is counted in the namespaces of its
// /proc/PID/ns links, as lsns counts them: a task that unshared PID is in
// its own (old) pid namespace, not in its pid_for_children; nobody is
// counted twice through time and time_for_children.
func TestPictureCountsAsLsns(t *testing.T) {
	p := scene(t)
	for _, tc := range []struct {
		name string
		n    *PicNS
		pids string
	}{
		{"initial pid", nsByLink(p, PID, 0, true), "1,2,3,5,6"},
		{"child pid (3 unshared it, 4 is its init)", nsByLink(p, PID, 1, false), "4"},
		{"initial user", nsByLink(p, User, 0, true), "1,2,3,4,5"},
		{"child user", nsByLink(p, User, 1, false), "6"},
		{"initial time (also time_for_children)", nsByLink(p, Time, 0, true), "1,2,3,4,5,6"},
		{"initial uts", nsByLink(p, UTS, 0, true), "1,2,5"},
	} {
		if tc.n == nil {
			t.Errorf("%s: not in the picture", tc.name)
			continue
		}
		if got := pids(tc.n.PIDs); got != tc.pids {
			t.Errorf("%s: tasks %s, want %s", tc.name, got, tc.pids)
		}
	}
	var text bytes.Buffer
	p.WriteText(&text)
	// The child pid namespace's row: NPROCS 1, PIDS 4.
	child := nsByLink(p, PID, 1, false)
	row := regexp.MustCompile(fmt.Sprintf(`(?m)^%d +pid +1 +\d+ .* 4$`, child.Inum))
	if !row.MatchString(text.String()) {
		t.Errorf("text picture lacks the row %v:\n%s", row, text.String())
	}
}

// TestPictureSVG: the SVG is well-formed, has a box per task, nsproxy and
// namespace, a legend naming every edge style, and its order crosses
// fewer edges than the picture's own order.
func TestPictureSVG(t *testing.T) {
	p := scene(t)
	var b bytes.Buffer
	p.WriteSVG(&b)
	if path := os.Getenv("NSVM_PICTURE_SVG"); path != "" {
		os.WriteFile(path, b.Bytes(), 0o644) // to look at it
	}
	d := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	rects, text := 0, ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, b.String())
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if e.Name.Local == "rect" {
				rects++
			}
		case xml.CharData:
			text += string(e) + "\n"
		}
	}
	if want := 1 + len(p.Tasks) + len(p.Proxies) + len(p.Namespaces); rects != want {
		t.Errorf("%d rects, want %d (background and boxes)", rects, want)
	}
	for _, e := range edgeStyles {
		if !strings.Contains(text, e.legend) {
			t.Errorf("the legend lacks %q", e.legend)
		}
	}
	naive := p.items().crossings()
	got := p.layout().crossings()
	t.Logf("crossings: %d in the picture's own order, %d laid out", naive, got)
	if got >= naive {
		t.Errorf("layout crosses %d edges, the unordered picture %d", got, naive)
	}
}

// TestSpread: items keep their order, do not overlap, start at svgTop or
// below, and sit where they want when there is room.
func TestSpread(t *testing.T) {
	mk := func(ys ...float64) []*layItem {
		var c []*layItem
		for _, y := range ys {
			c = append(c, &layItem{y: y, h: svgBoxH})
		}
		return c
	}
	free := mk(100, 200, 300)
	spread(free)
	for i, want := range []float64{100, 200, 300} {
		if free[i].y != want {
			t.Errorf("free item %d at %g, want %g", i, free[i].y, want)
		}
	}
	// Three items wanting the same height: centred on it, spaced.
	same := mk(200, 200, 200)
	spread(same)
	if same[0].y != 200-svgRowH || same[1].y != 200 || same[2].y != 200+svgRowH {
		t.Errorf("same height: %g %g %g", same[0].y, same[1].y, same[2].y)
	}
	// Pushed below the top.
	top := mk(0, 0, 500)
	spread(top)
	if top[0].y != svgTop || top[1].y != svgTop+svgRowH || top[2].y != 500 {
		t.Errorf("at the top: %g %g %g", top[0].y, top[1].y, top[2].y)
	}
}

// TestPictureBig: a picture of many tasks and nsproxies is drawn the same
// twice, and no two boxes of a column overlap.
func TestPictureBig(t *testing.T) {
	build := func() *Picture {
		w := newTestWorld()
		var proxies []*Nsproxy
		for i := 0; i < 40; i++ {
			flags := []uint64{CloneNewUTS, CloneNewIPC, CloneNewNet, CloneNewUTS | CloneNewIPC}[i%4]
			p, err := w.CopyNamespaces(flags, w.InitNsproxy, root(w), true, nil)
			if err != nil {
				t.Fatal(err)
			}
			proxies = append(proxies, p)
		}
		p := w.Snapshot()
		for pid := 1; pid <= 200; pid++ {
			p.AddTask(pid, "t", proxies[(pid*7)%len(proxies)], w.InitPID, w.InitUser)
		}
		return p
	}
	var a, b bytes.Buffer
	build().WriteSVG(&a)
	build().WriteSVG(&b)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same picture drawn twice differs")
	}
	l := build().layout()
	for c, col := range l.cols {
		for i := 1; i < len(col); i++ {
			if col[i].y < col[i-1].y+col[i-1].h {
				t.Errorf("column %d: items %d and %d overlap (%g+%g > %g)", c, i-1, i, col[i-1].y, col[i-1].h, col[i].y)
			}
		}
	}
}

func TestTasksShort(t *testing.T) {
	for _, tc := range []struct {
		pids []int
		want string
	}{
		{nil, "no tasks"},
		{[]int{4}, "tasks 4"},
		{[]int{1, 2, 5}, "tasks 1,2,5"},
		{[]int{1, 2, 3, 5, 6}, "tasks 1-3,5,6"},
		{[]int{1, 2, 3, 4, 5, 6}, "tasks 1-6"},
		{[]int{1, 3, 5, 7, 9, 11, 13, 15}, "8 tasks"},
	} {
		if got := tasksShort(tc.pids); got != tc.want {
			t.Errorf("tasksShort(%v) = %q, want %q", tc.pids, got, tc.want)
		}
	}
}
