package ns

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// Picture is a snapshot of who uses which namespaces: tasks → nsproxy →
// namespaces, with each namespace's count, owner and parent. The guest
// kernel fills it in; this file renders it as lsns-style text, Graphviz
// DOT and a self-contained SVG (no Graphviz needed).
type Picture struct {
	Tasks      []PicTask
	Proxies    []PicProxy
	Namespaces []PicNS

	proxyPtrs []*Nsproxy // the objects behind Proxies (identity only)
}

// PicTask is a task: its pid (initial pid namespace), name, nsproxy, and
// the namespaces outside the nsproxy (its pid namespace, its user
// namespace).
type PicTask struct {
	PID    int
	Comm   string
	Proxy  int    // index in Proxies
	PIDNS  uint32 // the task's own (active) pid namespace
	UserNS uint32
}

// PicProxy is an nsproxy.
type PicProxy struct {
	ID      int
	Refs    int
	Members []uint32 // inodes: mnt uts ipc pid_for_children cgroup net time time_for_children
}

// PicNS is a namespace.
type PicNS struct {
	Kind   Kind
	Inum   uint32
	Refs   int
	Owner  uint32 // user namespace inode (0: none)
	Parent uint32 // pid/user namespaces: the parent's inode
	Level  int
	PIDs   []int // tasks in it, as lsns counts them (see AddTask)
}

