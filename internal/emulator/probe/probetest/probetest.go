package probetest

import (
	"encoding/binary"
	"math"
)

// SampleMP4 builds a minimal but well-formed MP4 for tests: ftyp (major brand
// isom; compatible isom, iso2, avc1, mp41), moov with mvhd, one H.264 video
// track (tkhd, mdhd, hdlr vide, vmhd, dinf, stbl with an avc1 sample entry and
// an avcC whose SPS encodes width×height, empty stts/stsc/stsz/stco), one AAC
// audio track (hdlr soun, mp4a sample entry with esds), then an mdat of
// mdatBytes zero bytes. The movie lasts durationSec seconds at a timescale of
// 1000, so MP4 reads back a Duration of round(durationSec*1000)/1000.
//
// It has no media samples: it is meant for probing and MIME sniffing
// (github.com/gabriel-vasile/mimetype detects it as video/mp4), not playback.
// Width and height are clamped to 0..65535, negative sizes to 0.
func SampleMP4(width, height int, durationSec float64, mdatBytes int) []byte {
	return BuildMP4(MP4Spec{Width: width, Height: height, Duration: durationSec, MdatBytes: mdatBytes})
}

// SampleWebM builds a minimal well-formed WebM for tests: EBML header
// (DocType webm), a Segment with Info (TimecodeScale 1 ms, Duration),
// Tracks (a VP9 video track of width×height and an Opus audio track) and
// one Cluster padded with a Void element of clusterBytes zero bytes.
func SampleWebM(width, height int, durationSec float64, clusterBytes int) []byte {
	return BuildWebM(WebMSpec{Width: width, Height: height, Duration: durationSec, ClusterBytes: clusterBytes})
}

// MP4Spec describes a file for BuildMP4. The zero values of the optional
// fields give SampleMP4's layout.
type MP4Spec struct {
	Width, Height int
	Duration      float64 // seconds
	MdatBytes     int

	QuickTime  bool   // ftyp "qt  ", QuickTime hdlr/minf style, sound description v1 with esds in wave
	NoFtyp     bool   // old QuickTime: no ftyp at all
	MdatFirst  bool   // ftyp, mdat, moov instead of ftyp, moov, mdat
	LargeMdat  bool   // mdat with a 64-bit largesize header
	LargeMoov  bool   // moov with a 64-bit largesize header
	Version1   bool   // mvhd, tkhd and mdhd version 1
	NoVideo    bool   // audio track only
	NoAudio    bool   // video track only
	VideoType  string // sample entry fourcc, default "avc1"
	AudioType  string // sample entry fourcc, default "mp4a"
	AudioOTI   byte   // esds objectTypeIndication, default 0x40 (MPEG-4 audio)
	Encrypted  bool   // wrap the sample entries as encv/enca with sinf/frma
	ZeroTkhdWH bool   // tkhd width/height 0 (sample entry still has them)
	NoMvhdDur  bool   // mvhd duration 0 (a fragmented file): use mvex/mehd
	Fragments  int    // > 0: a fragmented file without mehd, media in this many moof+mdat pairs
}

// Timescales of the built MP4s, in ticks per second. VideoTimescale is exported
// for tests that write their own video track boxes.
const (
	movieTimescale = 1000
	VideoTimescale = 90000
	audioTimescale = 48000
)

