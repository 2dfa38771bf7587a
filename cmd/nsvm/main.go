// Command nsvm runs static x86-64 Linux programs in a KVM micro-VM whose
// kernel is a Go model of Linux.
//
//	nsvm run [--mem SIZE] [--timeout D] [--trace] [--ps] [PROG [ARGS...]]
//	nsvm ns [--format text|dot|svg] [--out FILE] [run flags] PROG [ARGS...]
//	nsvm inject [--syscall NAME[:K]] [--site SITE] [--prob P --seed S --runs N] [--format table|json] PROG [ARGS...]
//	nsvm bench fork [--quick] [--out DIR]
//	nsvm info
//
// Exit status, as timeout(1) and env(1) have it: the guest's own status;
// 128+N when the guest was killed by signal N; 124 when --timeout stopped
// it or it hung (every task blocked for good); 125 when nsvm itself
// failed (KVM unusable, a VM error) or was used wrongly (a bad flag or
// argument, --mem too small for PROG); 126 when PROG cannot be executed
// (no execute permission, a directory, not a runnable static x86-64
// ELF); 127 when PROG does not exist. --help exits 0.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsvm/nsvm/fault"
	"github.com/nsvm/nsvm/guestkernel"
	"github.com/nsvm/nsvm/guestkernel/loader"
	"github.com/nsvm/nsvm/images"
	"github.com/nsvm/nsvm/vm"
)

// Exit statuses of nsvm itself, those of timeout(1) and env(1).
const (
	exitTimeout  = 124 // --timeout stopped the guest, or the guest hung
	exitInternal = 125 // nsvm itself failed
	exitUsage    = 125 // nsvm was used wrongly (timeout(1) and env(1) share 125 too)
	exitNoExec   = 126 // PROG exists but cannot be executed
	exitNotFound = 127 // PROG does not exist
)

func main() {
	os.Exit(mainErr(os.Args[1:], os.Stdout, os.Stderr))
}

const mainHelp = `usage: nsvm <command> [flags] [args]

commands:
  run [--mem SIZE] [--timeout D] [--trace] [--ps] [PROG [ARGS...]]
        run a static x86-64 Linux program (default: the embedded image)
  ns [--format text|dot|svg] [--out FILE] [run flags] PROG [ARGS...]
        run PROG and print its namespace picture (tasks -> nsproxy ->
        namespaces, as lsns does) taken when PROG starts to exit
  inject [--syscall NAME[:K]] [--site SITE] [--format table|json] PROG [ARGS...]
        fault-injection sweep: fail the 1st, 2nd, ... allocation inside the
        K-th NAME call until it no longer fails; audit the unwind each time
  inject --prob P [--seed S] [--runs N] ... PROG   a random campaign
  bench fork [--quick] [--out DIR]
        fork latency/throughput/sweeps under nsvm and on the host, same run
  info  print what /dev/kvm offers (platform, capabilities, XSAVE size)
  help [COMMAND]
        this text, or a command's flags ('nsvm COMMAND --help' too)
` + exitHelp

const exitHelp = `
exit status (run and ns):
  0-255  the guest's own exit status
  128+N  the guest was killed by signal N
  124    --timeout stopped the guest, or it hung (every task blocked for good)
  125    nsvm itself failed (KVM unusable, a VM error), or a usage error
  126    PROG cannot be executed (no execute permission, a directory, not a
         static x86-64 ELF)
  127    PROG does not exist
`

// commands maps each command to its function.
var commands map[string]func(argv []string, stdout, stderr io.Writer) int

func init() {
	commands = map[string]func([]string, io.Writer, io.Writer) int{
		"run":    cmdRun,
		"ns":     cmdNS,
		"inject": cmdInject,
		"bench":  cmdBench,
		"info":   cmdInfo,
	}
}

