package probe

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
)

// MP4 reads an ISO BMFF file (mp4, m4v, mov/QuickTime). It returns an error
// wrapping ErrNotVideo/ErrMalformed when it cannot.
//
// It walks the top-level boxes up to moov (seeking over mdat and anything
// else), and from moov reads only mvhd, mvex (mehd, trex), each trak's tkhd,
// mdia/mdhd, mdia/hdlr and the first entry of mdia/minf/stbl/stsd. Width and
// height come from the first video track's tkhd (falling back to its sample
// entry; the display matrix, i.e. rotation, is ignored), the duration from
// mvhd, else mehd, else the longest track — for a fragmented file that
// states neither, from the tfdt/trun boxes of the movie fragments after moov,
// the one case where boxes past moov are read. The bit rate is
// size*8/duration, rounded down (as ffprobe reports it).
//
// A file whose boxes are well formed but that has no moov, or whose moov has
// no video track, yields an error wrapping ErrNotVideo; in the latter case the
// returned Video still holds the duration, bit rate and audio codec.
func MP4(r io.ReaderAt, size int64) (Video, error) {
	if size < 8 {
		return Video{}, fmt.Errorf("%w: %d bytes is too short for an MP4", ErrMalformed, size)
	}
	p := &bmff{r: r, size: size, budget: maxNodes}
	var (
		m     movie
		found bool
		off   int64
	)
	for off < size {
		if size-off < 8 {
			break // a few trailing bytes after the last box
		}
		b, err := p.header(off, size, true)
		if err != nil {
			return Video{}, err
		}
		if b.typ == "moov" {
			if err := p.moov(b, &m); err != nil {
				return Video{}, err
			}
			found = true
			if m.fragmented && m.duration == 0 && m.fragDuration == 0 {
				// A fragmented file that does not state its duration:
				// add up the fragments that follow.
				p.fragments(b.end, &m)
			}
			break // everything else needed lives in moov; skip the rest of the file
		}
		off = b.end
	}
	if !found {
		return Video{}, fmt.Errorf("%w: no moov box", ErrNotVideo)
	}
	return m.video(size)
}

// box is one ISO BMFF box: its four-character type, where it starts, where
// its payload starts and where it ends (absolute offsets).
type box struct {
	typ            string
	off, body, end int64
}

type bmff struct {
	r      io.ReaderAt
	size   int64
	budget int // boxes still allowed to be visited
}

// header reads the box header at off; the box must end by parentEnd.
// Top-level boxes are additionally required to have a printable type, which
// tells garbage from an MP4 at the first box.
func (p *bmff) header(off, parentEnd int64, top bool) (box, error) {
	if p.budget--; p.budget < 0 {
		return box{}, fmt.Errorf("%w: too many boxes", ErrMalformed)
	}
	if parentEnd-off < 8 {
		return box{}, fmt.Errorf("%w: truncated box header at offset %d", ErrMalformed, off)
	}
	var h [16]byte
	if _, err := readFull(p.r, h[:8], off); err != nil {
		return box{}, err
	}
	b := box{typ: string(h[4:8]), off: off, body: off + 8}
	if top {
		for _, c := range h[4:8] {
			if c < 0x20 || c > 0x7e {
				return box{}, fmt.Errorf("%w: invalid box type %q at offset %d", ErrMalformed, h[4:8], off)
			}
		}
	}
	size := uint64(binary.BigEndian.Uint32(h[:4]))
	switch size {
	case 0: // extends to the end of the enclosing box (or file)
		b.end = parentEnd
	case 1: // 64-bit largesize follows the type
		if parentEnd-off < 16 {
			return box{}, fmt.Errorf("%w: truncated largesize at offset %d", ErrMalformed, off)
		}
		if _, err := readFull(p.r, h[8:16], off+8); err != nil {
			return box{}, err
		}
		size = binary.BigEndian.Uint64(h[8:16])
		b.body = off + 16
		if size < 16 || size > uint64(parentEnd-off) { //nolint:gosec // G115: off < parentEnd, so the difference is positive
			return box{}, fmt.Errorf("%w: %q box at offset %d has size %d, %d bytes remain", ErrMalformed, b.typ, off, size, parentEnd-off)
		}
		b.end = off + int64(size) //nolint:gosec // G115: size is at most parentEnd-off, checked above
	default:
		if size < 8 || size > uint64(parentEnd-off) { //nolint:gosec // G115: off < parentEnd, so the difference is positive
			return box{}, fmt.Errorf("%w: %q box at offset %d has size %d, %d bytes remain", ErrMalformed, b.typ, off, size, parentEnd-off)
		}
		b.end = off + int64(size) //nolint:gosec // G115: size is at most parentEnd-off, checked above
	}
	if b.typ == "uuid" { // 16-byte extended type
		if b.end-b.body < 16 {
			return box{}, fmt.Errorf("%w: truncated uuid box at offset %d", ErrMalformed, off)
		}
		b.body += 16
	}
	return b, nil
}

