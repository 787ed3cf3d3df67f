package http

import "testing"

// LogBuffer is syncBuffer for the tests of package http_test.
type LogBuffer = syncBuffer

// Lines is lines, for the tests of package http_test.
func (s *syncBuffer) Lines(t *testing.T) []map[string]any { return s.lines(t) }
