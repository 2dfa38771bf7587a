package vm

import (
	"errors"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRetryRestartsOnEINTR checks that a setup ioctl interrupted by a Go
// preemption signal is restarted, and that other errors pass through.
func TestRetryRestartsOnEINTR(t *testing.T) {
	calls := 0
	v, err := retry(func() (uintptr, error) {
		calls++
		if calls < 3 {
			return 0, syscall.EINTR // gokvm returns syscall.Errno
		}
		return 7, nil
	})
	if v != 7 || err != nil || calls != 3 {
		t.Errorf("retry = %d, %v after %d calls; want 7, nil after 3", v, err, calls)
	}
	calls = 0
	err = retryErr(func() error { calls++; return unix.ENOMEM })
	if !errors.Is(err, unix.ENOMEM) || calls != 1 {
		t.Errorf("retryErr = %v after %d calls; want ENOMEM after 1", err, calls)
	}
}