// BuildMP4 builds the MP4 that s describes.
func BuildMP4(s MP4Spec) []byte {
	s.Width, s.Height = clampDim(s.Width), clampDim(s.Height)
	if s.MdatBytes < 0 {
		s.MdatBytes = 0
	}
	if s.VideoType == "" {
		s.VideoType = "avc1"
	}
	if s.AudioType == "" {
		s.AudioType = "mp4a"
	}
	if s.AudioOTI == 0 {
		s.AudioOTI = 0x40
	}
	var ftyp []byte
	switch {
	case s.NoFtyp:
	case s.QuickTime:
		ftyp = Box("ftyp", []byte("qt  "), U32(0x20050300), []byte("qt  "))
	default:
		ftyp = Box("ftyp", []byte("isom"), U32(0x200), []byte("isomiso2avc1mp41"))
	}

	movieTicks := TicksOf(s.Duration, movieTimescale)
	v1 := s.Version1 || movieTicks > math.MaxUint32 || TicksOf(s.Duration, VideoTimescale) > math.MaxUint32
	ver := byte(0)
	if v1 {
		ver = 1
	}
	mvhdDur := movieTicks
	if s.NoMvhdDur || s.Fragments > 0 {
		mvhdDur = 0
	}
	mvhd := FullBox("mvhd", ver, 0,
		times(v1), U32(movieTimescale), dur(v1, mvhdDur),
		U32(0x00010000), U16(0x0100), make([]byte, 10), matrix(), make([]byte, 24), U32(3))

	moovKids := [][]byte{mvhd}
	if s.NoMvhdDur && s.Fragments == 0 {
		moovKids = append(moovKids, Box("mvex",
			FullBox("mehd", ver, 0, dur(v1, movieTicks)),
			FullBox("trex", 0, 0, U32(1), U32(1), U32(0), U32(0), U32(0))))
	}
	if s.Fragments > 0 {
		moovKids = append(moovKids, Box("mvex",
			FullBox("trex", 0, 0, U32(1), U32(1), U32(0), U32(0), U32(0)),
			FullBox("trex", 0, 0, U32(2), U32(1), U32(1024), U32(0), U32(0))))
	}
	if !s.NoVideo {
		moovKids = append(moovKids, videoTrak(s, v1, ver, movieTicks))
	}
	if !s.NoAudio {
		moovKids = append(moovKids, audioTrak(s, v1, ver, movieTicks))
	}
	moov := Box("moov", moovKids...)
	if s.LargeMoov {
		moov = largeBox("moov", moov[8:])
	}

	var mdat []byte
	if s.LargeMdat {
		mdat = largeBox("mdat", make([]byte, s.MdatBytes))
	} else {
		mdat = Box("mdat", make([]byte, s.MdatBytes))
	}
	if s.Fragments > 0 {
		return Concat(ftyp, moov, fragments(s))
	}
	if s.MdatFirst {
		return Concat(ftyp, mdat, moov)
	}
	return Concat(ftyp, moov, mdat)
}

// fragments builds s.Fragments moof+mdat pairs: the video track's runs have
// per-sample durations adding up to the movie's duration (at 90 kHz), with a
// tfdt on every other fragment; the audio track's runs use the trex default
// sample duration (1024 at 48 kHz) and end no later than the video.
func fragments(s MP4Spec) []byte {
	const perFrag = 10 // video samples per fragment
	vTotal := TicksOf(s.Duration, VideoTimescale)
	aTotal := TicksOf(s.Duration, audioTimescale)
	n := uint64(s.Fragments)
	var out []byte
	var vStart uint64
	for i := range n {
		vEnd := vTotal * (i + 1) / n
		var durs []byte
		for k := range uint64(perFrag) {
			a, b := vStart+(vEnd-vStart)*k/perFrag, vStart+(vEnd-vStart)*(k+1)/perFrag
			durs = append(durs, U32(uint32(b-a))...)
		}
		video := [][]byte{FullBox("tfhd", 0, 0x020000, U32(1))}
		if i%2 == 0 {
			video = append(video, FullBox("tfdt", 1, 0, U64(vStart)))
		}
		video = append(video, FullBox("trun", 0, 0x000100, U32(perFrag), durs))
		aCount := (aTotal*(i+1)/n)/1024 - (aTotal*i/n)/1024
		audio := Box("traf", FullBox("tfhd", 0, 0x020000, U32(2)), FullBox("trun", 0, 0x000200, U32(uint32(aCount)), make([]byte, 4*aCount)))
		out = append(out, Box("moof", FullBox("mfhd", 0, 0, U32(uint32(i+1))), Box("traf", video...), audio)...)
		out = append(out, Box("mdat", make([]byte, s.MdatBytes/int(n)))...)
		vStart = vEnd
	}
	return out
}