// children calls fn for each child box of parent. Fewer than 8 bytes left at
// the end of a container (QuickTime's 32-bit zero terminator) are ignored.
func (p *bmff) children(parent box, fn func(box) error) error {
	for off := parent.body; parent.end-off >= 8; {
		b, err := p.header(off, parent.end, false)
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
		off = b.end
	}
	return nil
}

// payload reads the box's payload, at most limit bytes of it.
func (p *bmff) payload(b box, limit int) ([]byte, error) {
	n := b.end - b.body
	if n > int64(limit) {
		n = int64(limit)
	}
	buf := make([]byte, n)
	if _, err := readFull(p.r, buf, b.body); err != nil {
		return nil, err
	}
	return buf, nil
}

// movie is what moov told.
type movie struct {
	timescale, duration uint64            // mvhd
	fragDuration        uint64            // mvex/mehd, in the movie timescale
	fragmented          bool              // moov has mvex
	trexDuration        map[uint32]uint32 // mvex/trex default_sample_duration by track ID
	tracks              []track
}

type track struct {
	id                  uint32 // tkhd track_ID
	fragEnd             uint64 // end of the last movie fragment, in the mdhd timescale
	handler             string // mdia/hdlr handler type: "vide", "soun", …
	width, height       int    // tkhd, rounded from 16.16 fixed point
	entryW, entryH      int    // visual sample entry
	timescale, duration uint64 // mdhd
	videoCodec          string // the first sample entry read as a video entry
	audioCodec          string // … and as an audio entry
}

const maxTracks = 64

func (p *bmff) moov(moov box, m *movie) error {
	return p.children(moov, func(b box) error {
		switch b.typ {
		case "mvhd":
			buf, err := p.payload(b, 64)
			if err != nil {
				return err
			}
			ts, dur, err := timing(buf, "mvhd")
			if err != nil {
				return err
			}
			m.timescale, m.duration = ts, dur
		case "mvex":
			m.fragmented = true
			return p.children(b, func(c box) error {
				switch c.typ {
				case "mehd":
					buf, err := p.payload(c, 16)
					if err != nil {
						return err
					}
					if len(buf) >= 8 && buf[0] == 0 {
						m.fragDuration = uint64(binary.BigEndian.Uint32(buf[4:8]))
					} else if len(buf) >= 12 && buf[0] == 1 {
						m.fragDuration = binary.BigEndian.Uint64(buf[4:12])
					} else {
						return fmt.Errorf("%w: bad mehd box", ErrMalformed)
					}
				case "trex":
					buf, err := p.payload(c, 24)
					if err != nil {
						return err
					}
					if len(buf) < 16 {
						return fmt.Errorf("%w: bad trex box", ErrMalformed)
					}
					if m.trexDuration == nil {
						m.trexDuration = map[uint32]uint32{}
					}
					if len(m.trexDuration) < maxTracks {
						m.trexDuration[binary.BigEndian.Uint32(buf[4:8])] = binary.BigEndian.Uint32(buf[12:16])
					}
				}
				return nil
			})
		case "cmov":
			return fmt.Errorf("%w: compressed QuickTime movie header (cmov) is not supported", ErrMalformed)
		case "trak":
			if len(m.tracks) >= maxTracks {
				return nil
			}
			t, err := p.trak(b)
			if err != nil {
				return err
			}
			m.tracks = append(m.tracks, t)
		}
		return nil
	})
}

