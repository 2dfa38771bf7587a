package main

// The differential test of the default image, the tour (images/src/tour.c):
// "nsvm run" without a program against images/bin/tour run natively.

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nsvm/nsvm/images"
)

// failNthFile is the file the tour's step 3 needs; a kernel built without
// fault injection has none.
const failNthFile = "/proc/thread-self/fail-nth"

// tourSteps splits the tour's output into its preamble (index 0) and its
// numbered steps: a step starts at a line "N. " and runs to the next.
func tourSteps(out []byte) []string {
	steps := []string{""}
	for _, l := range strings.SplitAfter(string(out), "\n") {
		if len(l) > 2 && l[0] >= '1' && l[0] <= '9' && l[1] == '.' && l[2] == ' ' {
			steps = append(steps, "")
		}
		steps[len(steps)-1] += l
	}
	return steps
}

var (
	// The two lines of step 3 under a kernel with fault injection.
	tourInjected = regexp.MustCompile(`^   clone = -1 (E[A-Z0-9]+) \(([^)]+)\); fail-nth reads 0: the failure was injected\n$`)
	tourRetry    = "   retry: clone succeeded, the child ran as pid 1 and exited 0: yes\n"
)

// checkTourInjection checks the last two lines of step 3 as nsvm (or a
// kernel with fault injection) prints them: a clone that failed with a
// real errno and its strerror text, fail-nth consumed, a successful retry.
func checkTourInjection(t *testing.T, tail []string) {
	t.Helper()
	m := tourInjected.FindStringSubmatch(tail[0])
	if m == nil {
		t.Errorf("step 3: %q does not match %v", tail[0], tourInjected)
		return
	}
	var e syscall.Errno
	for n := syscall.Errno(1); n < 4096; n++ {
		if unix.ErrnoName(n) == m[1] {
			e = n
			break
		}
	}
	if e == 0 {
		t.Errorf("step 3: the failed clone's errno %s is not an errno name", m[1])
	} else if !strings.EqualFold(e.Error(), m[2]) {
		t.Errorf("step 3: errno %s is printed with the text %q, want %q", m[1], m[2], e.Error())
	}
	if tail[1] != tourRetry {
		t.Errorf("step 3: the retry says %q, want %q", tail[1], tourRetry)
	}
}

// TestTour checks that "nsvm run" without a program runs the embedded
// default image, the tour, and that it agrees with images/bin/tour run
// natively: the preamble and steps 1, 2 and 4 byte for byte, the exit
// status (0: every check of the tour said yes), and step 3 by what the
// host's kernel offers. Where the host has /proc/thread-self/fail-nth,
// step 3 must match too; where it has none (our hosts), the native run
// must say so, and under nsvm step 3 must show a clone failed with a real
// errno and a successful retry. nsvm must print nothing on stderr: this
// is a newcomer's first screen.
func TestTour(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the tour's step 2 creates namespaces, which natively needs root")
	}
	bin := filepath.Join(imageDir(t), images.DefaultName)
	if b, err := os.ReadFile(bin); err != nil || !bytes.Equal(b, images.Default) {
		t.Fatalf("images/bin/%s is not the embedded default image (err %v): run make -C images", images.DefaultName, err)
	}
	nat := checkNative(t, bin, nil, 0, "4. ")
	_, err := os.Stat(failNthFile)
	hostFailNth := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat %s: %v", failNthFile, err)
	}

	requireKVM(t)
	vm := runNSVM(t, "run")
	if len(vm.stderr) != 0 {
		t.Errorf("nsvm run printed on stderr:\n%s", clip(vm.stderr))
	}
	if vm.status != nat.status {
		t.Errorf("exit status: native %d, nsvm %d", nat.status, vm.status)
	}
	if hostFailNth {
		compare(t, nat, vm)
	}

	ns, vs := tourSteps(nat.stdout), tourSteps(vm.stdout)
	if len(ns) != 5 || len(vs) != 5 {
		t.Fatalf("want a preamble and 4 steps, got %d parts natively and %d under nsvm\nnative:\n%s\nnsvm:\n%s",
			len(ns), len(vs), clip(nat.stdout), clip(vm.stdout))
	}
	for i := range ns {
		if i == 3 {
			continue
		}
		if ns[i] != vs[i] {
			t.Errorf("step %d differs\n%s", i, lineDiff([]byte(ns[i]), []byte(vs[i])))
		}
	}

	// Step 3: a header both print, then what each kernel could do. Under
	// nsvm the last two lines are the injected failure and the retry.
	vl := strings.SplitAfter(vs[3], "\n")
	vl = vl[:len(vl)-1] // after the last "\n"
	if len(vl) < 3 {
		t.Fatalf("step 3 under nsvm is too short:\n%s", vs[3])
	}
	header := strings.Join(vl[:len(vl)-2], "")
	checkTourInjection(t, vl[len(vl)-2:])
	if !hostFailNth {
		rest, ok := strings.CutPrefix(ns[3], header)
		if !ok {
			t.Errorf("natively, step 3 does not start with the header nsvm printed\n%s", lineDiff([]byte(ns[3]), []byte(header)))
		} else if !strings.HasPrefix(rest, "   "+failNthFile+": ENOENT: ") || !strings.Contains(rest, "CONFIG_FAULT_INJECTION") {
			t.Errorf("natively, without %s, step 3 should say that the kernel has no fault injection; it says\n%s",
				failNthFile, rest)
		}
	}
	if t.Failed() {
		t.Logf("native stdout:\n%s\nnsvm stdout:\n%s", clip(nat.stdout), clip(vm.stdout))
	}
}