func videoTrak(s MP4Spec, v1 bool, ver byte, movieTicks uint64) []byte {
	trackTicks := TicksOf(s.Duration, VideoTimescale)
	if s.Fragments > 0 { // all samples are in the fragments
		trackTicks, movieTicks = 0, 0
	}
	w, h := s.Width, s.Height
	if s.ZeroTkhdWH {
		w, h = 0, 0
	}
	tkhd := FullBox("tkhd", ver, 3,
		times(v1), U32(1), U32(0), dur(v1, movieTicks), make([]byte, 8),
		U16(0), U16(0), U16(0), U16(0), matrix(), U32(uint32(w)<<16), U32(uint32(h)<<16))
	mdhd := FullBox("mdhd", ver, 0, times(v1), U32(VideoTimescale),
		dur(v1, trackTicks), U16(0x55C4), U16(0))

	entry := Concat(
		make([]byte, 6), U16(1), // reserved, data_reference_index
		U16(0), U16(0), make([]byte, 12), // pre_defined, reserved, pre_defined
		U16(uint16(s.Width)), U16(uint16(s.Height)),
		U32(0x00480000), U32(0x00480000), U32(0), U16(1), // 72 dpi, reserved, frame_count
		compressorName("ikq"), U16(0x0018), U16(0xFFFF),
		Box("avcC", avcC(s.Width, s.Height)),
	)
	fourcc := s.VideoType
	if s.Encrypted {
		entry = append(entry, sinf(fourcc)...)
		fourcc = "encv"
	}
	minf := [][]byte{FullBox("vmhd", 0, 1, U16(0), make([]byte, 6))}
	if s.QuickTime {
		minf = append(minf, qtHdlr("dhlr", "alis", "ikq alias handler"))
	}
	minf = append(minf, dinf(), stbl(Box(fourcc, entry)))
	return Box("trak", tkhd, Box("mdia", mdhd, hdlr(s, "vide", "ikq video"), Box("minf", minf...)))
}

func audioTrak(s MP4Spec, v1 bool, ver byte, movieTicks uint64) []byte {
	trackTicks := TicksOf(s.Duration, audioTimescale)
	if s.Fragments > 0 { // all samples are in the fragments
		trackTicks, movieTicks = 0, 0
	}
	tkhd := FullBox("tkhd", ver, 3,
		times(v1), U32(2), U32(0), dur(v1, movieTicks), make([]byte, 8),
		U16(0), U16(1), U16(0x0100), U16(0), matrix(), U32(0), U32(0))
	mdhd := FullBox("mdhd", ver, 0, times(v1), U32(audioTimescale),
		dur(v1, trackTicks), U16(0x55C4), U16(0))

	esds := FullBox("esds", 0, 0, Descr(3, Concat(U16(2), []byte{0}, // ES_ID, flags
		Descr(4, Concat([]byte{s.AudioOTI, 0x15}, []byte{0, 0x03, 0x00}, U32(128000), U32(128000),
			Descr(5, []byte{0x11, 0x90}))), // AAC-LC, 48 kHz, stereo
		Descr(6, []byte{2}))))
	var entry []byte
	if s.QuickTime {
		// QuickTime sound description version 1, codec config inside a wave atom.
		entry = Concat(make([]byte, 6), U16(1),
			U16(1), U16(0), U32(0), // version 1, revision, vendor
			U16(2), U16(16), U16(0xFFFE), U16(0), U32(audioTimescale<<16),
			U32(1024), U32(0), U32(0), U32(2), // samples/packet, bytes/packet, bytes/frame, bytes/sample
			Box("wave", Box("frma", []byte(s.AudioType)), Box("mp4a", U32(0)), esds, U32(8), U32(0)))
	} else {
		entry = Concat(make([]byte, 6), U16(1), make([]byte, 8),
			U16(2), U16(16), U16(0), U16(0), U32(audioTimescale<<16), esds)
	}
	fourcc := s.AudioType
	if s.Encrypted {
		entry = append(entry, sinf(fourcc)...)
		fourcc = "enca"
	}
	minf := [][]byte{FullBox("smhd", 0, 0, U16(0), U16(0))}
	if s.QuickTime {
		minf = append(minf, qtHdlr("dhlr", "alis", "ikq alias handler"))
	}
	minf = append(minf, dinf(), stbl(Box(fourcc, entry)))
	return Box("trak", tkhd, Box("mdia", mdhd, hdlr(s, "soun", "ikq audio"), Box("minf", minf...)))
}