// Snapshot builds the namespace part of a picture from the world; the
// caller adds the tasks (and their proxies) with AddTask.
func (w *World) Snapshot() *Picture {
	p := &Picture{}
	for _, n := range w.Live {
		c := n.Base()
		e := PicNS{Kind: c.Kind, Inum: c.Inum, Refs: c.Refs}
		if c.Owner != nil {
			e.Owner = c.Owner.Inum
		}
		switch n := n.(type) {
		case *PIDNS:
			e.Level = n.Level
			if n.Parent != nil {
				e.Parent = n.Parent.Inum
			}
		case *UserNS:
			e.Level = n.Level
			if n.Parent != nil {
				e.Parent = n.Parent.Inum
			}
		}
		p.Namespaces = append(p.Namespaces, e)
	}
	sort.Slice(p.Namespaces, func(i, j int) bool {
		a, b := p.Namespaces[i], p.Namespaces[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Inum < b.Inum
	})
	return p
}

// AddTask records a task using proxy, its pid and user namespaces.
func (p *Picture) AddTask(pid int, comm string, proxy *Nsproxy, pidNS *PIDNS, user *UserNS) {
	idx := -1
	for i, x := range p.proxyPtrs {
		if x == proxy {
			idx = i
		}
	}
	if idx < 0 {
		pp := PicProxy{ID: len(p.Proxies) + 1, Refs: proxy.Refs}
		for _, n := range []Namespace{proxy.Mnt, proxy.UTS, proxy.IPC, proxy.PIDForChildren, proxy.Cgroup, proxy.Net, proxy.Time, proxy.TimeForChildren} {
			pp.Members = append(pp.Members, n.Base().Inum)
		}
		p.Proxies = append(p.Proxies, pp)
		p.proxyPtrs = append(p.proxyPtrs, proxy)
		idx = len(p.Proxies) - 1
	}
	p.Tasks = append(p.Tasks, PicTask{PID: pid, Comm: comm, Proxy: idx, PIDNS: pidNS.Inum, UserNS: user.Inum})
	// The task is in the namespaces of its /proc/PID/ns links, as lsns
	// counts them: its own pid namespace (not pid_for_children), its
	// user namespace, and the nsproxy's mnt, uts, ipc, cgroup, net and
	// time (not time_for_children).
	m := p.Proxies[idx].Members
	for _, inum := range []uint32{m[memMnt], m[memUTS], m[memIPC], m[memCgroup], m[memNet], m[memTime], pidNS.Inum, user.Inum} {
		for i := range p.Namespaces {
			if p.Namespaces[i].Inum == inum {
				p.Namespaces[i].PIDs = append(p.Namespaces[i].PIDs, pid)
			}
		}
	}
}

var memberNames = []string{"mnt", "uts", "ipc", "pid_for_children", "cgroup", "net", "time", "time_for_children"}

// Indexes in PicProxy.Members.
const (
	memMnt = iota
	memUTS
	memIPC
	memPIDForChildren
	memCgroup
	memNet
	memTime
	memTimeForChildren
)

func pids(l []int) string {
	if len(l) == 0 {
		return "-"
	}
	s := make([]string, len(l))
	for i, x := range l {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}

// WriteText renders the picture as lsns does, then the nsproxies.
func (p *Picture) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%-10s %-6s %6s %4s %-10s %-10s %5s  %s\n", "NS", "TYPE", "NPROCS", "REFS", "OWNER", "PARENT", "LEVEL", "PIDS")
	for _, n := range p.Namespaces {
		owner, parent := "-", "-"
		if n.Owner != 0 {
			owner = fmt.Sprint(n.Owner)
		}
		if n.Parent != 0 {
			parent = fmt.Sprint(n.Parent)
		}
		fmt.Fprintf(w, "%-10d %-6s %6d %4d %-10s %-10s %5d  %s\n", n.Inum, n.Kind, len(n.PIDs), n.Refs, owner, parent, n.Level, pids(n.PIDs))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-8s %4s  %-12s %s\n", "NSPROXY", "REFS", "TASKS", "NAMESPACES")
	for i, x := range p.Proxies {
		var tasks []int
		for _, t := range p.Tasks {
			if t.Proxy == i {
				tasks = append(tasks, t.PID)
			}
		}
		var m []string
		for j, inum := range x.Members {
			m = append(m, fmt.Sprintf("%s:%d", memberNames[j], inum))
		}
		fmt.Fprintf(w, "#%-7d %4d  %-12s %s\n", x.ID, x.Refs, pids(tasks), strings.Join(m, " "))
	}
}

func (n PicNS) label() string { return fmt.Sprintf("%s:[%d]", n.Kind, n.Inum) }

// The edge styles, the same in the DOT and the SVG pictures, and the
// legend that explains them.
type edgeStyle struct {
	color, dot, svg, legend string // dot: style attributes; svg: stroke attributes
}

var (
	edgeTaskProxy = edgeStyle{"#444444", "", "stroke-width=\"1.5\"", "task → its nsproxy"}
	edgeMember    = edgeStyle{"#999999", "", "", "nsproxy → its namespaces (pid: pid_for_children)"}
	edgeOwn       = edgeStyle{"#3465a4", "style=dashed", "stroke-dasharray=\"5 3\"", "task → its own pid namespace, its creds' user namespace"}
	edgeOwner     = edgeStyle{"#c17d11", "style=dotted", "stroke-dasharray=\"1.5 2.5\" stroke-width=\"1.5\"", "namespace → the user namespace that owns it"}
	edgeParent    = edgeStyle{"#75507b", "style=bold", "stroke-width=\"2.5\"", "pid/user namespace → its parent"}
	edgeStyles    = []edgeStyle{edgeTaskProxy, edgeMember, edgeOwn, edgeOwner, edgeParent}
)

func (e edgeStyle) dotAttrs(label string) string {
	a := []string{fmt.Sprintf("color=%q", e.color)}
	if e.dot != "" {
		a = append(a, e.dot)
	}
	if label != "" {
		a = append(a, fmt.Sprintf("label=%q", label))
	}
	return " [" + strings.Join(a, " ") + "]"
}

// WriteDOT renders the picture for Graphviz: tasks → nsproxy →
// namespaces, the tasks' own pid and user namespaces, each namespace's
// owner and parent, and a legend of the edge styles.
func (p *Picture) WriteDOT(w io.Writer) {
	fmt.Fprintln(w, "digraph namespaces {")
	fmt.Fprintln(w, "  rankdir=LR;")
	fmt.Fprintln(w, "  node [fontname=\"monospace\" fontsize=10];")
	fmt.Fprintln(w, "  edge [fontname=\"monospace\" fontsize=9];")
	for _, t := range p.Tasks {
		fmt.Fprintf(w, "  task%d [shape=ellipse label=\"pid %d\\n%s\"];\n", t.PID, t.PID, t.Comm)
		fmt.Fprintf(w, "  task%d -> proxy%d%s;\n", t.PID, p.Proxies[t.Proxy].ID, edgeTaskProxy.dotAttrs(""))
		fmt.Fprintf(w, "  task%d -> ns%d%s;\n", t.PID, t.PIDNS, edgeOwn.dotAttrs("pid"))
		fmt.Fprintf(w, "  task%d -> ns%d%s;\n", t.PID, t.UserNS, edgeOwn.dotAttrs("user"))
	}
	for _, x := range p.Proxies {
		fmt.Fprintf(w, "  proxy%d [shape=box label=\"nsproxy #%d\\nrefs %d\"];\n", x.ID, x.ID, x.Refs)
		for j, inum := range x.Members {
			if j == memTimeForChildren && inum == x.Members[memTime] {
				continue
			}
			fmt.Fprintf(w, "  proxy%d -> ns%d%s;\n", x.ID, inum, edgeMember.dotAttrs(memberNames[j]))
		}
	}
	for _, n := range p.Namespaces {
		fmt.Fprintf(w, "  ns%d [shape=box style=rounded label=\"%s\\nrefs %d\"];\n", n.Inum, n.label(), n.Refs)
		if n.Owner != 0 {
			fmt.Fprintf(w, "  ns%d -> ns%d%s;\n", n.Inum, n.Owner, edgeOwner.dotAttrs("owner"))
		}
		if n.Parent != 0 {
			fmt.Fprintf(w, "  ns%d -> ns%d%s;\n", n.Inum, n.Parent, edgeParent.dotAttrs("parent"))
		}
	}
	// The legend: one sample edge per style, between invisible points.
	fmt.Fprintln(w, "  subgraph cluster_legend {")
	fmt.Fprintln(w, "    label=\"edges\"; fontname=\"monospace\"; fontsize=10; color=\"#cccccc\";")
	fmt.Fprintln(w, "    node [shape=point width=0.05 color=\"#cccccc\" label=\"\"];")
	for i, e := range edgeStyles {
		fmt.Fprintf(w, "    legend%da -> legend%db%s;\n", i, i, e.dotAttrs(e.legend))
	}
	fmt.Fprintln(w, "  }")
	fmt.Fprintln(w, "}")
}

// The SVG picture: three columns (tasks, nsproxies, namespaces) with an
// edge per reference, owner and parent arcs to the right of the
// namespaces, and a legend of the edge styles.
//
// The dashed edges from a task to its own pid and user namespaces cross
// the nsproxy column through a channel, one per namespace that all its
// tasks' edges share, so that every edge joins neighbouring columns and
// the crossings depend only on the three columns' orders. Those orders
// are chosen to cross few edges (Sugiyama's barycenter method, then
// swaps of neighbours while they help), with the tasks of an nsproxy
// kept together. The boxes are then placed near their neighbours, and
// the ends of a box's edges spread over its side.

const (
	svgRowH, svgBoxH, svgBoxW = 44, 32, 200
	svgColW                   = 260
	svgChanH                  = 14 // a channel's slot in the nsproxy column
	svgTop                    = 40
	svgLeft                   = 20
)

// layItem is a box or channel of the SVG picture.
type layItem struct {
	col int     // 0 tasks, 1 nsproxies and channels, 2 namespaces
	idx int     // in Tasks, Proxies or Namespaces; a channel: its namespace
	chn bool    // a channel through the nsproxy column
	y   float64 // top
	h   float64
}

func (it *layItem) mid() float64 { return it.y + it.h/2 }

// layEdge joins an item of one column to one of the next.
type layEdge struct {
	a, b  *layItem
	style *edgeStyle
}

// layout is the placed SVG picture.
type layout struct {
	cols  [3][]*layItem
	edges []layEdge
}

// layout orders and places the picture's items.
func (p *Picture) layout() *layout {
	l := p.items()
	l.order()
	l.place()
	return l
}

// items builds the picture's items and edges, in the picture's own order
// (tasks by pid, nsproxies by number, namespaces by kind and inode).
func (p *Picture) items() *layout {
	l := &layout{}
	tasks := make([]*layItem, len(p.Tasks))
	for i := range p.Tasks {
		tasks[i] = &layItem{col: 0, idx: i, h: svgBoxH}
		l.cols[0] = append(l.cols[0], tasks[i])
	}
	proxies := make([]*layItem, len(p.Proxies))
	for i := range p.Proxies {
		proxies[i] = &layItem{col: 1, idx: i, h: svgBoxH}
		l.cols[1] = append(l.cols[1], proxies[i])
	}
	nsItem := map[uint32]*layItem{}
	for i, n := range p.Namespaces {
		it := &layItem{col: 2, idx: i, h: svgBoxH}
		nsItem[n.Inum] = it
		l.cols[2] = append(l.cols[2], it)
	}
	chans := map[uint32]*layItem{}
	for i, t := range p.Tasks {
		l.edges = append(l.edges, layEdge{tasks[i], proxies[t.Proxy], &edgeTaskProxy})
		for _, inum := range []uint32{t.PIDNS, t.UserNS} {
			n := nsItem[inum]
			if n == nil {
				continue
			}
			c := chans[inum]
			if c == nil {
				c = &layItem{col: 1, idx: n.idx, chn: true, h: svgChanH}
				chans[inum] = c
				l.cols[1] = append(l.cols[1], c)
				l.edges = append(l.edges, layEdge{c, n, &edgeOwn})
			}
			l.edges = append(l.edges, layEdge{tasks[i], c, &edgeOwn})
		}
	}
	for i, x := range p.Proxies {
		for j, inum := range x.Members {
			if j == memTimeForChildren && inum == x.Members[memTime] {
				continue
			}
			if n := nsItem[inum]; n != nil {
				l.edges = append(l.edges, layEdge{proxies[i], n, &edgeMember})
			}
		}
	}
	return l
}

// crossings counts the pairs of edges that cross: edges between the same
// two columns cross when their ends come in opposite orders.
func (l *layout) crossings() int {
	pos := map[*layItem]int{}
	for _, col := range l.cols {
		for i, it := range col {
			pos[it] = i
		}
	}
	n := 0
	for i, e := range l.edges {
		for _, f := range l.edges[i+1:] {
			if e.a.col != f.a.col {
				continue
			}
			da, db := pos[e.a]-pos[f.a], pos[e.b]-pos[f.b]
			if da < 0 && db > 0 || da > 0 && db < 0 {
				n++
			}
		}
	}
	return n
}

// order sorts the columns: barycenter sweeps, keeping the best order
// seen, then swaps of neighbours while they remove crossings. An item's
// barycenter weighs each neighbour by the inverse of the neighbour's
// degree, so that a namespace every nsproxy holds pulls little and an
// nsproxy sits by the namespaces that are its own.
func (l *layout) order() {
	nb := l.neighbours()
	proxyOf := map[*layItem]*layItem{}
	for _, e := range l.edges {
		if e.a.col == 0 && !e.b.chn {
			proxyOf[e.a] = e.b
		}
	}
	sortCol := func(c int) {
		at := map[*layItem]float64{}
		for _, col := range l.cols {
			for i, it := range col {
				at[it] = float64(i)
			}
		}
		bary := map[*layItem]float64{}
		for _, it := range l.cols[c] {
			bary[it] = at[it]
			if b, ok := barycenter(nb[it], nb, func(o *layItem) float64 { return at[o] }); ok {
				bary[it] = b
			}
		}
		col := l.cols[c]
		if c == 0 {
			// Tasks stay together by nsproxy, in pid order.
			for _, it := range col {
				bary[it] = at[proxyOf[it]]
			}
			sort.SliceStable(col, func(i, j int) bool {
				a, b := col[i], col[j]
				return bary[a] < bary[b] || bary[a] == bary[b] && a.idx < b.idx
			})
			return
		}
		sort.SliceStable(col, func(i, j int) bool { return bary[col[i]] < bary[col[j]] })
	}
	snapshot := func() [3][]*layItem {
		var s [3][]*layItem
		for c := range l.cols {
			s[c] = append([]*layItem(nil), l.cols[c]...)
		}
		return s
	}
	best, bestN := snapshot(), l.crossings()
	for range 12 {
		for _, c := range []int{1, 2, 0, 1, 0, 2} {
			sortCol(c)
		}
		if n := l.crossings(); n < bestN {
			best, bestN = snapshot(), n
		}
	}
	l.cols = best
	// Swaps of neighbours while one removes crossings; bounded for big
	// pictures.
	if len(l.edges) > 600 {
		return
	}
	for pass := 0; pass < 20; pass++ {
		improved := false
		for c := range l.cols {
			col := l.cols[c]
			for i := 0; i+1 < len(col); i++ {
				if c == 0 && proxyOf[col[i]] != proxyOf[col[i+1]] {
					continue
				}
				col[i], col[i+1] = col[i+1], col[i]
				if n := l.crossings(); n < bestN {
					bestN, improved = n, true
				} else {
					col[i], col[i+1] = col[i+1], col[i]
				}
			}
		}
		if !improved {
			break
		}
	}
}

// neighbours lists each item's neighbours, on both sides.
func (l *layout) neighbours() map[*layItem][]*layItem {
	nb := map[*layItem][]*layItem{}
	for _, e := range l.edges {
		nb[e.a] = append(nb[e.a], e.b)
		nb[e.b] = append(nb[e.b], e.a)
	}
	return nb
}

// barycenter is the mean of at over the items of near, each weighed by
// the inverse of its degree in nb.
func barycenter(near []*layItem, nb map[*layItem][]*layItem, at func(*layItem) float64) (float64, bool) {
	s, ws := 0.0, 0.0
	for _, o := range near {
		w := 1 / float64(len(nb[o]))
		s += w * at(o)
		ws += w
	}
	if ws == 0 {
		return 0, false
	}
	return s / ws, true
}

// place gives each item its height: the namespaces one per row; a
// channel level with its namespace; an nsproxy at the middle of its
// namespaces and a task level with its nsproxy, as near as the order
// and the spacing allow.
func (l *layout) place() {
	for i, it := range l.cols[2] {
		it.y = float64(svgTop + i*svgRowH)
	}
	// A task follows its nsproxy (not its channels); an nsproxy or a
	// channel its namespaces.
	nb := l.neighbours()
	near := map[*layItem][]*layItem{}
	for _, e := range l.edges {
		if e.a.col == 1 || !e.b.chn {
			near[e.a] = append(near[e.a], e.b)
		}
	}
	for _, c := range []int{1, 0} {
		for _, it := range l.cols[c] {
			if b, ok := barycenter(near[it], nb, (*layItem).mid); ok {
				it.y = b - it.h/2
			}
		}
		spread(l.cols[c])
	}
}

// spread moves a column's items as little as possible (least squares)
// from their wanted heights so that they keep their order without
// overlapping: runs of items that would overlap are centred together
// (pool adjacent violators), and the column starts at svgTop or below.
func spread(col []*layItem) {
	if len(col) == 0 {
		return
	}
	// A run of items placed together: its items' wanted heights minus
	// their offsets from its top (off) add up to sum.
	type run struct {
		first, n int
		sum      float64
	}
	gap := func(a, b *layItem) float64 {
		if a.chn || b.chn {
			return a.h + 6
		}
		return a.h + svgRowH - svgBoxH
	}
	off := make([]float64, len(col))
	var runs []run
	for i, it := range col {
		r := run{first: i, n: 1, sum: it.y}
		for len(runs) > 0 {
			last := &runs[len(runs)-1]
			end := r.first - 1 // last's last item
			need := last.sum/float64(last.n) + off[end] + gap(col[end], col[r.first])
			if r.sum/float64(r.n) >= need {
				break
			}
			// Merge r into last: its items go below last's.
			base := off[end] + gap(col[end], col[r.first])
			for j := r.first; j < r.first+r.n; j++ {
				off[j] += base
				last.sum += col[j].y - off[j]
			}
			last.n += r.n
			r = *last
			runs = runs[:len(runs)-1]
		}
		runs = append(runs, r)
	}
	for _, r := range runs {
		top := r.sum / float64(r.n)
		for j := r.first; j < r.first+r.n; j++ {
			col[j].y = top + off[j]
		}
	}
	// Nothing above svgTop: what is pushed down pushes the rest.
	col[0].y = math.Max(col[0].y, svgTop)
	for i := 1; i < len(col); i++ {
		col[i].y = math.Max(col[i].y, col[i-1].y+gap(col[i-1], col[i]))
	}
}

// arcs are the owner and parent edges, drawn to the right of the
// namespace column.
type arc struct {
	from, to *layItem
	style    *edgeStyle
	reach    float64 // how far right it bulges
}

func (l *layout) arcs(p *Picture) []arc {
	byInum := map[uint32]*layItem{}
	for _, it := range l.cols[2] {
		byInum[p.Namespaces[it.idx].Inum] = it
	}
	var out []arc
	for _, it := range l.cols[2] {
		n := p.Namespaces[it.idx]
		for _, e := range []struct {
			to    uint32
			style *edgeStyle
			extra float64
		}{{n.Owner, &edgeOwner, 0}, {n.Parent, &edgeParent, 14}} {
			if to := byInum[e.to]; to != nil && e.to != 0 {
				out = append(out, arc{it, to, e.style, 18 + e.extra + 0.3*math.Abs(to.mid()-it.mid())})
			}
		}
	}
	return out
}

// ports spreads the ends of the edges that leave or enter a box over its
// side, in the order of the boxes at their other ends, so that the edges
// of one box do not cross or overlap each other there. A channel is one
// point. It returns each edge's heights at its start and at its end.
func (l *layout) ports() (start, end []float64) {
	start, end = make([]float64, len(l.edges)), make([]float64, len(l.edges))
	out, in := map[*layItem][]int{}, map[*layItem][]int{}
	for i, e := range l.edges {
		out[e.a] = append(out[e.a], i)
		in[e.b] = append(in[e.b], i)
	}
	spreadPorts := func(it *layItem, edges []int, other func(layEdge) *layItem, set []float64) {
		sort.SliceStable(edges, func(i, j int) bool { return other(l.edges[edges[i]]).mid() < other(l.edges[edges[j]]).mid() })
		for k, i := range edges {
			set[i] = portY(it, k, len(edges))
		}
	}
	for _, col := range l.cols {
		for _, it := range col {
			spreadPorts(it, out[it], func(e layEdge) *layItem { return e.b }, start)
			spreadPorts(it, in[it], func(e layEdge) *layItem { return e.a }, end)
		}
	}
	return start, end
}

// portY is the height of the k-th of n ports on a side of it.
func portY(it *layItem, k, n int) float64 {
	if it.chn {
		return it.mid()
	}
	const margin = 5
	return it.y + margin + (float64(k)+0.5)*(it.h-2*margin)/float64(n)
}

// arcPorts spreads the arcs' ends over the right side of each namespace
// box, in the order of the arcs' other ends.
func arcPorts(arcs []arc) (start, end []float64) {
	start, end = make([]float64, len(arcs)), make([]float64, len(arcs))
	type port struct {
		arc   int
		isEnd bool
		other float64
	}
	at := map[*layItem][]port{}
	var boxes []*layItem
	for i, a := range arcs {
		for _, p := range []struct {
			box   *layItem
			isEnd bool
			other *layItem
		}{{a.from, false, a.to}, {a.to, true, a.from}} {
			if at[p.box] == nil {
				boxes = append(boxes, p.box)
			}
			at[p.box] = append(at[p.box], port{i, p.isEnd, p.other.mid()})
		}
	}
	for _, b := range boxes {
		ps := at[b]
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].other < ps[j].other })
		for k, p := range ps {
			if p.isEnd {
				end[p.arc] = portY(b, k, len(ps))
			} else {
				start[p.arc] = portY(b, k, len(ps))
			}
		}
	}
	return start, end
}

