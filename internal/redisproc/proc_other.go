//go:build !linux

package redisproc

import (
	"io"
)

// ReservePort holds 127.0.0.1:port until Close on Linux (see proc_linux.go); elsewhere
// it does nothing and the port is merely unlikely to be taken.
func ReservePort(int) (io.Closer, error) { return io.NopCloser(nil), nil }
