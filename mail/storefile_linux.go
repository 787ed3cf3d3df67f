package mail

import (
	"os"
	"path/filepath"
	"syscall"
)

// writeFileAtomic writes data to dir/.tmp-name and renames it to dir/name,
// so readers never see half a message. It uses the system calls directly:
// os.OpenFile tries to register every file with the network poller (two
// fcntl pairs and a failing epoll_ctl) and os.Rename stats the target
// first, calls a sink storing every message of a large run does not need.
func writeFileAtomic(dir, name string, data []byte, fsync bool) error {
	tmp := filepath.Join(dir, ".tmp-"+name)
	fd, err := retryEINTR(func() (int, error) {
		return syscall.Open(tmp, syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY|syscall.O_CLOEXEC, 0o644)
	})
	if err != nil {
		return &os.PathError{Op: "open", Path: tmp, Err: err}
	}
	for rest := data; len(rest) > 0 && err == nil; {
		var n int
		n, err = retryEINTR(func() (int, error) { return syscall.Write(fd, rest) })
		rest = rest[max(n, 0):]
	}
	if err == nil && fsync {
		err = syscall.Fsync(fd)
	}
	if cerr := syscall.Close(fd); err == nil {
		err = cerr
	}
	if err == nil {
		err = syscall.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = syscall.Unlink(tmp)
		return &os.PathError{Op: "store", Path: tmp, Err: err}
	}
	return nil
}

func retryEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
