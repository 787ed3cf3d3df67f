//go:build !linux

package mail

import (
	"os"
	"path/filepath"
)

// writeFileAtomic writes data to dir/.tmp-name and renames it to dir/name,
// so readers never see half a message.
func writeFileAtomic(dir, name string, data []byte, fsync bool) error {
	tmp := filepath.Join(dir, ".tmp-"+name)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && fsync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}
