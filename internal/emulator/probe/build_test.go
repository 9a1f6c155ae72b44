package probe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/big"
	"sync"
	"testing"

	"github.com/ikq-dev/ikq/internal/emulator/probe/probetest"
)

// file is an io.ReaderAt over a list of parts, each either real bytes or a
// run of virtual zero bytes, so tests can probe multi-GiB files without
// allocating them. It records how it was read.
type file struct {
	parts []part
	size  int64

	mu      sync.Mutex
	reads   int
	total   int64 // bytes read
	largest int   // longest single ReadAt
	failAt  int64 // ReadAt touching this offset fails with errIO (when > 0)
}

type part struct {
	data  []byte
	zeros int64
}

var errIO = errors.New("simulated I/O error")

func newFile(parts ...part) *file {
	f := &file{parts: parts}
	for _, p := range parts {
		f.size += p.len()
	}
	return f
}

func bytesPart(b []byte) part         { return part{data: b} }
func zerosPart(n int64) part          { return part{zeros: n} }
func (p part) len() int64             { return int64(len(p.data)) + p.zeros }
func memFile(b []byte) *file          { return newFile(bytesPart(b)) }
func (f *file) probe() (Video, error) { return MP4(f, f.size) }

func (f *file) ReadAt(buf []byte, off int64) (int, error) {
	f.mu.Lock()
	f.reads++
	f.largest = max(f.largest, len(buf))
	f.mu.Unlock()
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if f.failAt > 0 && off <= f.failAt && f.failAt < off+int64(len(buf)) {
		return 0, errIO
	}
	n := 0
	var base int64
	for _, p := range f.parts {
		if n == len(buf) {
			break
		}
		end := base + p.len()
		pos := off + int64(n)
		if pos < end {
			rel := pos - base
			m := min(int64(len(buf)-n), end-pos)
			if p.data != nil {
				copy(buf[n:n+int(m)], p.data[rel:rel+m])
			} else {
				clear(buf[n : n+int(m)])
			}
			n += int(m)
		}
		base = end
	}
	f.mu.Lock()
	f.total += int64(n)
	f.mu.Unlock()
	if n < len(buf) {
		return n, io.EOF
	}
	return n, nil
}

// hugeMdatMP4 is the file of s with an mdat of mdatBytes virtual zero bytes
// (s.MdatBytes is ignored); s.LargeMdat is forced when the mdat needs it.
func hugeMdatMP4(t testing.TB, s probetest.MP4Spec, mdatBytes int64) *file {
	t.Helper()
	s.MdatBytes = 0
	if mdatBytes+8 > 0xFFFFFFFF {
		s.LargeMdat = true
	}
	b := probetest.BuildMP4(s)
	at := findTopBox(t, b, "mdat")
	hdr := 8
	if s.LargeMdat {
		hdr = 16
		binary.BigEndian.PutUint64(b[at+8:], uint64(16+mdatBytes))
	} else {
		binary.BigEndian.PutUint32(b[at:], uint32(8+mdatBytes))
	}
	return newFile(bytesPart(b[:at+hdr]), zerosPart(mdatBytes), bytesPart(b[at+hdr:]))
}

// findTopBox returns the offset of the first top-level box of type typ.
func findTopBox(t testing.TB, b []byte, typ string) int {
	t.Helper()
	for off := 0; off+8 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[off:]))
		if n == 1 {
			n = int(binary.BigEndian.Uint64(b[off+8:]))
		}
		if string(b[off+4:off+8]) == typ {
			return off
		}
		if n < 8 {
			break
		}
		off += n
	}
	t.Fatalf("no top-level %q box", typ)
	return -1
}

// findBox returns the offset of the first box of type typ anywhere in b
// (a plain byte search for the type preceded by a size).
func findBox(t testing.TB, b []byte, typ string) int {
	t.Helper()
	i := bytes.Index(b, []byte(typ))
	if i < 4 {
		t.Fatalf("no %q box", typ)
	}
	return i - 4
}

// wantBitRate is floor(size*8*timescale/ticks), computed independently.
func wantBitRate(size int64, ticks, timescale uint64) int64 {
	if ticks == 0 {
		return 0
	}
	n := new(big.Int).Mul(big.NewInt(size*8), new(big.Int).SetUint64(timescale))
	return n.Quo(n, new(big.Int).SetUint64(ticks)).Int64()
}