// fragments walks the top-level boxes from off to the end of the file and
// records, for each track, where its last movie fragment ends: the fragment's
// tfdt decode time (or the previous fragment's end) plus the durations of
// its trun samples. It is best effort: it stops at the first malformed box
// and keeps what it has.
func (p *bmff) fragments(off int64, m *movie) {
	byID := map[uint32]*track{}
	for i := range m.tracks {
		t := &m.tracks[i]
		t.fragEnd = t.duration // samples in moov come first
		byID[t.id] = t
	}
	for p.size-off >= 8 {
		b, err := p.header(off, p.size, true)
		if err != nil {
			return
		}
		if b.typ == "moof" {
			err := p.children(b, func(c box) error {
				if c.typ == "traf" {
					return p.traf(c, m, byID)
				}
				return nil
			})
			if err != nil {
				return
			}
		}
		off = b.end
	}
}

func (p *bmff) traf(traf box, m *movie, byID map[uint32]*track) error {
	var (
		t          *track
		defaultDur uint32
		start, sum uint64
		haveStart  bool
	)
	err := p.children(traf, func(b box) error {
		switch b.typ {
		case "tfhd":
			buf, err := p.payload(b, 32)
			if err != nil {
				return err
			}
			if len(buf) < 8 {
				return fmt.Errorf("%w: bad tfhd box", ErrMalformed)
			}
			id := binary.BigEndian.Uint32(buf[4:8])
			t = byID[id]
			defaultDur = m.trexDuration[id]
			flags := binary.BigEndian.Uint32(buf[0:4]) & 0xFFFFFF
			at := 8
			if flags&0x01 != 0 { // base_data_offset
				at += 8
			}
			if flags&0x02 != 0 { // sample_description_index
				at += 4
			}
			if flags&0x08 != 0 { // default_sample_duration
				if len(buf) < at+4 {
					return fmt.Errorf("%w: bad tfhd box", ErrMalformed)
				}
				defaultDur = binary.BigEndian.Uint32(buf[at:])
			}
		case "tfdt":
			buf, err := p.payload(b, 12)
			if err != nil {
				return err
			}
			switch {
			case len(buf) >= 8 && buf[0] == 0:
				start = uint64(binary.BigEndian.Uint32(buf[4:8]))
			case len(buf) >= 12 && buf[0] == 1:
				start = binary.BigEndian.Uint64(buf[4:12])
			default:
				return fmt.Errorf("%w: bad tfdt box", ErrMalformed)
			}
			haveStart = true
		case "trun":
			d, err := p.trun(b, defaultDur)
			if err != nil {
				return err
			}
			sum = satAdd(sum, d)
		}
		return nil
	})
	if err != nil || t == nil {
		return err
	}
	if !haveStart {
		start = t.fragEnd
	}
	t.fragEnd = max(t.fragEnd, satAdd(start, sum))
	return nil
}

// trun returns the total duration of a track run's samples.
func (p *bmff) trun(b box, defaultDur uint32) (uint64, error) {
	var h [8]byte
	n := b.end - b.body
	if n < 8 {
		return 0, fmt.Errorf("%w: bad trun box", ErrMalformed)
	}
	if _, err := readFull(p.r, h[:], b.body); err != nil {
		return 0, err
	}
	flags := binary.BigEndian.Uint32(h[0:4]) & 0xFFFFFF
	count := uint64(binary.BigEndian.Uint32(h[4:8]))
	at := b.body + 8
	if flags&0x001 != 0 { // data_offset
		at += 4
	}
	if flags&0x004 != 0 { // first_sample_flags
		at += 4
	}
	if flags&0x100 == 0 { // no per-sample durations: all take the default
		return count * uint64(defaultDur), nil
	}
	stride := int64(4)
	for _, f := range []uint32{0x200, 0x400, 0x800} { // size, flags, composition offset
		if flags&f != 0 {
			stride += 4
		}
	}
	if at > b.end || uint64(b.end-at)/uint64(stride) < count { //nolint:gosec // G115: at <= b.end and stride > 0, checked here
		return 0, fmt.Errorf("%w: trun of %d samples overruns its box", ErrMalformed, count)
	}
	var sum uint64
	buf := make([]byte, min(int64(count)*stride, 64<<10/stride*stride)) //nolint:gosec // G115: count*stride is at most b.end-at, checked above
	for count > 0 {
		chunk := buf[:min(int64(count)*stride, int64(len(buf)))] //nolint:gosec // G115: count*stride is at most b.end-at, checked above
		if _, err := readFull(p.r, chunk, at); err != nil {
			return 0, err
		}
		for i := 0; i < len(chunk); i += int(stride) {
			sum = satAdd(sum, uint64(binary.BigEndian.Uint32(chunk[i:])))
		}
		count -= uint64(len(chunk)) / uint64(stride)
		at += int64(len(chunk))
	}
	return sum, nil
}

