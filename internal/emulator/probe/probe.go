package probe

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
)

// Video describes what could be read from a video container.
type Video struct {
	Width, Height int
	Duration      float64 // seconds
	BitRate       int64   // bits per second over the whole file: size*8/duration, when duration > 0
	VideoCodec    string  // "h264", "hevc", "vp9", "av1", "mp4v", … ("" when there is no video track)
	AudioCodec    string  // "aac", "opus", "mp3", "ac3", … ("" when there is no audio track)
}

var (
	// ErrMalformed is wrapped by errors for input that is not a well-formed
	// container of the kind asked for (garbage, truncated, inconsistent).
	ErrMalformed = errors.New("malformed media file")
	// ErrNotVideo is wrapped by errors for a well-formed container that holds
	// no video track (an m4a, a HEIF image, an audio-only WebM). The Video
	// returned alongside still carries whatever was read (duration, bit rate,
	// audio codec).
	ErrNotVideo = errors.New("not a video")
)

const (
	maxAlloc = 1 << 20 // largest buffer ever allocated from a length found in the file
	maxNodes = 1 << 17 // most boxes / elements visited while probing one file
)

// Probe reads r as WebM/Matroska when it starts with the EBML magic and as an
// ISO base media file (MP4, QuickTime) otherwise.
func Probe(r io.ReaderAt, size int64) (Video, error) {
	var magic [4]byte
	if size >= 4 {
		if _, err := readFull(r, magic[:], 0); err != nil {
			return Video{}, err
		}
		if magic == [4]byte{0x1A, 0x45, 0xDF, 0xA3} {
			return WebM(r, size)
		}
	}
	return MP4(r, size)
}

// readFull reads len(buf) bytes at off. A short read is an error wrapping
// ErrMalformed (the caller promised more bytes than the reader has); other
// read errors are returned wrapped as they are.
func readFull(r io.ReaderAt, buf []byte, off int64) (int, error) {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return n, nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return n, fmt.Errorf("%w: unexpected end of data at offset %d", ErrMalformed, off+int64(n))
	}
	return n, fmt.Errorf("probe: read at offset %d: %w", off, err)
}

// bitRate returns floor(size*8*timescale/ticks), the bit rate of a file of
// size bytes lasting ticks/timescale seconds, computed exactly and capped at
// math.MaxInt64.
func bitRate(size int64, ticks, timescale uint64) int64 {
	if size <= 0 || ticks == 0 || timescale == 0 || timescale > math.MaxUint64/8 {
		return 0
	}
	// size*8*timescale as a 128-bit product.
	hi, lo := bits.Mul64(uint64(size), timescale*8)
	if hi >= ticks {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, ticks)
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}
