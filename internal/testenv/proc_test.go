package testenv

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The process's own figures read back as the kernel keeps them: a peak
// resident set of at least what it holds now, its command name, and CPU
// time that grows with work done.
func TestProcReadsThisProcess(t *testing.T) {
	peak, err := PeakRSS(os.Getpid())
	if err != nil || peak < 1<<20 {
		t.Fatalf("peak RSS %d, %v", peak, err)
	}
	comm, before, err := ProcCPU(os.Getpid(), false)
	if err != nil {
		t.Fatal(err)
	}
	if exe := filepath.Base(os.Args[0]); len(exe) > 15 && comm != exe[:15] || len(exe) <= 15 && comm != exe {
		t.Fatalf("command %q, want %q", comm, exe)
	}
	// Work until a clock tick (10 ms of CPU) is counted: the figure must
	// grow, however loaded the machine is.
	for start := time.Now(); time.Since(start) < 30*time.Second; {
		for i := 0; i < 1_000_000; i++ {
			sink = i
		}
		_, after, err := ProcCPU(os.Getpid(), true)
		if err != nil {
			t.Fatal(err)
		}
		if after > before {
			return
		}
	}
	t.Fatalf("no CPU time counted beyond %s after 30 s of work", before)
}

var sink int

// CPUTimes counts this process under the name it is given and no other
// process under that name, though another carries it as its command (here
// the parent, which started this test and has used CPU of its own).
func TestCPUTimesCountsThisProcessAsSelf(t *testing.T) {
	parent, parentCPU, err := ProcCPU(os.Getppid(), true)
	if err != nil || parentCPU == 0 {
		t.Fatalf("the parent %q has used %s of CPU (%v): the test needs one that has used some", parent, parentCPU, err)
	}
	times, err := CPUTimes(parent)
	if err != nil {
		t.Fatal(err)
	}
	_, mine, err := ProcCPU(os.Getpid(), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(times) != 1 || times[parent] > mine {
		t.Fatalf("CPUTimes(%q) = %v; this process has used %s, its parent %s", parent, times, mine, parentCPU)
	}
}
