package guestkernel

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/bobuhiro11/gokvm/kvm"
	"golang.org/x/sys/unix"

	x86 "github.com/nsvm/nsvm/arch/x86_64"
)

// TestCrashReportShowsUserRegisters: a fault arrives at the exception
// stub, with the vCPU's RIP and RSP those of the stub and the kernel
// stack. The crash report must show the program's RIP, RSP and RFLAGS
// from the exception frame, its user segments, and the faulting
// instruction with every operand (`movl $0x0,0x0`, as objdump prints it).
// Both ways a page fault kills: an access outside any mapping (SIGSEGV)
// and a mapped page that guest memory cannot back (SIGKILL).
func TestCrashReportShowsUserRegisters(t *testing.T) {
	for _, tc := range []struct {
		name string
		oom  bool
		sig  unix.Signal
	}{{"segv", false, unix.SIGSEGV}, {"out of guest memory", true, unix.SIGKILL}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			code := e.mustMmap(t, 0, pg, protRW, mapAnon)
			// movl $0x0,0x0; nop
			e.mustCopyOut(t, code, []byte{0xc7, 0x04, 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0x90})
			addr := uint64(0)
			if tc.oom {
				// A mapping no page is left to back (mmap maps its
				// pages eagerly while there are some).
				e.k.pages.end, e.k.pages.free = e.k.pages.next, nil
				addr = e.mustMmap(t, 0, pg, protRW, mapAnon)
			}
			const userRSP, userRFLAGS = 0x7ffffffde000 - 0x58, 0x246
			// The stub pushed the vector and error code below the
			// hardware frame.
			rsp := uint64(x86.KStackTop - 7*8)
			frame := []uint64{x86.VecPF, x86.PFUser | x86.PFWrite, code, 0x33, userRFLAGS, userRSP, 0x2b}
			for i, v := range frame {
				le.PutUint64(e.k.mem[rsp-x86.KernelBase+uint64(i)*8:], v)
			}
			stubRIP := uint64(x86.StubBase + 16*x86.VecPF + 4)
			r := &kvm.Regs{RIP: stubRIP, RSP: rsp, RFLAGS: 0x2, RAX: 0x1111, RBX: 0x2222}
			s := &kvm.Sregs{CR2: addr}
			s.CS.Selector, s.SS.Selector = 0x10, 0x18
			if err := e.k.exception(e.t, r, s); err != nil {
				t.Fatal(err)
			}
			report := e.log.String()
			if e.k.status.Signal != tc.sig {
				t.Errorf("status %+v, want killed by %v\n%s", e.k.status, tc.sig, report)
			}
			for _, want := range []string{
				fmt.Sprintf("killed by %s", unix.SignalName(tc.sig)),
				fmt.Sprintf("fault address %#x\n", addr),
				fmt.Sprintf("at RIP %#x\n", code),
				fmt.Sprintf("RIP: %016x RSP: %016x RFLAGS: %08x\n", code, uint64(userRSP), userRFLAGS),
				fmt.Sprintf("RAX: %016x RBX: %016x", 0x1111, 0x2222),
				"CS: 0033 SS: 002b",
			} {
				if !strings.Contains(report, want) {
					t.Errorf("crash report lacks %q:\n%s", want, report)
				}
			}
			for _, stub := range []string{fmt.Sprintf("%016x", stubRIP), fmt.Sprintf("%016x", rsp)} {
				if strings.Contains(report, stub) {
					t.Errorf("crash report shows the stub's %s:\n%s", stub, report)
				}
			}
			if !regexp.MustCompile(`(?m)^  => 0x[0-9a-f]+: c7042500000000\S* +movl \$0x0,0x0$`).MatchString(report) {
				t.Errorf("the faulting line is not `movl $0x0,0x0`:\n%s", report)
			}
		})
	}
}
