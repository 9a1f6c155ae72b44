package source

import (
	"context"
	"fmt"
	"io"
)

// cappedBody is a Source's Body: it delivers at most max bytes and then fails
// with a KindTooLarge *Error (which matches ErrTooLarge), and stops when ctx ends.
// It counts; it never buffers.
type cappedBody struct {
	ctx      context.Context
	attempts int
	r        io.Reader
	c        io.Closer
	ref      string
	max      int64
	read     int64
	err      error // sticky: once too large, always too large
}

func newCappedBody(ctx context.Context, r io.Reader, c io.Closer, ref string, max int64, attempts int) *cappedBody {
	return &cappedBody{ctx: ctx, r: r, c: c, ref: ref, max: max, attempts: attempts}
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if err := b.ctx.Err(); err != nil {
		return 0, context.Cause(b.ctx)
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Ask for one byte more than may be delivered: seeing it is how the limit
	// is known to be passed, at the exact byte.
	left := b.max - b.read
	if left < int64(len(p)) {
		p = p[:left+1]
	}
	n, err := b.r.Read(p)
	if int64(n) > left {
		b.read = b.max
		b.err = &Error{
			Kind: KindTooLarge, Ref: b.ref, Attempts: b.attempts,
			Err: fmt.Errorf("more than the limit of %d bytes", b.max),
		}
		return int(left), b.err
	}
	b.read += int64(n)
	return n, err
}

func (b *cappedBody) Close() error {
	if b.c == nil {
		return nil
	}
	return b.c.Close()
}

// replay reads prefix, then the error that cut the prefix short (if any), then r.
// It gives back the bytes read for sniffing.
type replay struct {
	prefix []byte
	err    error
	r      io.Reader
}

func (p *replay) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	if p.err != nil {
		return 0, p.err
	}
	return p.r.Read(b)
}

// peek reads up to n bytes from r and returns them with a reader that yields the
// same stream r would have.
func peek(r io.Reader, n int) ([]byte, io.Reader) {
	buf := make([]byte, n)
	got, err := io.ReadFull(r, buf)
	buf = buf[:got]
	switch err {
	case nil:
		return buf, &replay{prefix: buf, r: r}
	case io.EOF, io.ErrUnexpectedEOF:
		return buf, &replay{prefix: buf, err: io.EOF}
	}
	return buf, &replay{prefix: buf, err: err}
}
