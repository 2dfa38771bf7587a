package bench

import (
	"os"
	"testing"
	"time"

	"nsvm/guestkernel"
	"nsvm/images"
	"nsvm/vm"
)

func TestProbeSteps(t *testing.T) {
	img, _ := images.Lookup("hello")
	null, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		kv, _ := vm.Open()
		t1 := time.Now()
		m, _ := kv.NewMachine(256 << 20)
		t2 := time.Now()
		c, _ := m.NewVCPU(0)
		t3 := time.Now()
		k, err := guestkernel.New(m, c, guestkernel.Config{Image: img, Path: "/images/hello", ExePath: "/images/hello", Args: []string{"hello"}, Stdin: int(null.Fd()), Stdout: int(null.Fd()), Stderr: 2})
		if err != nil {
			t.Fatal(err)
		}
		t4 := time.Now()
		k.Run(c, 0)
		t5 := time.Now()
		m.Close()
		kv.Close()
		t6 := time.Now()
		t.Logf("open %v machine %v vcpu %v new %v run %v close %v total %v", t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3), t5.Sub(t4), t6.Sub(t5), t6.Sub(t0))
	}
}