func mainErr(argv []string, stdout, stderr io.Writer) int {
	if len(argv) == 0 {
		return usageError(stderr, "nsvm", "missing command (run, ns, inject, bench, info or help)")
	}
	switch argv[0] {
	case "-h", "-help", "--help":
		fmt.Fprint(stdout, mainHelp)
		return 0
	case "help":
		// help COMMAND is COMMAND --help, as in git and go (and
		// help bench fork is bench fork --help).
		if len(argv) == 1 {
			fmt.Fprint(stdout, mainHelp)
			return 0
		}
		cmd, ok := commands[argv[1]]
		if !ok {
			return usageError(stderr, "nsvm help", "unknown command %q", argv[1])
		}
		sub := argv[2:]
		if len(sub) > 1 || (len(sub) == 1 && argv[1] != "bench") {
			return usageError(stderr, "nsvm help", "unexpected argument %q", sub[len(sub)-1])
		}
		return cmd(append(sub, "--help"), stdout, stderr)
	}
	if cmd, ok := commands[argv[0]]; ok {
		return cmd(argv[1:], stdout, stderr)
	}
	if strings.HasPrefix(argv[0], "-") {
		return usageError(stderr, "nsvm", "a command comes first, then its flags: unknown command %q", argv[0])
	}
	return usageError(stderr, "nsvm", "unknown command %q", argv[0])
}

// usageError reports that the command cmd ("nsvm run") was used wrongly,
// as coreutils do, and returns exitUsage.
func usageError(stderr io.Writer, cmd, format string, a ...any) int {
	fmt.Fprintf(stderr, "%s: %s\n", cmd, fmt.Sprintf(format, a...))
	fmt.Fprintf(stderr, "Try '%s --help' for more information.\n", cmd)
	return exitUsage
}

// flags is a command's flag set and its --help text.
type flags struct {
	*flag.FlagSet
	cmd  string // "nsvm run"
	help string // the synopsis and a description, before the flag list
}

func newFlags(cmd, help string) *flags {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse reports errors itself
	fs.Usage = func() {}
	return &flags{FlagSet: fs, cmd: cmd, help: help}
}

// parse parses argv. When ok is false the command ends with status:
// 0 after --help or -h (the help is on stdout), exitUsage after a bad
// flag (the reason is on stderr).
func (f *flags) parse(argv []string, stdout, stderr io.Writer) (status int, ok bool) {
	err := f.Parse(argv)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		f.printHelp(stdout)
		return 0, false
	}
	return usageError(stderr, f.cmd, "%v", err), false
}

func (f *flags) printHelp(w io.Writer) {
	fmt.Fprint(w, f.help)
	n := 0
	f.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nflags:")
		f.SetOutput(w)
		f.PrintDefaults()
		f.SetOutput(io.Discard)
	}
}

// noArgs is the usage error for operands given to a command that takes
// none.
func (f *flags) noArgs(stderr io.Writer) (int, bool) {
	if f.NArg() == 0 {
		return 0, true
	}
	return usageError(stderr, f.cmd, "unexpected argument %q", f.Arg(0)), false
}

// runOpts are the flags of `nsvm run`, shared by `nsvm ns`.
type runOpts struct {
	mem       sizeFlag
	timeout   timeoutFlag
	trace, ps *bool
	// fault injection
	failNth     *uint
	failSite    *string
	failProb    percentFlag
	failSeed    *uint64
	failSyscall syscallFlag
	failVerbose *bool
	cfg         guestkernel.Config
}

func addRunFlags(fs *flags) *runOpts {
	o := &runOpts{mem: guestkernel.DefaultMem}
	fs.Var(&o.mem, "mem", "guest memory `SIZE` (e.g. 256M, 1G); at least what PROG needs to load")
	fs.Var(&o.timeout, "timeout", "stop the guest after this `DURATION` (e.g. 10s, 1.5m; a bare number is seconds), exit 124; 0 = no limit")
	o.trace = fs.Bool("trace", false, "print each syscall as strace does, to stderr")
	o.ps = fs.Bool("ps", false, "at exit, print every task the run created and how it ended (SIGQUIT prints the live tasks at any time)")
	o.failNth = fs.Uint("fail-nth", 0, "fail the N-th fault-injection site evaluated (in the program's first task, or in --fail-syscall's call)")
	o.failSite = fs.String("fail-site", "", "inject only at this site (e.g. copy_mm, alloc_pid); others do not count")
	fs.Var(&o.failProb, "fail-prob", "fail every site with this probability (`PERCENT`, 0-100)")
	o.failSeed = fs.Uint64("fail-seed", 1, "random seed for --fail-prob (a run is reproducible from its seed)")
	fs.Var(&o.failSyscall, "fail-syscall", "arm --fail-nth for one call only: `NAME[:K]` (its K-th occurrence)")
	o.failVerbose = fs.Bool("fail-verbose", false, "print a FAULT_INJECTION line for every injected failure, to stderr")
	return o
}

