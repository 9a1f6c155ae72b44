//go:build !unix

package httpserve

func openFileLimit() (int64, bool) { return 0, false }
