package testenv

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PeakRSS is process pid's peak resident set (VmHWM) in bytes.
func PeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// ProcCPU is process pid's command name and the CPU time (user and system)
// it has used, with that of its reaped children when children is set, from
// /proc/<pid>/stat.
func ProcCPU(pid int, children bool) (comm string, cpu time.Duration, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, err
	}
	// pid (comm) state ppid … utime stime cutime cstime are fields 14–17,
	// in clock ticks (USER_HZ, 100 a second).
	open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return "", 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(stat[end+1:]))
	if len(f) < 15 {
		return "", 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	fields := f[11:13] // counted after the command: utime, stime
	if children {
		fields = f[11:15] // and cutime, cstime
	}
	var ticks int64
	for _, s := range fields {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return "", 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return string(stat[open+1 : end]), time.Duration(ticks) * (time.Second / 100), nil
}

// CPUTimes is the CPU time (user and system, with that of reaped children)
// the processes on this machine whose command is one of commands used, by
// command name; this process counts as self whatever its command.
func CPUTimes(self string, commands ...string) (map[string]time.Duration, error) {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	me := os.Getpid()
	out := map[string]time.Duration{}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		comm, cpu, err := ProcCPU(pid, true)
		switch {
		case err != nil: // gone meanwhile
		case pid == me:
			out[self] += cpu
		case slices.Contains(commands, comm):
			out[comm] += cpu
		}
	}
	return out, nil
}