const runHelp = `usage: nsvm run [flags] [PROG [ARGS...]]

Run PROG, a static x86-64 Linux program, in a fresh micro-VM with ARGS,
nsvm's environment and its stdin, stdout and stderr. Without PROG, run the
embedded image "` + images.DefaultName + `". Flags come before PROG; what follows PROG is
the program's.
` + exitHelp

func cmdRun(argv []string, stdout, stderr io.Writer) int {
	fs := newFlags("nsvm run", runHelp)
	o := addRunFlags(fs)
	if st, ok := fs.parse(argv, stdout, stderr); !ok {
		return st
	}
	return o.run(fs, fs.Args(), stderr, nil)
}

// run boots PROG (args[0], or the default image) with the flags in o;
// hook may adjust the configuration first. fs is the command's flag set,
// for usage errors.
func (o *runOpts) run(fs *flags, args []string, stderr io.Writer, hook func(*runOpts)) int {
	if err := o.setupFault(stderr); err != nil {
		return usageError(stderr, fs.cmd, "%v", err)
	}
	cfg := &o.cfg
	if len(args) == 0 {
		cfg.Image = images.Default
		cfg.Path = images.DefaultName
		cfg.ExePath = "/images/" + images.DefaultName
		cfg.Args = []string{images.DefaultName}
	} else {
		prog := args[0]
		data, st := readProgram(prog, stderr)
		if st != 0 {
			return st
		}
		cfg.Image = data
		cfg.Path = prog
		cfg.ExePath, _ = filepath.Abs(prog)
		cfg.Args = args
	}
	// Refuse a bad executable, or too little memory for it, before
	// touching KVM.
	img, err := loader.Parse(cfg.Image)
	if err != nil {
		fmt.Fprintf(stderr, "nsvm: %s: %v\n", cfg.Path, err)
		return exitNoExec
	}
	if st := checkMem(fs, uint64(o.mem), img, cfg.Path, stderr); st != 0 {
		return st
	}
	cfg.Env = os.Environ()
	cfg.Stdin, cfg.Stdout, cfg.Stderr = 0, 1, 2
	cfg.Log = stderr
	if *o.trace {
		cfg.Trace = stderr
	}

	quit := make(chan os.Signal, 1)
	signal.Notify(quit, syscall.SIGQUIT)
	defer signal.Stop(quit)
	started := func(k *guestkernel.Kernel) {
		go func() {
			for range quit {
				k.RequestDump()
			}
		}()
	}
	if hook != nil {
		hook(o)
	}
	timeout := time.Duration(o.timeout)
	st, kern, err := guestkernel.RunProgram(*cfg, guestkernel.RunOptions{Mem: uint64(o.mem), Timeout: timeout, Started: started})
	if *o.ps && kern != nil {
		kern.PrintHistory(stderr)
	}
	var lerr *loader.Error
	switch {
	case errors.As(err, &lerr):
		fmt.Fprintf(stderr, "nsvm: %s: %v\n", cfg.Path, err)
		return exitNoExec
	case errors.Is(err, guestkernel.ErrTimeout):
		fmt.Fprintf(stderr, "nsvm: timeout: %s ran past --timeout %v and was stopped\n", cfg.Path, timeout)
		return exitTimeout
	case errors.Is(err, guestkernel.ErrDeadlock):
		// On Linux the program would hang for ever; timeout(1) would
		// end it with 124.
		fmt.Fprintf(stderr, "nsvm: %s hung: every task is blocked and nothing can wake them; stopped\n", cfg.Path)
		return exitTimeout
	case err != nil:
		fmt.Fprintf(stderr, "nsvm: %v\n", err)
		var xe *vm.ExitError
		if errors.As(err, &xe) {
			fmt.Fprintln(stderr, xe.Dump)
		}
		return exitInternal
	}
	return st.ShellCode()
}