// WriteSVG draws the picture (see layout): no Graphviz needed.
func (p *Picture) WriteSVG(w io.Writer) {
	l := p.layout()
	arcs := l.arcs(p)
	x := [3]float64{svgLeft, svgLeft + svgColW, svgLeft + 2*svgColW}
	right := x[2] + svgBoxW
	reach := 0.0
	for _, a := range arcs {
		reach = math.Max(reach, a.reach)
	}
	bottom := float64(svgTop)
	for _, col := range l.cols {
		for _, it := range col {
			bottom = math.Max(bottom, it.y+it.h)
		}
	}
	legendY := bottom + 24
	height := int(legendY + float64(len(edgeStyles))*16 + 16)
	width := int(math.Max(right+reach+20, x[1]+60+330))
	fmt.Fprintf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"monospace\" font-size=\"11\">\n", width, height, width, height)
	fmt.Fprintln(w, "<defs>")
	for i, e := range edgeStyles {
		fmt.Fprintf(w, "<marker id=\"arrow%d\" viewBox=\"0 0 8 8\" refX=\"7\" refY=\"4\" markerWidth=\"8\" markerHeight=\"8\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"%s\"/></marker>\n", i, e.color)
	}
	fmt.Fprintln(w, "</defs>")
	fmt.Fprintf(w, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", width, height)
	for i, h := range []string{"tasks", "nsproxy", "namespaces"} {
		fmt.Fprintf(w, "<text x=\"%.1f\" y=\"20\" font-weight=\"bold\">%s</text>\n", x[i], h)
	}
	marker := func(s *edgeStyle) int {
		for i := range edgeStyles {
			if edgeStyles[i] == *s {
				return i
			}
		}
		return 0
	}
	stroke := func(s *edgeStyle) string {
		a := fmt.Sprintf("fill=\"none\" stroke=\"%s\"", s.color)
		if s.svg != "" {
			a += " " + s.svg
		}
		return a
	}
	// Edges first, boxes over them. A channel is a horizontal run
	// through the nsproxy column, drawn once.
	y1s, y2s := l.ports()
	for i, e := range l.edges {
		x1, y1 := x[e.a.col]+svgBoxW, y1s[i]
		if e.a.chn {
			fmt.Fprintf(w, "<path d=\"M%.1f,%.1f H%.1f\" %s/>\n", x[1], y1, x1, stroke(e.style))
		}
		x2, y2 := x[e.b.col], y2s[i]
		end := ""
		if e.b.col == 2 {
			end = fmt.Sprintf(" marker-end=\"url(#arrow%d)\"", marker(e.style))
		}
		fmt.Fprintf(w, "<path d=\"M%.1f,%.1f L%.1f,%.1f\" %s%s/>\n", x1, y1, x2, y2, stroke(e.style), end)
	}
	a1s, a2s := arcPorts(arcs)
	for i, a := range arcs {
		y1, y2 := a1s[i], a2s[i]
		fmt.Fprintf(w, "<path d=\"M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f\" %s marker-end=\"url(#arrow%d)\"/>\n",
			right, y1, right+a.reach, y1, right+a.reach, y2, right+2, y2, stroke(a.style), marker(a.style))
	}
	box := func(x, y float64, fill, text1, text2 string) {
		fmt.Fprintf(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%d\" rx=\"4\" fill=\"%s\" stroke=\"#333\"/>\n", x, y, svgBoxW, svgBoxH, fill)
		fmt.Fprintf(w, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x+6, y+13, esc(text1))
		fmt.Fprintf(w, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x+6, y+26, esc(text2))
	}
	for _, it := range l.cols[0] {
		t := p.Tasks[it.idx]
		box(x[0], it.y, "#e8f0ff", fmt.Sprintf("pid %d", t.PID), t.Comm)
	}
	for _, it := range l.cols[1] {
		if !it.chn {
			px := p.Proxies[it.idx]
			box(x[1], it.y, "#fff4dc", fmt.Sprintf("nsproxy #%d", px.ID), fmt.Sprintf("refs %d", px.Refs))
		}
	}
	for _, it := range l.cols[2] {
		n := p.Namespaces[it.idx]
		box(x[2], it.y, "#e9f7e9", n.label(), fmt.Sprintf("refs %d, %s", n.Refs, tasksShort(n.PIDs)))
	}
	// The legend.
	fmt.Fprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-weight=\"bold\">edges</text>\n", x[0], legendY)
	for i, e := range edgeStyles {
		y := legendY + 16*float64(i+1)
		fmt.Fprintf(w, "<path d=\"M%.1f,%.1f H%.1f\" %s marker-end=\"url(#arrow%d)\"/>\n", x[0], y-4, x[0]+50, stroke(&edgeStyles[i]), i)
		fmt.Fprintf(w, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x[0]+60, y, esc(e.legend))
	}
	fmt.Fprintln(w, "</svg>")
}

// tasksShort says which tasks a box lists, short enough for the box:
// runs of three or more pids as ranges ("tasks 1-4,6"), or only their
// number when that is still too long.
func tasksShort(l []int) string {
	var parts []string
	for i := 0; i < len(l); {
		j := i
		for j+1 < len(l) && l[j+1] == l[j]+1 {
			j++
		}
		switch {
		case j-i >= 2:
			parts = append(parts, fmt.Sprintf("%d-%d", l[i], l[j]))
		case j > i:
			parts = append(parts, fmt.Sprint(l[i]), fmt.Sprint(l[j]))
		default:
			parts = append(parts, fmt.Sprint(l[i]))
		}
		i = j + 1
	}
	s := "tasks " + strings.Join(parts, ",")
	switch {
	case len(l) == 0:
		return "no tasks"
	case len(s) > 20:
		return fmt.Sprintf("%d tasks", len(l))
	}
	return s
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
