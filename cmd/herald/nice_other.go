//go:build !linux

package main

// lowerPriority is a no-op where Herald does not know how to lower the
// priority of every thread.
func lowerPriority(int) error { return nil }
