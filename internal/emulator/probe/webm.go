package probe

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
)

// EBML / Matroska element IDs used here (marker bits included).
const (
	idEBML          = 0x1A45DFA3
	idDocType       = 0x4282
	idSegment       = 0x18538067
	idInfo          = 0x1549A966
	idTimecodeScale = 0x2AD7B1
	idDuration      = 0x4489
	idTracks        = 0x1654AE6B
	idTrackEntry    = 0xAE
	idTrackType     = 0x83
	idCodecID       = 0x86
	idVideo         = 0xE0
	idPixelWidth    = 0xB0
	idPixelHeight   = 0xBA
	idCluster       = 0x1F43B675
)

// WebM reads a WebM or Matroska file: the EBML header's DocType, then
// Segment/Info (TimecodeScale, Duration) and Segment/Tracks (the first video
// track's PixelWidth/PixelHeight and CodecID, the first audio track's
// CodecID), seeking over Clusters. It returns an error wrapping ErrMalformed
// or ErrNotVideo when it cannot, like MP4.
//
// Files written by live recorders (e.g. a browser's MediaRecorder) often have
// no Duration; their Video has Duration and BitRate 0.
func WebM(r io.ReaderAt, size int64) (Video, error) {
	if size < 0 {
		return Video{}, fmt.Errorf("%w: negative size", ErrMalformed)
	}
	p := &ebml{r: r, size: size, budget: maxNodes}
	hdr, err := p.element(0, size)
	if err != nil {
		return Video{}, err
	}
	if hdr.id != idEBML {
		return Video{}, fmt.Errorf("%w: no EBML header", ErrMalformed)
	}
	body, err := p.read(hdr)
	if err != nil {
		return Video{}, err
	}
	docType := ""
	if err := walk(body, func(id uint64, data []byte) error {
		if id == idDocType {
			docType = strings.TrimRight(string(data), "\x00")
		}
		return nil
	}); err != nil {
		return Video{}, err
	}
	if docType != "webm" && docType != "matroska" {
		return Video{}, fmt.Errorf("%w: EBML DocType %q is not webm or matroska", ErrMalformed, docType)
	}

	// Find the Segment (skipping Void or other top-level elements).
	var seg elem
	for off := hdr.end; ; off = seg.end {
		if seg, err = p.element(off, size); err != nil {
			return Video{}, err
		}
		if seg.id == idSegment {
			break
		}
		if seg.unknown {
			return Video{}, fmt.Errorf("%w: unknown-size element before Segment", ErrMalformed)
		}
	}

	var (
		w                    webmInfo
		haveInfo, haveTracks bool
	)
	for off := seg.body; seg.end-off >= 2 && !(haveInfo && haveTracks); {
		e, err := p.element(off, seg.end)
		if err != nil {
			return Video{}, err
		}
		if e.id == idCluster && e.unknown {
			break // live stream: cannot skip it cheaply, and Info/Tracks come first
		}
		if e.unknown {
			return Video{}, fmt.Errorf("%w: unknown-size element %#x in Segment", ErrMalformed, e.id)
		}
		switch e.id {
		case idInfo:
			body, err := p.read(e)
			if err != nil {
				return Video{}, err
			}
			if err := w.info(body); err != nil {
				return Video{}, err
			}
			haveInfo = true
		case idTracks:
			body, err := p.read(e)
			if err != nil {
				return Video{}, err
			}
			if err := w.tracks(body); err != nil {
				return Video{}, err
			}
			haveTracks = true
		}
		off = e.end
	}
	if !haveTracks {
		return Video{}, fmt.Errorf("%w: no Tracks element found", ErrMalformed)
	}
	return w.result(size)
}

type elem struct {
	id             uint64
	off, body, end int64
	unknown        bool // size was "unknown" (all ones); end is the parent's end
}

type ebml struct {
	r      io.ReaderAt
	size   int64
	budget int
}