// readProgram reads PROG as execve would find it runnable: 127 when it
// does not exist, 126 when it is not a regular file or lacks execute
// permission (EACCES, as execve(2) and the shells have it), or cannot be
// read. The reason is one line on stderr; status 0 means data is PROG.
func readProgram(prog string, stderr io.Writer) (data []byte, status int) {
	fail := func(status int, reason any) ([]byte, int) {
		fmt.Fprintf(stderr, "nsvm: %s: %v\n", prog, reason)
		return nil, status
	}
	st, err := os.Stat(prog)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail(exitNotFound, unwrapPath(err))
	case err != nil:
		return fail(exitNoExec, unwrapPath(err))
	case st.IsDir():
		return fail(exitNoExec, "is a directory")
	case !st.Mode().IsRegular():
		return fail(exitNoExec, "not a regular file (permission denied)")
	}
	if err := unix.Access(prog, unix.X_OK); err != nil {
		return fail(exitNoExec, fmt.Sprintf("%v (no execute permission)", unwrapPath(err)))
	}
	data, err = os.ReadFile(prog)
	if err != nil {
		return fail(exitNoExec, unwrapPath(err))
	}
	return data, 0
}

// checkMem refuses, as a usage error, guest memory too small for img to
// load and start.
func checkMem(fs *flags, mem uint64, img *loader.Image, prog string, stderr io.Writer) int {
	if need := guestkernel.MinMem(img); mem < need {
		return usageError(stderr, fs.cmd, "--mem %s is too small for %s, which needs at least %s", sizeFlag(mem), prog, sizeFlag(need))
	}
	return 0
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parseSize reads 256M, 1G, 512MiB, 65536 and the like.
func parseSize(s string) (uint64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(s), "B"), "I")
	mult := uint64(1)
	switch {
	case strings.HasSuffix(t, "K"):
		mult = 1 << 10
	case strings.HasSuffix(t, "M"):
		mult = 1 << 20
	case strings.HasSuffix(t, "G"):
		mult = 1 << 30
	}
	if mult != 1 {
		t = t[:len(t)-1]
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil || n == 0 {
		return 0, errors.New("not a size (use e.g. 256M or 1G)")
	}
	v := n * mult
	if v/mult != n || v > 64<<30 {
		return 0, errors.New("too large (at most 64G)")
	}
	if v%4096 != 0 {
		return 0, errors.New("not a multiple of 4 KiB")
	}
	return v, nil
}

// sizeFlag is a memory size flag (parseSize).
type sizeFlag uint64

func (s *sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = sizeFlag(n)
	return nil
}

func (s sizeFlag) String() string {
	switch {
	case s == 0:
		return "0"
	case s%(1<<30) == 0:
		return fmt.Sprintf("%dG", s>>30)
	case s%(1<<20) == 0:
		return fmt.Sprintf("%dM", s>>20)
	case s%(1<<10) == 0:
		return fmt.Sprintf("%dK", s>>10)
	}
	return strconv.FormatUint(uint64(s), 10)
}

// timeoutFlag is a duration that is not negative: Go's form (10s, 1m30s)
// or, as timeout(1) takes it, a bare number of seconds.
type timeoutFlag time.Duration

func (d *timeoutFlag) Set(v string) error {
	t, err := time.ParseDuration(v)
	if err != nil {
		secs, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || secs != secs || secs > float64(1<<62)/1e9 || secs < -float64(1<<62)/1e9 {
			return errors.New("not a duration (use e.g. 10s, 2m or 1.5)")
		}
		t = time.Duration(secs * 1e9)
	}
	if t < 0 {
		return errors.New("must not be negative")
	}
	*d = timeoutFlag(t)
	return nil
}

func (d timeoutFlag) String() string { return time.Duration(d).String() }

// percentFlag is a probability in percent, 0-100.
type percentFlag uint64

func (p *percentFlag) Set(v string) error {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > 100 {
		return errors.New("not a percentage (0-100)")
	}
	*p = percentFlag(n)
	return nil
}