func hdlr(s MP4Spec, handler, name string) []byte {
	if s.QuickTime {
		return qtHdlr("mhlr", handler, name)
	}
	return FullBox("hdlr", 0, 0, U32(0), []byte(handler), make([]byte, 12), []byte(name), []byte{0})
}

// qtHdlr is a QuickTime handler reference: component type and subtype,
// manufacturer, flags, flags mask, and a counted (Pascal) name.
func qtHdlr(componentType, subtype, name string) []byte {
	return FullBox("hdlr", 0, 0, []byte(componentType), []byte(subtype), make([]byte, 12),
		[]byte{byte(len(name))}, []byte(name))
}

func dinf() []byte {
	return Box("dinf", FullBox("dref", 0, 0, U32(1), FullBox("url ", 0, 1)))
}

func stbl(entry []byte) []byte {
	return Box("stbl",
		FullBox("stsd", 0, 0, U32(1), entry),
		FullBox("stts", 0, 0, U32(0)),
		FullBox("stsc", 0, 0, U32(0)),
		FullBox("stsz", 0, 0, U32(0), U32(0)),
		FullBox("stco", 0, 0, U32(0)))
}

func sinf(original string) []byte {
	return Box("sinf",
		Box("frma", []byte(original)),
		FullBox("schm", 0, 0, []byte("cenc"), U32(0x00010000)),
		Box("schi", FullBox("tenc", 0, 0, make([]byte, 4+16+4))))
}

// avcC is an AVCDecoderConfigurationRecord with one SPS (Baseline, level
// 3.0, sized and cropped to width×height) and one PPS.
func avcC(width, height int) []byte {
	sps, pps := h264SPS(width, height), h264PPS()
	return Concat([]byte{1, sps[1], sps[2], sps[3], 0xFF, 0xE1},
		U16(uint16(len(sps))), sps, []byte{1}, U16(uint16(len(pps))), pps)
}

func h264SPS(width, height int) []byte {
	width, height = max(width, 1), max(height, 1)
	mbW, mbH := (width+15)/16, (height+15)/16
	var b bitWriter
	b.bits(66, 8)   // profile_idc: Baseline
	b.bits(0xC0, 8) // constraint_set0/1 flags
	b.bits(30, 8)   // level_idc 3.0
	b.ue(0)         // seq_parameter_set_id
	b.ue(0)         // log2_max_frame_num_minus4
	b.ue(2)         // pic_order_cnt_type
	b.ue(1)         // max_num_ref_frames
	b.bits(0, 1)    // gaps_in_frame_num_value_allowed_flag
	b.ue(uint(mbW - 1))
	b.ue(uint(mbH - 1))
	b.bits(1, 1) // frame_mbs_only_flag
	b.bits(1, 1) // direct_8x8_inference_flag
	cropR, cropB := (mbW*16-width)/2, (mbH*16-height)/2
	if cropR > 0 || cropB > 0 {
		b.bits(1, 1)
		b.ue(0)
		b.ue(uint(cropR))
		b.ue(0)
		b.ue(uint(cropB))
	} else {
		b.bits(0, 1)
	}
	b.bits(0, 1) // vui_parameters_present_flag
	return nal(0x67, b.rbsp())
}

func h264PPS() []byte {
	var b bitWriter
	b.ue(0)      // pic_parameter_set_id
	b.ue(0)      // seq_parameter_set_id
	b.bits(0, 1) // entropy_coding_mode_flag
	b.bits(0, 1) // bottom_field_pic_order_in_frame_present_flag
	b.ue(0)      // num_slice_groups_minus1
	b.ue(0)      // num_ref_idx_l0_default_active_minus1
	b.ue(0)      // num_ref_idx_l1_default_active_minus1
	b.bits(0, 1) // weighted_pred_flag
	b.bits(0, 2) // weighted_bipred_idc
	b.ue(0)      // pic_init_qp_minus26 (se 0)
	b.ue(0)      // pic_init_qs_minus26 (se 0)
	b.ue(0)      // chroma_qp_index_offset (se 0)
	b.bits(1, 1) // deblocking_filter_control_present_flag
	b.bits(0, 1) // constrained_intra_pred_flag
	b.bits(0, 1) // redundant_pic_cnt_present_flag
	return nal(0x68, b.rbsp())
}