// element reads the element header at off; the element must end by
// parentEnd (an unknown size extends to parentEnd).
func (p *ebml) element(off, parentEnd int64) (elem, error) {
	if p.budget--; p.budget < 0 {
		return elem{}, fmt.Errorf("%w: too many elements", ErrMalformed)
	}
	var h [12]byte
	n := parentEnd - off
	if n < 2 {
		return elem{}, fmt.Errorf("%w: truncated element header at offset %d", ErrMalformed, off)
	}
	if n > int64(len(h)) {
		n = int64(len(h))
	}
	if _, err := readFull(p.r, h[:n], off); err != nil {
		return elem{}, err
	}
	id, idLen, ok := vint(h[:n], true)
	if !ok || idLen > 4 {
		return elem{}, fmt.Errorf("%w: bad element ID at offset %d", ErrMalformed, off)
	}
	sz, szLen, ok := vint(h[idLen:n], false)
	if !ok {
		return elem{}, fmt.Errorf("%w: bad element size at offset %d", ErrMalformed, off)
	}
	e := elem{id: id, off: off, body: off + int64(idLen+szLen)}
	if sz == unknownSize(szLen) {
		e.unknown = true
		e.end = parentEnd
		return e, nil
	}
	if sz > uint64(parentEnd-e.body) { //nolint:gosec // G115: the header was read within parentEnd, so e.body <= parentEnd
		return elem{}, fmt.Errorf("%w: element %#x at offset %d has size %d, %d bytes remain", ErrMalformed, id, off, sz, parentEnd-e.body)
	}
	e.end = e.body + int64(sz) //nolint:gosec // G115: sz is at most parentEnd-e.body, checked above
	return e, nil
}

// read returns the payload of a (small) master element.
func (p *ebml) read(e elem) ([]byte, error) {
	n := e.end - e.body
	if e.unknown || n > maxAlloc {
		return nil, fmt.Errorf("%w: element %#x too large (%d bytes)", ErrMalformed, e.id, n)
	}
	buf := make([]byte, n)
	if _, err := readFull(p.r, buf, e.body); err != nil {
		return nil, err
	}
	return buf, nil
}

// vint decodes an EBML variable-length integer at the start of buf: with its
// length marker kept (element IDs) or removed (sizes).
func vint(buf []byte, keepMarker bool) (v uint64, n int, ok bool) {
	if len(buf) == 0 || buf[0] == 0 {
		return 0, 0, false
	}
	for n = 1; buf[0]&(0x80>>(n-1)) == 0; n++ {
	}
	if n > 8 || n > len(buf) {
		return 0, 0, false
	}
	v = uint64(buf[0])
	if !keepMarker {
		v &= uint64(0xFF >> n)
	}
	for _, b := range buf[1:n] {
		v = v<<8 | uint64(b)
	}
	return v, n, true
}

// unknownSize is the reserved "unknown" value of an n-byte size (all ones).
func unknownSize(n int) uint64 { return 1<<(7*n) - 1 }

// walk calls fn for each element of an in-memory master element body.
func walk(buf []byte, fn func(id uint64, data []byte) error) error {
	for len(buf) > 0 {
		id, idLen, ok := vint(buf, true)
		if !ok || idLen > 4 {
			return fmt.Errorf("%w: bad element ID", ErrMalformed)
		}
		sz, szLen, ok := vint(buf[idLen:], false)
		if !ok {
			return fmt.Errorf("%w: bad element size", ErrMalformed)
		}
		rest := buf[idLen+szLen:]
		if sz == unknownSize(szLen) || sz > uint64(len(rest)) {
			return fmt.Errorf("%w: element %#x overruns its parent", ErrMalformed, id)
		}
		if err := fn(id, rest[:sz]); err != nil {
			return err
		}
		buf = rest[sz:]
	}
	return nil
}

func ebmlUint(data []byte) uint64 {
	var v uint64
	for i, b := range data {
		if i == 8 {
			break
		}
		v = v<<8 | uint64(b)
	}
	return v
}

type webmInfo struct {
	timecodeScale uint64
	duration      float64 // in TimecodeScale units
	video, audio  *webmTrack
}

type webmTrack struct {
	codec         string
	width, height int
}

