package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// lowerPriority raises the niceness of every thread of this process to n
// (Linux keeps a nice value per thread, and threads started later inherit
// their creator's). Background work such as a rebuild then yields the CPU
// to `herald serve` on the same machine whenever both want it, and still
// runs at full speed when the machine is otherwise idle.
func lowerPriority(n int) error {
	if n <= 0 {
		return nil
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("nice: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err != nil {
			return fmt.Errorf("nice %d: %w", n, err)
		}
	}
	return nil
}
