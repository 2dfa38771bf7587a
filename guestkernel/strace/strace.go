// Package strace prints a traced program's system calls, signals and
// exits the way strace -f prints them (strace 6.1, Debian's package, is
// the reference; cmd/nsvm/strace_test.go compares the two): decoded
// arguments and flags, errno names with their text, "[pid N]" prefixes
// while more than one task is traced, the result column at 40, and a
// syscall that sleeps split into "name(args <unfinished ...>" and
// "<... name resumed>rest) = result" when another task prints in
// between.
//
// The package knows nothing of the kernel model: the guest kernel tells
// a Tracer what happens (a syscall enters or exits, a signal is
// delivered, a task exits) and gives it read access to the task's
// memory. It is modelled on strace's own split: a decoder per syscall,
// called at entry and, for what the kernel writes back, again at exit.
package strace

import (
	"fmt"
	"io"
)

// Memory reads a traced task's memory. Read fills b from addr and
// reports whether all of it was readable. It must not change the task:
// no demand paging, no fault injection.
type Memory interface {
	Read(addr uint64, b []byte) bool
}

const (
	// resultColumn is where " = result" starts when the call is short
	// (strace -a 40).
	resultColumn = 40
	// maxStrlen bounds the bytes of a buffer printed (strace -s 32).
	maxStrlen = 32
	// maxPath bounds a path (PATH_MAX).
	maxPath = 4096
)

// Tracer writes one trace. Lines are written whole: the line being
// printed stays in a buffer until it ends, so that other output of the
// process (a crash report, the guest's own stderr) never splits one.
type Tracer struct {
	w    io.Writer
	line []byte
	// printing is the task whose line was printed last (strace's
	// printing_tcp): a syscall that exits while its entry is still the
	// open line just finishes that line.
	printing *Proc
	nprocs   int // traced tasks not yet reported dead
}

// New returns a tracer that writes to w.
func New(w io.Writer) *Tracer { return &Tracer{w: w} }

// Proc is one traced task (strace's tcb).
type Proc struct {
	Pid int
	tr  *Tracer
	// The syscall in progress, between Enter and Exit or Died.
	in bool
	c  call
}

// Attach starts tracing task pid. From the second traced task on, lines
// carry a "[pid N]" prefix, until only one is left.
func (tr *Tracer) Attach(pid int) *Proc {
	tr.nprocs++
	return &Proc{Pid: pid, tr: tr}
}

// Flush writes the line left open, if any (the end of a run with a task
// still asleep in a syscall).
func (tr *Tracer) Flush() {
	if len(tr.line) > 0 {
		tr.line = append(tr.line, '\n')
		tr.write()
	}
}

func (tr *Tracer) write() {
	tr.w.Write(tr.line) //nolint:errcheck // tracing goes on regardless
	tr.line = tr.line[:0]
}

// leader starts a line for p (strace's printleader): the open line of
// another task, or of p itself, ends with " <unfinished ...>".
func (tr *Tracer) leader(p *Proc) {
	if len(tr.line) > 0 {
		tr.line = append(tr.line, " <unfinished ...>\n"...)
		tr.write()
	}
	tr.printing = p
	if tr.nprocs > 1 {
		tr.line = fmt.Appendf(tr.line, "[pid %5d] ", p.Pid)
	}
}

func (tr *Tracer) puts(s string)             { tr.line = append(tr.line, s...) }
func (tr *Tracer) printf(f string, a ...any) { tr.line = fmt.Appendf(tr.line, f, a...) }
func (tr *Tracer) endLine()                  { tr.line = append(tr.line, '\n'); tr.write() }
func (tr *Tracer) tabto() {
	for len(tr.line) < resultColumn {
		tr.line = append(tr.line, ' ')
	}
}

// resume starts the exit half of p's syscall: on the open line if that is
// still p's entry, else on a new "<... name resumed>" line.
func (tr *Tracer) resume(p *Proc) {
	if tr.printing != p || len(tr.line) == 0 {
		tr.leader(p)
		tr.printf("<... %s resumed>", p.c.name())
	}
}

// InSyscall reports whether p entered a syscall that has not exited.
func (p *Proc) InSyscall() bool { return p.in }

// Syscall returns the number and arguments of the syscall in progress.
func (p *Proc) Syscall() (nr uint64, args [6]uint64) { return p.c.nr, p.c.a }

// Enter prints a syscall's entry: its name and the arguments known
// before it runs. sp is the user stack pointer at the SYSCALL
// instruction (rt_sigreturn reads its frame there).
func (p *Proc) Enter(nr uint64, args [6]uint64, m Memory, sp uint64) {
	tr := p.tr
	p.in = true
	p.c = call{tr: tr, nr: nr, a: args, m: m, sp: sp, ent: lookup(nr)}
	tr.leader(p)
	tr.puts(p.c.name())
	tr.puts("(")
	p.c.decoded = p.c.ent.dec(&p.c)
}

// Exit prints the rest of the syscall and its result: ret is what the
// kernel returns (a negative errno on failure, or one of the ERESTART*
// codes when a signal interrupted the call).
func (p *Proc) Exit(ret int64, m Memory) {
	if !p.in {
		return
	}
	tr := p.tr
	c := &p.c
	tr.resume(p)
	c.exiting, c.ret, c.m = true, ret, m
	if !c.decoded {
		c.ent.dec(c)
	}
	tr.puts(") ")
	tr.tabto()
	tr.puts("= ")
	c.finish()
	c.result()
	tr.endLine()
	p.in = false
}

// Died ends the syscall of a task that will never return from it (exit,
// exit_group, SIGKILL): "= ?", and what the decoder meant to print at
// exit is marked unfinished.
func (p *Proc) Died() {
	if !p.in {
		return
	}
	tr := p.tr
	tr.resume(p)
	if !p.c.decoded {
		tr.puts(" <unfinished ...>")
	}
	tr.puts(") ")
	tr.tabto()
	tr.puts("= ?")
	tr.endLine()
	p.in = false
}

// Signal prints the delivery of a signal to p:
// "--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER, ...} ---".
func (p *Proc) Signal(si Siginfo) {
	tr := p.tr
	tr.leader(p)
	tr.printf("--- %s ", signame(int(si.Signo)))
	tr.puts(si.String())
	tr.puts(" ---")
	tr.endLine()
}

// Stopped prints a group stop: "--- stopped by SIGSTOP ---".
func (p *Proc) Stopped(sig int) {
	tr := p.tr
	tr.leader(p)
	tr.printf("--- stopped by %s ---", signame(sig))
	tr.endLine()
}

// Exited reports the end of p by exit or exit_group, and stops tracing it.
func (p *Proc) Exited(code int) {
	tr := p.tr
	p.Died()
	tr.leader(p)
	tr.printf("+++ exited with %d +++", code)
	tr.endLine()
	tr.nprocs--
}

// Killed reports the end of p by signal sig, and stops tracing it.
func (p *Proc) Killed(sig int, core bool) {
	tr := p.tr
	p.Died()
	tr.leader(p)
	tr.printf("+++ killed by %s ", signame(sig))
	if core {
		tr.puts("(core dumped) ")
	}
	tr.puts("+++")
	tr.endLine()
	tr.nprocs--
}