func (w *webmInfo) info(body []byte) error {
	return walk(body, func(id uint64, data []byte) error {
		switch id {
		case idTimecodeScale:
			w.timecodeScale = ebmlUint(data)
		case idDuration:
			switch len(data) {
			case 4:
				w.duration = float64(math.Float32frombits(binary.BigEndian.Uint32(data)))
			case 8:
				w.duration = math.Float64frombits(binary.BigEndian.Uint64(data))
			default:
				return fmt.Errorf("%w: Duration of %d bytes", ErrMalformed, len(data))
			}
		}
		return nil
	})
}

func (w *webmInfo) tracks(body []byte) error {
	return walk(body, func(id uint64, data []byte) error {
		if id != idTrackEntry {
			return nil
		}
		var (
			t        webmTrack
			kind     uint64
			codecID  string
			haveKind bool
		)
		err := walk(data, func(id uint64, data []byte) error {
			switch id {
			case idTrackType:
				kind, haveKind = ebmlUint(data), true
			case idCodecID:
				codecID = strings.TrimRight(string(data), "\x00")
			case idVideo:
				return walk(data, func(id uint64, data []byte) error {
					switch id {
					case idPixelWidth:
						t.width = clampInt(ebmlUint(data))
					case idPixelHeight:
						t.height = clampInt(ebmlUint(data))
					}
					return nil
				})
			}
			return nil
		})
		if err != nil {
			return err
		}
		if !haveKind { // infer from the codec ID
			switch {
			case strings.HasPrefix(codecID, "V_"):
				kind = 1
			case strings.HasPrefix(codecID, "A_"):
				kind = 2
			}
		}
		t.codec = matroskaCodec(codecID)
		switch {
		case kind == 1 && w.video == nil:
			w.video = &t
		case kind == 2 && w.audio == nil:
			w.audio = &t
		}
		return nil
	})
}

func clampInt(v uint64) int {
	if v > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(v)
}

func matroskaCodec(id string) string {
	switch {
	case id == "V_VP8":
		return "vp8"
	case id == "V_VP9":
		return "vp9"
	case id == "V_AV1":
		return "av1"
	case id == "V_MPEG4/ISO/AVC":
		return "h264"
	case id == "V_MPEGH/ISO/HEVC":
		return "hevc"
	case id == "V_MPEGI/ISO/VVC":
		return "vvc"
	case strings.HasPrefix(id, "V_MPEG4/ISO/"):
		return "mp4v"
	case id == "V_MPEG1":
		return "mpeg1video"
	case id == "V_MPEG2":
		return "mpeg2video"
	case id == "V_THEORA":
		return "theora"
	case id == "V_MJPEG":
		return "mjpeg"
	case id == "V_PRORES":
		return "prores"
	case id == "A_OPUS":
		return "opus"
	case id == "A_VORBIS":
		return "vorbis"
	case strings.HasPrefix(id, "A_AAC"):
		return "aac"
	case id == "A_MPEG/L3":
		return "mp3"
	case id == "A_MPEG/L2":
		return "mp2"
	case id == "A_AC3":
		return "ac3"
	case id == "A_EAC3":
		return "eac3"
	case id == "A_FLAC":
		return "flac"
	case id == "A_ALAC":
		return "alac"
	case strings.HasPrefix(id, "A_DTS"):
		return "dts"
	case strings.HasPrefix(id, "A_PCM/"):
		return "pcm"
	}
	id = strings.TrimPrefix(strings.TrimPrefix(id, "V_"), "A_")
	return fourccName(id)
}

func (w *webmInfo) result(size int64) (Video, error) {
	var v Video
	scale := w.timecodeScale
	if scale == 0 {
		scale = 1000000 // Matroska default: milliseconds
	}
	if d := w.duration; d > 0 && !math.IsInf(d, 0) && !math.IsNaN(d) {
		ns := d * float64(scale)
		v.Duration = ns / 1e9
		if ns < 1<<63 {
			v.BitRate = bitRate(size, uint64(math.Round(ns)), 1e9)
		}
	}
	if w.audio != nil {
		v.AudioCodec = w.audio.codec
	}
	if w.video == nil {
		return v, fmt.Errorf("%w: no video track", ErrNotVideo)
	}
	v.VideoCodec = w.video.codec
	v.Width, v.Height = w.video.width, w.video.height
	return v, nil
}