// satAdd adds without wrapping around.
func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return math.MaxUint64
	}
	return a + b
}

// timing decodes the timescale and duration of an mvhd or mdhd payload
// (version 0 or 1). A duration of all ones means unknown and reads as 0.
func timing(buf []byte, name string) (timescale, duration uint64, err error) {
	switch {
	case len(buf) >= 20 && buf[0] == 0:
		timescale = uint64(binary.BigEndian.Uint32(buf[12:16]))
		duration = uint64(binary.BigEndian.Uint32(buf[16:20]))
		if duration == 0xFFFFFFFF {
			duration = 0
		}
	case len(buf) >= 32 && buf[0] == 1:
		timescale = uint64(binary.BigEndian.Uint32(buf[20:24]))
		duration = binary.BigEndian.Uint64(buf[24:32])
		if duration == 0xFFFFFFFFFFFFFFFF {
			duration = 0
		}
	default:
		return 0, 0, fmt.Errorf("%w: bad %s box", ErrMalformed, name)
	}
	return timescale, duration, nil
}

func (p *bmff) trak(trak box) (track, error) {
	var t track
	err := p.children(trak, func(b box) error {
		switch b.typ {
		case "tkhd":
			buf, err := p.payload(b, 96)
			if err != nil {
				return err
			}
			var at int
			switch {
			case len(buf) >= 84 && buf[0] == 0:
				at = 76
				t.id = binary.BigEndian.Uint32(buf[12:16])
			case len(buf) >= 96 && buf[0] == 1:
				at = 88
				t.id = binary.BigEndian.Uint32(buf[20:24])
			default:
				return fmt.Errorf("%w: bad tkhd box", ErrMalformed)
			}
			t.width = fixed16(binary.BigEndian.Uint32(buf[at:]))
			t.height = fixed16(binary.BigEndian.Uint32(buf[at+4:]))
		case "mdia":
			return p.mdia(b, &t)
		}
		return nil
	})
	return t, err
}

// fixed16 rounds an unsigned 16.16 fixed-point number to an int.
func fixed16(v uint32) int { return int((uint64(v) + 0x8000) >> 16) }

func (p *bmff) mdia(mdia box, t *track) error {
	return p.children(mdia, func(b box) error {
		switch b.typ {
		case "mdhd":
			buf, err := p.payload(b, 64)
			if err != nil {
				return err
			}
			t.timescale, t.duration, err = timing(buf, "mdhd")
			return err
		case "hdlr":
			// version/flags, pre_defined (QuickTime: component type), handler type.
			buf, err := p.payload(b, 12)
			if err != nil {
				return err
			}
			if len(buf) < 12 {
				return fmt.Errorf("%w: bad hdlr box", ErrMalformed)
			}
			t.handler = string(buf[8:12])
		case "minf":
			return p.children(b, func(c box) error {
				if c.typ != "stbl" {
					return nil
				}
				return p.children(c, func(d box) error {
					if d.typ != "stsd" {
						return nil
					}
					return p.stsd(d, t)
				})
			})
		}
		return nil
	})
}

// stsd reads the first sample entry (at most maxAlloc bytes of it).
func (p *bmff) stsd(b box, t *track) error {
	var h [16]byte
	n := b.end - b.body
	if n < 8 {
		return fmt.Errorf("%w: bad stsd box", ErrMalformed)
	}
	if _, err := readFull(p.r, h[:8], b.body); err != nil {
		return err
	}
	if binary.BigEndian.Uint32(h[4:8]) == 0 {
		return nil // no sample entries
	}
	if n < 16 {
		return fmt.Errorf("%w: truncated sample entry", ErrMalformed)
	}
	if _, err := readFull(p.r, h[8:16], b.body+8); err != nil {
		return err
	}
	size := int64(binary.BigEndian.Uint32(h[8:12]))
	if size < 8 || size > n-8 {
		return fmt.Errorf("%w: sample entry of size %d in an stsd of %d bytes", ErrMalformed, size, n)
	}
	entry := make([]byte, min(size, maxAlloc))
	if _, err := readFull(p.r, entry, b.body+8); err != nil {
		return err
	}
	fourcc := string(entry[4:8])
	if frma := findOriginalFormat(entry, fourcc); frma != "" {
		fourcc = frma
	}
	// The handler may not be known yet (hdlr after minf), so keep both readings.
	if len(entry) >= 36 {
		t.entryW = int(binary.BigEndian.Uint16(entry[32:34]))
		t.entryH = int(binary.BigEndian.Uint16(entry[34:36]))
	}
	t.videoCodec = videoCodec(fourcc)
	t.audioCodec = audioCodec(fourcc, entry)
	return nil
}

