package vm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenErrors: a missing or unusable KVM device gives an error that
// says what to do, wrapped in ErrNoKVM (no KVM needed for this test).
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notKVM := filepath.Join(dir, "kvm")
	if err := os.WriteFile(notKVM, []byte("not a device"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{filepath.Join(dir, "missing"), []string{"does not exist", "modprobe"}},
		{notKVM, []string{"KVM_GET_API_VERSION"}},
	} {
		k, err := OpenPath(tc.path)
		if err == nil {
			k.Close()
			t.Fatalf("%s: opened", tc.path)
		}
		if !errors.Is(err, ErrNoKVM) {
			t.Errorf("%s: %v does not wrap ErrNoKVM", tc.path, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tc.path, err, w)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: the message is more than one line: %q", tc.path, err)
		}
	}
}
