package ns

import (
	"encoding/xml"
	"fmt"
	"io"
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
	PIDs   []int // tasks using it
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
	uses := append([]uint32{pidNS.Inum, user.Inum}, p.Proxies[idx].Members...)
	seen := map[uint32]bool{}
	for _, inum := range uses {
		if seen[inum] {
			continue
		}
		seen[inum] = true
		for i := range p.Namespaces {
			if p.Namespaces[i].Inum == inum {
				p.Namespaces[i].PIDs = append(p.Namespaces[i].PIDs, pid)
			}
		}
	}
}

var memberNames = []string{"mnt", "uts", "ipc", "pid_for_children", "cgroup", "net", "time", "time_for_children"}

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

// WriteDOT renders the picture for Graphviz: tasks → nsproxy →
// namespaces; dashed edges from a namespace to its owning user
// namespace, dotted ones to a parent namespace.
func (p *Picture) WriteDOT(w io.Writer) {
	fmt.Fprintln(w, "digraph namespaces {")
	fmt.Fprintln(w, "  rankdir=LR;")
	fmt.Fprintln(w, "  node [fontname=\"monospace\" fontsize=10];")
	for _, t := range p.Tasks {
		fmt.Fprintf(w, "  task%d [shape=ellipse label=\"pid %d\\n%s\"];\n", t.PID, t.PID, t.Comm)
		fmt.Fprintf(w, "  task%d -> proxy%d;\n", t.PID, p.Proxies[t.Proxy].ID)
		fmt.Fprintf(w, "  task%d -> ns%d [label=\"pid\"];\n", t.PID, t.PIDNS)
		fmt.Fprintf(w, "  task%d -> ns%d [label=\"cred\"];\n", t.PID, t.UserNS)
	}
	for _, x := range p.Proxies {
		fmt.Fprintf(w, "  proxy%d [shape=box label=\"nsproxy #%d\\nrefs %d\"];\n", x.ID, x.ID, x.Refs)
		seen := map[uint32]bool{}
		for j, inum := range x.Members {
			if seen[inum] {
				continue
			}
			seen[inum] = true
			fmt.Fprintf(w, "  proxy%d -> ns%d [label=\"%s\"];\n", x.ID, inum, memberNames[j])
		}
	}
	for _, n := range p.Namespaces {
		fmt.Fprintf(w, "  ns%d [shape=box style=rounded label=\"%s\\nrefs %d\"];\n", n.Inum, n.label(), n.Refs)
		if n.Owner != 0 {
			fmt.Fprintf(w, "  ns%d -> ns%d [style=dashed label=\"owner\"];\n", n.Inum, n.Owner)
		}
		if n.Parent != 0 {
			fmt.Fprintf(w, "  ns%d -> ns%d [style=dotted label=\"parent\"];\n", n.Inum, n.Parent)
		}
	}
	fmt.Fprintln(w, "}")
}

// WriteSVG draws the picture in three columns (tasks, nsproxies,
// namespaces) with an edge per reference.
func (p *Picture) WriteSVG(w io.Writer) {
	const rowH, boxH, colW, boxW = 44, 32, 260, 200
	rows := max(len(p.Tasks), len(p.Proxies), len(p.Namespaces), 1)
	height := rows*rowH + 60
	width := 3*colW + 40
	fmt.Fprintf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"monospace\" font-size=\"11\">\n", width, height, width, height)
	fmt.Fprintf(w, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", width, height)
	for i, h := range []string{"tasks", "nsproxy", "namespaces"} {
		fmt.Fprintf(w, "<text x=\"%d\" y=\"20\" font-weight=\"bold\">%s</text>\n", 20+i*colW, h)
	}
	y := func(i int) int { return 40 + i*rowH }
	nsRow := map[uint32]int{}
	for i, n := range p.Namespaces {
		nsRow[n.Inum] = i
	}
	line := func(x1, y1, x2, y2 int, dash bool) {
		style := ""
		if dash {
			style = " stroke-dasharray=\"4 3\""
		}
		fmt.Fprintf(w, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"%s/>\n", x1, y1, x2, y2, style)
	}
	for i, t := range p.Tasks {
		line(20+boxW, y(i)+boxH/2, 20+colW, y(t.Proxy)+boxH/2, false)
	}
	for i, x := range p.Proxies {
		seen := map[uint32]bool{}
		for _, inum := range x.Members {
			if r, ok := nsRow[inum]; ok && !seen[inum] {
				seen[inum] = true
				line(20+colW+boxW, y(i)+boxH/2, 20+2*colW, y(r)+boxH/2, false)
			}
		}
	}
	for i, t := range p.Tasks {
		for _, inum := range []uint32{t.PIDNS, t.UserNS} {
			if r, ok := nsRow[inum]; ok {
				line(20+boxW, y(i)+boxH/2, 20+2*colW, y(r)+boxH/2, true)
			}
		}
	}
	box := func(x, yy int, fill, text1, text2 string) {
		fmt.Fprintf(w, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"4\" fill=\"%s\" stroke=\"#333\"/>\n", x, yy, boxW, boxH, fill)
		fmt.Fprintf(w, "<text x=\"%d\" y=\"%d\">%s</text>\n", x+6, yy+13, esc(text1))
		fmt.Fprintf(w, "<text x=\"%d\" y=\"%d\">%s</text>\n", x+6, yy+26, esc(text2))
	}
	for i, t := range p.Tasks {
		box(20, y(i), "#e8f0ff", fmt.Sprintf("pid %d", t.PID), t.Comm)
	}
	for i, x := range p.Proxies {
		box(20+colW, y(i), "#fff4dc", fmt.Sprintf("nsproxy #%d", x.ID), fmt.Sprintf("refs %d", x.Refs))
	}
	for i, n := range p.Namespaces {
		box(20+2*colW, y(i), "#e9f7e9", n.label(), fmt.Sprintf("refs %d, tasks %s", n.Refs, pids(n.PIDs)))
	}
	fmt.Fprintln(w, "</svg>")
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
