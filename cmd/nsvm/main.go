// Command nsvm runs static x86-64 Linux programs in a KVM micro-VM whose
// kernel is a Go model of Linux.
//
//	nsvm run [--mem SIZE] [--timeout D] [--trace] [--ps] [PROG [ARGS...]]
//	nsvm ns [--format text|dot|svg] [--out FILE] [run flags] PROG [ARGS...]
//	nsvm inject [--syscall NAME[:K]] [--site SITE] [--prob P --seed S --runs N] [--format table|json] PROG [ARGS...]
//	nsvm bench fork [--quick] [--out DIR]
//	nsvm info
//
// Exit status: the guest's own status; 128+N when the guest was killed by
// signal N; 124 when --timeout stopped it; 125 when nsvm itself failed
// (KVM unusable, VM error); 126 when PROG is not a runnable static x86-64
// ELF; 127 when PROG does not exist.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"nsvm/fault"
	"nsvm/guestkernel"
	"nsvm/guestkernel/loader"
	"nsvm/images"
	"nsvm/vm"
)

// Exit statuses of nsvm itself.
const (
	exitTimeout  = 124
	exitInternal = 125
	exitNoExec   = 126
	exitNotFound = 127
)

func main() {
	os.Exit(mainErr(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: nsvm <command> [flags]

commands:
  run [--mem SIZE] [--timeout D] [--trace] [--ps] [PROG [ARGS...]]
        run a static x86-64 Linux program (default: the embedded hello image)
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
`)
}

func mainErr(argv []string, stdout, stderr io.Writer) int {
	if len(argv) == 0 {
		usage(stderr)
		return 2
	}
	switch argv[0] {
	case "run":
		return cmdRun(argv[1:], stderr)
	case "info":
		return cmdInfo(stdout, stderr)
	case "ns":
		return cmdNS(argv[1:], stdout, stderr)
	case "inject":
		return cmdInject(argv[1:], stdout, stderr)
	case "bench":
		return cmdBench(argv[1:], stdout, stderr)
	case "-h", "--help", "help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "nsvm: unknown command %q\n", argv[0])
	usage(stderr)
	return 2
}

// runOpts are the flags of `nsvm run`, shared by `nsvm ns`.
type runOpts struct {
	mem       *string
	timeout   *time.Duration
	trace, ps *bool
	// fault injection
	failNth     *uint
	failSite    *string
	failProb    *uint64
	failSeed    *uint64
	failSyscall *string
	failVerbose *bool
	cfg         guestkernel.Config
}

func addRunFlags(fs *flag.FlagSet) *runOpts {
	return &runOpts{
		mem:         fs.String("mem", "256M", "guest memory size (e.g. 256M, 1G)"),
		timeout:     fs.Duration("timeout", 0, "stop the guest after this long (e.g. 10s); 0 = no limit"),
		trace:       fs.Bool("trace", false, "print each syscall as strace does, to stderr"),
		ps:          fs.Bool("ps", false, "at exit, print every task the run created and how it ended (SIGQUIT prints the live tasks at any time)"),
		failNth:     fs.Uint("fail-nth", 0, "fail the N-th fault-injection site evaluated (in the program's first task, or in --fail-syscall's call)"),
		failSite:    fs.String("fail-site", "", "inject only at this site (e.g. copy_mm, alloc_pid); others do not count"),
		failProb:    fs.Uint64("fail-prob", 0, "fail every site with this probability (percent)"),
		failSeed:    fs.Uint64("fail-seed", 1, "random seed for --fail-prob (a run is reproducible from its seed)"),
		failSyscall: fs.String("fail-syscall", "", "arm --fail-nth for one call only: NAME or NAME:K (K-th occurrence)"),
		failVerbose: fs.Bool("fail-verbose", false, "print a FAULT_INJECTION line for every injected failure, to stderr"),
	}
}

func cmdRun(argv []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := addRunFlags(fs)
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	return o.run(fs.Args(), stderr, nil)
}

// run boots PROG (args[0], or the default image) with the flags in o;
// hook may adjust the configuration first.
func (o *runOpts) run(args []string, stderr io.Writer, hook func(*runOpts)) int {
	mem, timeout, trace, ps := o.mem, o.timeout, o.trace, o.ps
	memSize, err := parseSize(*mem)
	if err != nil {
		fmt.Fprintf(stderr, "nsvm: --mem: %v\n", err)
		return 2
	}

	cfg := &o.cfg
	if len(args) == 0 {
		cfg.Image = images.Default
		cfg.Path = images.DefaultName
		cfg.ExePath = "/images/" + images.DefaultName
		cfg.Args = []string{images.DefaultName}
	} else {
		prog := args[0]
		data, err := os.ReadFile(prog)
		if err != nil {
			fmt.Fprintf(stderr, "nsvm: %s: %v\n", prog, unwrapPath(err))
			if errors.Is(err, os.ErrNotExist) {
				return exitNotFound
			}
			return exitNoExec
		}
		cfg.Image = data
		cfg.Path = prog
		cfg.ExePath, _ = filepath.Abs(prog)
		cfg.Args = args
	}
	// Refuse a bad executable before touching KVM.
	if _, err := loader.Parse(cfg.Image); err != nil {
		fmt.Fprintf(stderr, "nsvm: %s: %v\n", cfg.Path, err)
		return exitNoExec
	}
	cfg.Env = os.Environ()
	cfg.Stdin, cfg.Stdout, cfg.Stderr = 0, 1, 2
	cfg.Log = stderr
	if *trace {
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
	if err := o.setupFault(stderr); err != nil {
		fmt.Fprintf(stderr, "nsvm: %v\n", err)
		return 2
	}
	if hook != nil {
		hook(o)
	}
	st, kern, err := guestkernel.RunProgram(*cfg, guestkernel.RunOptions{Mem: memSize, Timeout: *timeout, Started: started})
	if *ps && kern != nil {
		kern.PrintHistory(stderr)
	}
	var lerr *loader.Error
	switch {
	case errors.As(err, &lerr):
		fmt.Fprintf(stderr, "nsvm: %s: %v\n", cfg.Path, err)
		return exitNoExec
	case errors.Is(err, guestkernel.ErrTimeout):
		fmt.Fprintf(stderr, "nsvm: timeout: %s ran past --timeout %v and was stopped\n", cfg.Path, *timeout)
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
		return 0, fmt.Errorf("bad size %q (use e.g. 256M or 1G)", s)
	}
	v := n * mult
	if v/mult != n || v > 64<<30 {
		return 0, fmt.Errorf("size %q is too large (at most 64G)", s)
	}
	if v%4096 != 0 {
		return 0, fmt.Errorf("size %q is not a multiple of 4 KiB", s)
	}
	return v, nil
}

func cmdInfo(stdout, stderr io.Writer) int {
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

// setupFault turns the --fail-* flags into the kernel's injector.
func (o *runOpts) setupFault(stderr io.Writer) error {
	if *o.failNth == 0 && *o.failProb == 0 && *o.failSite == "" {
		return nil
	}
	in := fault.NewInjector(*o.failSeed)
	in.Site = *o.failSite
	if *o.failVerbose {
		in.Log = stderr
	}
	for _, c := range []fault.Capability{fault.Failslab, fault.PageAlloc, fault.Usercopy, fault.VMM} {
		in.Attrs[c].Probability, in.Attrs[c].Verbose = *o.failProb, 1
		if *o.failProb > 0 {
			in.Attrs[c].Times = -1
		}
	}
	o.cfg.Fault = in
	switch {
	case *o.failSyscall != "":
		name, occ := *o.failSyscall, 1
		if n, k, ok := strings.Cut(name, ":"); ok {
			v, err := strconv.Atoi(k)
			if err != nil || v < 1 {
				return fmt.Errorf("bad --fail-syscall %q", *o.failSyscall)
			}
			name, occ = n, v
		}
		o.cfg.FailArm = &guestkernel.FailArm{Syscall: name, Occurrence: occ, Nth: uint32(*o.failNth)}
	case *o.failNth > 0:
		o.cfg.InitialFailNth = uint32(*o.failNth)
	}
	return nil
}