// Offsets, from the start of a sample entry (its 8-byte header included),
// at which child boxes may begin: after a VisualSampleEntry, after an
// AudioSampleEntry, and after QuickTime sound descriptions version 1 and 2.
var childOffsets = []int{86, 36, 52, 72}

// subBoxes parses buf as a sequence of boxes and returns them, or nil if buf
// is not exactly such a sequence (give or take a trailing terminator).
func subBoxes(buf []byte) map[string][]byte {
	out := map[string][]byte{}
	for len(buf) >= 8 {
		n := uint64(binary.BigEndian.Uint32(buf[:4]))
		if n == 0 {
			n = uint64(len(buf))
		}
		if n < 8 || n > uint64(len(buf)) {
			return nil
		}
		typ := string(buf[4:8])
		if _, dup := out[typ]; !dup {
			out[typ] = buf[8:n]
		}
		buf = buf[n:]
	}
	return out
}

// entryChildren returns the child boxes of a sample entry, trying each
// layout in childOffsets, or nil.
func entryChildren(entry []byte, want func(map[string][]byte) bool) map[string][]byte {
	for _, at := range childOffsets {
		if at > len(entry) {
			continue
		}
		if kids := subBoxes(entry[at:]); len(kids) > 0 && want(kids) {
			return kids
		}
	}
	return nil
}

// findOriginalFormat returns the original format of an encrypted sample
// entry (encv/enca → sinf/frma), or "".
func findOriginalFormat(entry []byte, fourcc string) string {
	if fourcc != "encv" && fourcc != "enca" {
		return ""
	}
	kids := entryChildren(entry, func(k map[string][]byte) bool { return k["sinf"] != nil })
	if kids == nil {
		return ""
	}
	sinf := subBoxes(kids["sinf"])
	if frma := sinf["frma"]; len(frma) >= 4 {
		return string(frma[:4])
	}
	return ""
}

// esdsObjectType returns the objectTypeIndication of an mp4a entry's esds
// (directly inside the entry, or inside a QuickTime wave box), or -1.
func esdsObjectType(entry []byte) int {
	kids := entryChildren(entry, func(k map[string][]byte) bool {
		return k["esds"] != nil || k["wave"] != nil
	})
	if kids == nil {
		return -1
	}
	esds := kids["esds"]
	if esds == nil {
		esds = subBoxes(kids["wave"])["esds"]
	}
	if len(esds) < 4 {
		return -1
	}
	// ES_Descriptor (tag 3) holding a DecoderConfigDescriptor (tag 4).
	tag, body, _ := descriptor(esds[4:])
	if tag != 3 || len(body) < 3 {
		return -1
	}
	flags := body[2]
	body = body[3:]
	if flags&0x80 != 0 { // streamDependenceFlag
		if len(body) < 2 {
			return -1
		}
		body = body[2:]
	}
	if flags&0x40 != 0 { // URL_Flag
		if len(body) < 1 || len(body) < 1+int(body[0]) {
			return -1
		}
		body = body[1+int(body[0]):]
	}
	if flags&0x20 != 0 { // OCRstreamFlag
		if len(body) < 2 {
			return -1
		}
		body = body[2:]
	}
	for len(body) > 0 {
		var t byte
		var b []byte
		t, b, body = descriptor(body)
		if t == 0 && b == nil {
			return -1
		}
		if t == 4 {
			if len(b) < 1 {
				return -1
			}
			return int(b[0])
		}
	}
	return -1
}

