// Package kvmtest holds the one rule every KVM test follows: when
// /dev/kvm cannot be opened read-write, fail if the environment variable
// CI is set (a CI machine without KVM is broken), and skip with a message
// that says why everywhere else.
package kvmtest

import (
	"os"
	"testing"
)

// Device is the KVM device node.
const Device = "/dev/kvm"

// Require fails (CI) or skips the test when KVM is not usable.
func Require(tb testing.TB) {
	tb.Helper()
	f, err := os.OpenFile(Device, os.O_RDWR, 0)
	if err == nil {
		f.Close()
		return
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("KVM is required in CI, but %s is not usable: %v", Device, err)
	}
	tb.Skipf("skipping: %s not usable (%v); run as root on a host with KVM", Device, err)
}