func (p percentFlag) String() string { return strconv.FormatUint(uint64(p), 10) }

// syscallFlag names the K-th call of a Linux system call: NAME or
// NAME:K. The name must be a system call of x86-64 Linux.
type syscallFlag struct {
	name string
	occ  int
}

func (s *syscallFlag) Set(v string) error {
	name, occ := v, 1
	if n, k, ok := strings.Cut(v, ":"); ok {
		o, err := strconv.Atoi(k)
		if err != nil || o < 1 {
			return errors.New("want NAME or NAME:K with K >= 1")
		}
		name, occ = n, o
	}
	if _, ok := guestkernel.SyscallNumber(name); !ok {
		return fmt.Errorf("no system call %q in x86-64 Linux", name)
	}
	s.name, s.occ = name, occ
	return nil
}

func (s *syscallFlag) String() string {
	if s == nil || s.name == "" {
		return ""
	}
	if s.occ == 1 {
		return s.name
	}
	return fmt.Sprintf("%s:%d", s.name, s.occ)
}

// choiceFlag is a string flag that takes one of a fixed set of values.
type choiceFlag struct {
	value   string
	choices []string
}

func (c *choiceFlag) Set(v string) error {
	for _, ch := range c.choices {
		if v == ch {
			c.value = v
			return nil
		}
	}
	return fmt.Errorf("want one of %s", strings.Join(c.choices, ", "))
}

func (c *choiceFlag) String() string {
	if c == nil {
		return ""
	}
	return c.value
}

const infoHelp = `usage: nsvm info

Print what /dev/kvm offers nsvm: the platform (VMX, SVM or PVM), the KVM API
version, SYNC_REGS, the XSAVE2 size and the vCPU limits. Exit status 0, or
125 when KVM is not usable (the message says what to do).
`

func cmdInfo(argv []string, stdout, stderr io.Writer) int {
	fs := newFlags("nsvm info", infoHelp)
	if st, ok := fs.parse(argv, stdout, stderr); !ok {
		return st
	}
	if st, ok := fs.noArgs(stderr); !ok {
		return st
	}
	k, err := vm.Open()
	if err != nil {
		fmt.Fprintf(stderr, "nsvm: %v\n", err)
		return exitInternal
	}
	defer k.Close()
	c := k.Caps
	fmt.Fprintf(stdout, "platform:        %s\n", c.Platform)
	fmt.Fprintf(stdout, "KVM API:         %d\n", c.APIVersion)
	fmt.Fprintf(stdout, "sync regs:       %#x\n", c.SyncRegs)
	fmt.Fprintf(stdout, "XSAVE2 size:     %d\n", c.XSAVE2Size)
	fmt.Fprintf(stdout, "vCPUs:           %d recommended, %d max\n", c.NrVCPUs, c.MaxVCPUs)
	return 0
}

// setupFault turns the --fail-* flags into the kernel's injector. Its
// errors are usage errors.
func (o *runOpts) setupFault(stderr io.Writer) error {
	if o.failSyscall.name != "" && *o.failNth == 0 && o.failProb == 0 {
		return fmt.Errorf("--fail-syscall needs --fail-nth N (or --fail-prob P)")
	}
	if *o.failNth == 0 && o.failProb == 0 && *o.failSite == "" {
		return nil
	}
	in := fault.NewInjector(*o.failSeed)
	in.Site = *o.failSite
	if *o.failVerbose {
		in.Log = stderr
	}
	for _, c := range []fault.Capability{fault.Failslab, fault.PageAlloc, fault.Usercopy, fault.VMM} {
		in.Attrs[c].Probability, in.Attrs[c].Verbose = uint64(o.failProb), 1
		if o.failProb > 0 {
			in.Attrs[c].Times = -1
		}
	}
	o.cfg.Fault = in
	switch {
	case o.failSyscall.name != "":
		o.cfg.FailArm = &guestkernel.FailArm{Syscall: o.failSyscall.name, Occurrence: o.failSyscall.occ, Nth: uint32(*o.failNth)}
	case *o.failNth > 0:
		o.cfg.InitialFailNth = uint32(*o.failNth)
	}
	return nil
}