// descriptor splits an MPEG-4 descriptor (tag, expandable size, body) off buf.
// It returns a nil body when buf does not hold a whole descriptor.
func descriptor(buf []byte) (tag byte, body, rest []byte) {
	if len(buf) < 2 {
		return 0, nil, nil
	}
	tag = buf[0]
	var n, i int
	for i = 1; i <= 4; i++ {
		if i >= len(buf) {
			return 0, nil, nil
		}
		n = n<<7 | int(buf[i]&0x7f)
		if buf[i]&0x80 == 0 {
			break
		}
	}
	if i > 4 {
		return 0, nil, nil
	}
	start := i + 1
	if n > len(buf)-start {
		return 0, nil, nil
	}
	return tag, buf[start : start+n], buf[start+n:]
}

func videoCodec(fourcc string) string {
	switch fourcc {
	case "avc1", "avc2", "avc3", "avc4", "dva1", "dvav":
		return "h264"
	case "hvc1", "hev1", "dvh1", "dvhe":
		return "hevc"
	case "vvc1", "vvi1":
		return "vvc"
	case "vp08":
		return "vp8"
	case "vp09":
		return "vp9"
	case "av01":
		return "av1"
	case "mp4v":
		return "mp4v"
	case "s263", "h263", "H263":
		return "h263"
	case "jpeg", "mjpa", "mjpb", "MJPG":
		return "mjpeg"
	case "apch", "apcn", "apcs", "apco", "ap4h", "ap4x":
		return "prores"
	}
	return fourccName(fourcc)
}

func audioCodec(fourcc string, entry []byte) string {
	switch fourcc {
	case "mp4a":
		switch esdsObjectType(entry) {
		case 0x69, 0x6B:
			return "mp3"
		case 0xA5:
			return "ac3"
		case 0xA6:
			return "eac3"
		case 0xA9:
			return "dts"
		case 0xAD:
			return "opus"
		case 0xDD:
			return "vorbis"
		}
		return "aac"
	case "Opus":
		return "opus"
	case ".mp3", "mp3 ", "ms\x00\x55":
		return "mp3"
	case "ac-3", "sac3":
		return "ac3"
	case "ec-3":
		return "eac3"
	case "ac-4":
		return "ac4"
	case "fLaC":
		return "flac"
	case "alac":
		return "alac"
	case "samr":
		return "amr_nb"
	case "sawb":
		return "amr_wb"
	case "sowt":
		return "pcm_s16le"
	case "twos":
		return "pcm_s16be"
	case "lpcm", "ipcm", "fpcm", "in24", "in32", "fl32", "fl64", "raw ", "NONE":
		return "pcm"
	case "ulaw":
		return "pcm_mulaw"
	case "alaw":
		return "pcm_alaw"
	case "dtsc", "dtsh", "dtsl", "dtse":
		return "dts"
	case "mha1", "mhm1":
		return "mpegh"
	}
	return fourccName(fourcc)
}

// fourccName turns an unknown fourcc into a printable lower-case name.
func fourccName(fourcc string) string {
	var sb strings.Builder
	for i := 0; i < len(fourcc); i++ {
		c := fourcc[i]
		switch {
		case c >= 'A' && c <= 'Z':
			sb.WriteByte(c + 'a' - 'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// video assembles the Video for a file of the given size.
func (m *movie) video(size int64) (Video, error) {
	var v Video
	ticks, timescale := m.duration, m.timescale
	if ticks == 0 {
		ticks = m.fragDuration
	}
	if timescale == 0 {
		ticks = 0
	}
	var vt *track
	var longest float64
	fromHeader := ticks > 0
	for i := range m.tracks {
		t := &m.tracks[i]
		// Fall back to the longest track when the movie header has no duration.
		if !fromHeader {
			if d := max(t.duration, t.fragEnd); t.timescale > 0 && d > 0 {
				if secs := float64(d) / float64(t.timescale); secs > longest {
					longest = secs
					ticks, timescale = d, t.timescale
				}
			}
		}
		switch t.handler {
		case "vide":
			if vt == nil {
				vt = t
			}
		case "soun":
			if v.AudioCodec == "" {
				v.AudioCodec = t.audioCodec
			}
		}
	}
	if ticks > 0 && timescale > 0 {
		v.Duration = float64(ticks) / float64(timescale)
		v.BitRate = bitRate(size, ticks, timescale)
	}
	if vt == nil {
		return v, fmt.Errorf("%w: no video track", ErrNotVideo)
	}
	v.VideoCodec = vt.videoCodec
	v.Width, v.Height = vt.width, vt.height
	if v.Width == 0 || v.Height == 0 {
		v.Width, v.Height = vt.entryW, vt.entryH
	}
	return v, nil
}
