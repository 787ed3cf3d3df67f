package main

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLowerPriorityCoversEveryThread runs lowerPriority in a child process
// (a process cannot take its priority back) and checks the nice value of
// every thread, including threads started afterwards.
func TestLowerPriorityCoversEveryThread(t *testing.T) {
	if os.Getenv("HERALD_NICE_CHILD") == "1" {
		if err := lowerPriority(7); err != nil {
			t.Fatal(err)
		}
		// Make the runtime start more threads: goroutines locked to their
		// threads, each blocked for a moment.
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				runtime.LockOSThread()
				time.Sleep(50 * time.Millisecond)
			})
		}
		wg.Wait()
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		if len(tasks) < 2 {
			t.Fatalf("only %d threads", len(tasks))
		}
		for _, task := range tasks {
			stat, err := os.ReadFile("/proc/self/task/" + task.Name() + "/stat")
			if err != nil {
				continue // the thread ended
			}
			// Fields after the command name (in parentheses): nice is the
			// 19th field of the line, the 17th after the name.
			f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
			if nice, err := strconv.Atoi(f[16]); err != nil || nice != 7 {
				t.Fatalf("thread %s runs at nice %d (%v), want 7", task.Name(), nice, err)
			}
		}
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestLowerPriorityCoversEveryThread$", "-test.v")
	cmd.Env = append(os.Environ(), "HERALD_NICE_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
