package redisproc

import (
	"io"
	"os"
	"syscall"
)

// ReservePort holds 127.0.0.1:port until Close, for a server that is stopped and will
// be started again on the same port. On Linux it is a bound socket that does not
// listen: clients are refused, the kernel hands the port to no one else (neither as an
// ephemeral port nor to bind(0)), and SO_REUSEADDR lets redis-server bind it again
// after Close. Elsewhere it does nothing and the port is merely unlikely to be taken.
func ReservePort(port int) (io.Closer, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		_ = syscall.Close(fd)
		return nil, os.NewSyscallError("setsockopt", err)
	}
	sa := &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
	if err := syscall.Bind(fd, sa); err != nil {
		_ = syscall.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	return fdCloser(fd), nil
}

type fdCloser int

func (f fdCloser) Close() error { return syscall.Close(int(f)) }
