// Package kvmtest holds the one rule every KVM test follows: when
// /dev/kvm cannot be opened read-write, fail if the environment variable
// CI is set (a CI machine without KVM is broken), and skip with a message
// that says why everywhere else.
//
// One exception keeps that rule honest on a host without KVM: "make test"
// there runs the host's tests with NSVM_KVM_TESTS=svm and then runs every
// test binary again inside the emulated-SVM machine (test/svm), where
// /dev/kvm exists and the KVM tests run for real, under CI's rules. Only
// the host half skips them, saying where they run.
package kvmtest

import (
	"os"
	"testing"
)

// Device is the KVM device node.
const Device = "/dev/kvm"

// DeferEnv names the environment variable that, set to "svm", says that
// the KVM tests of this run are run in the emulated-SVM suite instead.
const DeferEnv = "NSVM_KVM_TESTS"

// Require fails (CI) or skips the test when KVM is not usable.
func Require(tb testing.TB) {
	tb.Helper()
	f, err := os.OpenFile(Device, os.O_RDWR, 0)
	if err == nil {
		f.Close()
		return
	}
	if os.Getenv(DeferEnv) == "svm" {
		tb.Skipf("%s not usable here (%v): this test runs in the emulated-SVM suite (test/svm) of the same make target", Device, err)
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("KVM is required in CI, but %s is not usable: %v", Device, err)
	}
	tb.Skipf("skipping: %s not usable (%v); run as root on a host with KVM", Device, err)
}
