package vm

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRetryRestartsOnEINTR checks that a setup ioctl interrupted by a Go
// preemption signal is restarted, and that other errors pass through.
func TestRetryRestartsOnEINTR(t *testing.T) {
	calls := 0
	var v uintptr
	err := retry(func() error {
		calls++
		if calls < 3 {
			return syscall.EINTR // gokvm returns syscall.Errno
		}
		v = 7
		return nil
	})
	if v != 7 || err != nil || calls != 3 {
		t.Errorf("retry = %d, %v after %d calls; want 7, nil after 3", v, err, calls)
	}
	calls = 0
	err = retry(func() error { calls++; return unix.ENOMEM })
	if !errors.Is(err, unix.ENOMEM) || calls != 1 {
		t.Errorf("retry = %v after %d calls; want ENOMEM after 1", err, calls)
	}
}

// TestGetXSAVEErrorNamesIoctl checks that GetXSAVE's error names the ioctl
// it issued: KVM_GET_XSAVE2 where KVM has KVM_CAP_XSAVE2, KVM_GET_XSAVE
// otherwise. No KVM needed: the ioctl goes to a closed fd and fails EBADF.
func TestGetXSAVEErrorNamesIoctl(t *testing.T) {
	for _, tc := range []struct {
		xsave2Size int
		want       string
	}{
		{0, "KVM_GET_XSAVE: "},
		{4096, "KVM_GET_XSAVE2: "},
		{8192, "KVM_GET_XSAVE2: "},
	} {
		c := &VCPU{m: &Machine{kvm: &KVM{Caps: Caps{XSAVE2Size: tc.xsave2Size}}}, fd: -1, xsaveLen: max(4096, tc.xsave2Size)}
		err := c.GetXSAVE(make([]byte, c.XSAVESize()))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !errors.Is(err, unix.EBADF) {
			t.Errorf("XSAVE2Size %d: GetXSAVE = %v, want %q...EBADF", tc.xsave2Size, err, tc.want)
		}
	}
}