// nal prepends the NAL header and inserts emulation-prevention bytes.
func nal(header byte, rbsp []byte) []byte {
	out := []byte{header}
	zeros := 0
	for _, c := range rbsp {
		if zeros >= 2 && c <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

type bitWriter struct {
	buf  []byte
	nbit uint
}

func (w *bitWriter) bits(v uint, n uint) {
	for i := n; i > 0; i-- {
		if w.nbit%8 == 0 {
			w.buf = append(w.buf, 0)
		}
		if v>>(i-1)&1 == 1 {
			w.buf[len(w.buf)-1] |= 0x80 >> (w.nbit % 8)
		}
		w.nbit++
	}
}

// ue writes an unsigned Exp-Golomb code.
func (w *bitWriter) ue(v uint) {
	v++
	n := uint(0)
	for x := v; x > 1; x >>= 1 {
		n++
	}
	w.bits(0, n)
	w.bits(v, n+1)
}

// rbsp appends the rbsp_stop_one_bit and byte-aligns.
func (w *bitWriter) rbsp() []byte {
	w.bits(1, 1)
	for w.nbit%8 != 0 {
		w.bits(0, 1)
	}
	return w.buf
}

// Descr is an MPEG-4 descriptor (ISO 14496-1): tag, a 4-byte size, body.
func Descr(tag byte, body []byte) []byte {
	n := len(body)
	return Concat([]byte{tag, 0x80 | byte(n>>21&0x7F), 0x80 | byte(n>>14&0x7F), 0x80 | byte(n>>7&0x7F), byte(n & 0x7F)}, body)
}

func compressorName(name string) []byte {
	b := make([]byte, 32)
	b[0] = byte(copy(b[1:], name))
	return b
}

func matrix() []byte {
	return Concat(U32(0x00010000), U32(0), U32(0), U32(0), U32(0x00010000), U32(0), U32(0), U32(0), U32(0x40000000))
}

// times is a zero creation and modification time.
func times(v1 bool) []byte {
	if v1 {
		return make([]byte, 16)
	}
	return make([]byte, 8)
}

func dur(v1 bool, d uint64) []byte {
	if v1 {
		return U64(d)
	}
	return U32(uint32(d))
}

// TicksOf is seconds in units of timescale, rounded.
func TicksOf(seconds float64, timescale uint64) uint64 {
	if !(seconds > 0) || math.IsInf(seconds, 0) {
		return 0
	}
	t := math.Round(seconds * float64(timescale))
	if t >= 1<<63 {
		return 1<<63 - 1
	}
	return uint64(t)
}

func clampDim(v int) int { return min(max(v, 0), 0xFFFF) }

// Box is an ISO BMFF box: a 32-bit size, the type, the payload.
func Box(typ string, payload ...[]byte) []byte {
	body := Concat(payload...)
	return Concat(U32(uint32(8+len(body))), []byte(typ), body)
}

func largeBox(typ string, body []byte) []byte {
	return Concat(U32(1), []byte(typ), U64(uint64(16+len(body))), body)
}

// FullBox is a box with a version and 24 bits of flags before the payload.
func FullBox(typ string, version byte, flags uint32, payload ...[]byte) []byte {
	return Box(typ, append([][]byte{{version, byte(flags >> 16), byte(flags >> 8), byte(flags)}}, payload...)...)
}

// Concat joins byte slices.
func Concat(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// U16 is v big-endian.
func U16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// U32 is v big-endian.
func U32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// U64 is v big-endian.
func U64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// Matroska element IDs (marker bits included). They are written out here rather
// than shared with the reader so that a wrong ID in either shows up in tests.
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

// WebMSpec describes a file for BuildWebM.
type WebMSpec struct {
	Width, Height int
	Duration      float64 // seconds; 0 writes no Duration
	ClusterBytes  int
	VideoCodec    string // CodecID, default V_VP9
	AudioCodec    string // CodecID, default A_OPUS
	NoVideo       bool
	UnknownSizes  bool // Segment and Cluster of unknown size, like a live recording
	TracksFirst   bool // Tracks before Info
	Float32Dur    bool // 4-byte Duration
}

// BuildWebM builds the WebM that s describes.
func BuildWebM(s WebMSpec) []byte {
	if s.ClusterBytes < 0 {
		s.ClusterBytes = 0
	}
	if s.VideoCodec == "" {
		s.VideoCodec = "V_VP9"
	}
	if s.AudioCodec == "" {
		s.AudioCodec = "A_OPUS"
	}
	header := EBMLElem(idEBML,
		EBMLElem(0x4286, ebmlU(1)), EBMLElem(0x42F7, ebmlU(1)), // EBMLVersion, EBMLReadVersion
		EBMLElem(0x42F2, ebmlU(4)), EBMLElem(0x42F3, ebmlU(8)), // EBMLMaxIDLength, EBMLMaxSizeLength
		EBMLElem(idDocType, []byte("webm")),
		EBMLElem(0x4287, ebmlU(4)), EBMLElem(0x4285, ebmlU(2))) // DocTypeVersion, DocTypeReadVersion

	info := [][]byte{EBMLElem(idTimecodeScale, ebmlU(1000000)),
		EBMLElem(0x4D80, []byte("ikq")), EBMLElem(0x5741, []byte("ikq"))} // MuxingApp, WritingApp
	if s.Duration > 0 {
		ms := s.Duration * 1000
		if s.Float32Dur {
			info = append(info, EBMLElem(idDuration, U32(math.Float32bits(float32(ms)))))
		} else {
			info = append(info, EBMLElem(idDuration, U64(math.Float64bits(ms))))
		}
	}
	var entries [][]byte
	if !s.NoVideo {
		entries = append(entries, EBMLElem(idTrackEntry,
			EBMLElem(0xD7, ebmlU(1)), EBMLElem(0x73C5, ebmlU(1)), // TrackNumber, TrackUID
			EBMLElem(idTrackType, ebmlU(1)), EBMLElem(idCodecID, []byte(s.VideoCodec)),
			EBMLElem(idVideo, EBMLElem(idPixelWidth, ebmlU(uint64(max(s.Width, 0)))),
				EBMLElem(idPixelHeight, ebmlU(uint64(max(s.Height, 0)))))))
	}
	opusHead := Concat([]byte("OpusHead"), []byte{1, 2}, binary.LittleEndian.AppendUint16(nil, 312),
		binary.LittleEndian.AppendUint32(nil, 48000), []byte{0, 0, 0})
	entries = append(entries, EBMLElem(idTrackEntry,
		EBMLElem(0xD7, ebmlU(2)), EBMLElem(0x73C5, ebmlU(2)),
		EBMLElem(idTrackType, ebmlU(2)), EBMLElem(idCodecID, []byte(s.AudioCodec)),
		EBMLElem(0x63A2, opusHead), // CodecPrivate
		EBMLElem(0xE1, EBMLElem(0xB5, U64(math.Float64bits(48000))), EBMLElem(0x9F, ebmlU(2)))))

	infoEl, tracksEl := EBMLElem(idInfo, info...), EBMLElem(idTracks, entries...)
	first, second := infoEl, tracksEl
	if s.TracksFirst {
		first, second = tracksEl, infoEl
	}
	clusterBody := Concat(EBMLElem(0xE7, ebmlU(0)), EBMLElem(0xEC, make([]byte, s.ClusterBytes))) // Timecode, Void
	if s.UnknownSizes {
		cluster := Concat(EBMLID(idCluster), []byte{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, clusterBody)
		return Concat(header, EBMLID(idSegment), []byte{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
			first, second, cluster)
	}
	return Concat(header, EBMLElem(idSegment, first, second, EBMLElem(idCluster, clusterBody)))
}

// EBMLID is a Matroska element ID in its shortest form (marker bits included).
func EBMLID(id uint64) []byte {
	switch {
	case id > 0xFFFFFF:
		return U32(uint32(id))
	case id > 0xFFFF:
		return []byte{byte(id >> 16), byte(id >> 8), byte(id)}
	case id > 0xFF:
		return U16(uint16(id))
	}
	return []byte{byte(id)}
}

// EBMLElem encodes an element with an 8-byte size.
func EBMLElem(id uint64, payload ...[]byte) []byte {
	body := Concat(payload...)
	size := U64(uint64(len(body)))
	size[0] = 0x01
	return Concat(EBMLID(id), size, body)
}

func ebmlU(v uint64) []byte {
	b := U64(v)
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return b
}
