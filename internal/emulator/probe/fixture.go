package probe

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
	return buildMP4(mp4Spec{width: width, height: height, duration: durationSec, mdatBytes: mdatBytes})
}

// SampleWebM builds a minimal well-formed WebM for tests: EBML header
// (DocType webm), a Segment with Info (TimecodeScale 1 ms, Duration),
// Tracks (a VP9 video track of width×height and an Opus audio track) and
// one Cluster padded with a Void element of clusterBytes zero bytes.
func SampleWebM(width, height int, durationSec float64, clusterBytes int) []byte {
	return buildWebM(webmSpec{width: width, height: height, duration: durationSec, clusterBytes: clusterBytes})
}

// mp4Spec describes a file for buildMP4. The zero values of the optional
// fields give SampleMP4's layout.
type mp4Spec struct {
	width, height int
	duration      float64 // seconds
	mdatBytes     int

	quickTime  bool   // ftyp "qt  ", QuickTime hdlr/minf style, sound description v1 with esds in wave
	noFtyp     bool   // old QuickTime: no ftyp at all
	mdatFirst  bool   // ftyp, mdat, moov instead of ftyp, moov, mdat
	largeMdat  bool   // mdat with a 64-bit largesize header
	largeMoov  bool   // moov with a 64-bit largesize header
	version1   bool   // mvhd, tkhd and mdhd version 1
	noVideo    bool   // audio track only
	noAudio    bool   // video track only
	videoType  string // sample entry fourcc, default "avc1"
	audioType  string // sample entry fourcc, default "mp4a"
	audioOTI   byte   // esds objectTypeIndication, default 0x40 (MPEG-4 audio)
	encrypted  bool   // wrap the sample entries as encv/enca with sinf/frma
	zeroTkhdWH bool   // tkhd width/height 0 (sample entry still has them)
	noMvhdDur  bool   // mvhd duration 0 (a fragmented file): use mvex/mehd
	fragments  int    // > 0: a fragmented file without mehd, media in this many moof+mdat pairs
}

const (
	movieTimescale = 1000
	videoTimescale = 90000
	audioTimescale = 48000
)

func buildMP4(s mp4Spec) []byte {
	s.width, s.height = clampDim(s.width), clampDim(s.height)
	if s.mdatBytes < 0 {
		s.mdatBytes = 0
	}
	if s.videoType == "" {
		s.videoType = "avc1"
	}
	if s.audioType == "" {
		s.audioType = "mp4a"
	}
	if s.audioOTI == 0 {
		s.audioOTI = 0x40
	}
	var ftyp []byte
	switch {
	case s.noFtyp:
	case s.quickTime:
		ftyp = mbox("ftyp", []byte("qt  "), u32(0x20050300), []byte("qt  "))
	default:
		ftyp = mbox("ftyp", []byte("isom"), u32(0x200), []byte("isomiso2avc1mp41"))
	}

	movieTicks := ticksOf(s.duration, movieTimescale)
	v1 := s.version1 || movieTicks > math.MaxUint32 || ticksOf(s.duration, videoTimescale) > math.MaxUint32
	ver := byte(0)
	if v1 {
		ver = 1
	}
	mvhdDur := movieTicks
	if s.noMvhdDur || s.fragments > 0 {
		mvhdDur = 0
	}
	mvhd := fullBox("mvhd", ver, 0,
		times(v1), u32(movieTimescale), dur(v1, mvhdDur),
		u32(0x00010000), u16(0x0100), make([]byte, 10), matrix(), make([]byte, 24), u32(3))

	moovKids := [][]byte{mvhd}
	if s.noMvhdDur && s.fragments == 0 {
		moovKids = append(moovKids, mbox("mvex",
			fullBox("mehd", ver, 0, dur(v1, movieTicks)),
			fullBox("trex", 0, 0, u32(1), u32(1), u32(0), u32(0), u32(0))))
	}
	if s.fragments > 0 {
		moovKids = append(moovKids, mbox("mvex",
			fullBox("trex", 0, 0, u32(1), u32(1), u32(0), u32(0), u32(0)),
			fullBox("trex", 0, 0, u32(2), u32(1), u32(1024), u32(0), u32(0))))
	}
	if !s.noVideo {
		moovKids = append(moovKids, videoTrak(s, v1, ver, movieTicks))
	}
	if !s.noAudio {
		moovKids = append(moovKids, audioTrak(s, v1, ver, movieTicks))
	}
	moov := mbox("moov", moovKids...)
	if s.largeMoov {
		moov = largeBox("moov", moov[8:])
	}

	var mdat []byte
	if s.largeMdat {
		mdat = largeBox("mdat", make([]byte, s.mdatBytes))
	} else {
		mdat = mbox("mdat", make([]byte, s.mdatBytes))
	}
	if s.fragments > 0 {
		return concat(ftyp, moov, fragments(s))
	}
	if s.mdatFirst {
		return concat(ftyp, mdat, moov)
	}
	return concat(ftyp, moov, mdat)
}

// fragments builds s.fragments moof+mdat pairs: the video track's runs have
// per-sample durations adding up to the movie's duration (at 90 kHz), with a
// tfdt on every other fragment; the audio track's runs use the trex default
// sample duration (1024 at 48 kHz) and end no later than the video.
func fragments(s mp4Spec) []byte {
	const perFrag = 10 // video samples per fragment
	vTotal := ticksOf(s.duration, videoTimescale)
	aTotal := ticksOf(s.duration, audioTimescale)
	n := uint64(s.fragments)
	var out []byte
	var vStart uint64
	for i := range n {
		vEnd := vTotal * (i + 1) / n
		var durs []byte
		for k := range uint64(perFrag) {
			a, b := vStart+(vEnd-vStart)*k/perFrag, vStart+(vEnd-vStart)*(k+1)/perFrag
			durs = append(durs, u32(uint32(b-a))...)
		}
		video := [][]byte{fullBox("tfhd", 0, 0x020000, u32(1))}
		if i%2 == 0 {
			video = append(video, fullBox("tfdt", 1, 0, u64(vStart)))
		}
		video = append(video, fullBox("trun", 0, 0x000100, u32(perFrag), durs))
		aCount := (aTotal*(i+1)/n)/1024 - (aTotal*i/n)/1024
		audio := mbox("traf", fullBox("tfhd", 0, 0x020000, u32(2)), fullBox("trun", 0, 0x000200, u32(uint32(aCount)), make([]byte, 4*aCount)))
		out = append(out, mbox("moof", fullBox("mfhd", 0, 0, u32(uint32(i+1))), mbox("traf", video...), audio)...)
		out = append(out, mbox("mdat", make([]byte, s.mdatBytes/int(n)))...)
		vStart = vEnd
	}
	return out
}

func videoTrak(s mp4Spec, v1 bool, ver byte, movieTicks uint64) []byte {
	trackTicks := ticksOf(s.duration, videoTimescale)
	if s.fragments > 0 { // all samples are in the fragments
		trackTicks, movieTicks = 0, 0
	}
	w, h := s.width, s.height
	if s.zeroTkhdWH {
		w, h = 0, 0
	}
	tkhd := fullBox("tkhd", ver, 3,
		times(v1), u32(1), u32(0), dur(v1, movieTicks), make([]byte, 8),
		u16(0), u16(0), u16(0), u16(0), matrix(), u32(uint32(w)<<16), u32(uint32(h)<<16))
	mdhd := fullBox("mdhd", ver, 0, times(v1), u32(videoTimescale),
		dur(v1, trackTicks), u16(0x55C4), u16(0))

	entry := concat(
		make([]byte, 6), u16(1), // reserved, data_reference_index
		u16(0), u16(0), make([]byte, 12), // pre_defined, reserved, pre_defined
		u16(uint16(s.width)), u16(uint16(s.height)),
		u32(0x00480000), u32(0x00480000), u32(0), u16(1), // 72 dpi, reserved, frame_count
		compressorName("ikq"), u16(0x0018), u16(0xFFFF),
		mbox("avcC", avcC(s.width, s.height)),
	)
	fourcc := s.videoType
	if s.encrypted {
		entry = append(entry, sinf(fourcc)...)
		fourcc = "encv"
	}
	minf := [][]byte{fullBox("vmhd", 0, 1, u16(0), make([]byte, 6))}
	if s.quickTime {
		minf = append(minf, qtHdlr("dhlr", "alis", "ikq alias handler"))
	}
	minf = append(minf, dinf(), stbl(mbox(fourcc, entry)))
	return mbox("trak", tkhd, mbox("mdia", mdhd, hdlr(s, "vide", "ikq video"), mbox("minf", minf...)))
}

func audioTrak(s mp4Spec, v1 bool, ver byte, movieTicks uint64) []byte {
	trackTicks := ticksOf(s.duration, audioTimescale)
	if s.fragments > 0 { // all samples are in the fragments
		trackTicks, movieTicks = 0, 0
	}
	tkhd := fullBox("tkhd", ver, 3,
		times(v1), u32(2), u32(0), dur(v1, movieTicks), make([]byte, 8),
		u16(0), u16(1), u16(0x0100), u16(0), matrix(), u32(0), u32(0))
	mdhd := fullBox("mdhd", ver, 0, times(v1), u32(audioTimescale),
		dur(v1, trackTicks), u16(0x55C4), u16(0))

	esds := fullBox("esds", 0, 0, descr(3, concat(u16(2), []byte{0}, // ES_ID, flags
		descr(4, concat([]byte{s.audioOTI, 0x15}, []byte{0, 0x03, 0x00}, u32(128000), u32(128000),
			descr(5, []byte{0x11, 0x90}))), // AAC-LC, 48 kHz, stereo
		descr(6, []byte{2}))))
	var entry []byte
	if s.quickTime {
		// QuickTime sound description version 1, codec config inside a wave atom.
		entry = concat(make([]byte, 6), u16(1),
			u16(1), u16(0), u32(0), // version 1, revision, vendor
			u16(2), u16(16), u16(0xFFFE), u16(0), u32(audioTimescale<<16),
			u32(1024), u32(0), u32(0), u32(2), // samples/packet, bytes/packet, bytes/frame, bytes/sample
			mbox("wave", mbox("frma", []byte(s.audioType)), mbox("mp4a", u32(0)), esds, u32(8), u32(0)))
	} else {
		entry = concat(make([]byte, 6), u16(1), make([]byte, 8),
			u16(2), u16(16), u16(0), u16(0), u32(audioTimescale<<16), esds)
	}
	fourcc := s.audioType
	if s.encrypted {
		entry = append(entry, sinf(fourcc)...)
		fourcc = "enca"
	}
	minf := [][]byte{fullBox("smhd", 0, 0, u16(0), u16(0))}
	if s.quickTime {
		minf = append(minf, qtHdlr("dhlr", "alis", "ikq alias handler"))
	}
	minf = append(minf, dinf(), stbl(mbox(fourcc, entry)))
	return mbox("trak", tkhd, mbox("mdia", mdhd, hdlr(s, "soun", "ikq audio"), mbox("minf", minf...)))
}

func hdlr(s mp4Spec, handler, name string) []byte {
	if s.quickTime {
		return qtHdlr("mhlr", handler, name)
	}
	return fullBox("hdlr", 0, 0, u32(0), []byte(handler), make([]byte, 12), []byte(name), []byte{0})
}

// qtHdlr is a QuickTime handler reference: component type and subtype,
// manufacturer, flags, flags mask, and a counted (Pascal) name.
func qtHdlr(componentType, subtype, name string) []byte {
	return fullBox("hdlr", 0, 0, []byte(componentType), []byte(subtype), make([]byte, 12),
		[]byte{byte(len(name))}, []byte(name))
}

func dinf() []byte {
	return mbox("dinf", fullBox("dref", 0, 0, u32(1), fullBox("url ", 0, 1)))
}

func stbl(entry []byte) []byte {
	return mbox("stbl",
		fullBox("stsd", 0, 0, u32(1), entry),
		fullBox("stts", 0, 0, u32(0)),
		fullBox("stsc", 0, 0, u32(0)),
		fullBox("stsz", 0, 0, u32(0), u32(0)),
		fullBox("stco", 0, 0, u32(0)))
}

func sinf(original string) []byte {
	return mbox("sinf",
		mbox("frma", []byte(original)),
		fullBox("schm", 0, 0, []byte("cenc"), u32(0x00010000)),
		mbox("schi", fullBox("tenc", 0, 0, make([]byte, 4+16+4))))
}

// avcC is an AVCDecoderConfigurationRecord with one SPS (Baseline, level
// 3.0, sized and cropped to width×height) and one PPS.
func avcC(width, height int) []byte {
	sps, pps := h264SPS(width, height), h264PPS()
	return concat([]byte{1, sps[1], sps[2], sps[3], 0xFF, 0xE1},
		u16(uint16(len(sps))), sps, []byte{1}, u16(uint16(len(pps))), pps)
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

func descr(tag byte, body []byte) []byte {
	n := len(body)
	return concat([]byte{tag, 0x80 | byte(n>>21&0x7F), 0x80 | byte(n>>14&0x7F), 0x80 | byte(n>>7&0x7F), byte(n & 0x7F)}, body)
}

func compressorName(name string) []byte {
	b := make([]byte, 32)
	b[0] = byte(copy(b[1:], name))
	return b
}

func matrix() []byte {
	return concat(u32(0x00010000), u32(0), u32(0), u32(0), u32(0x00010000), u32(0), u32(0), u32(0), u32(0x40000000))
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
		return u64(d)
	}
	return u32(uint32(d))
}

func ticksOf(seconds float64, timescale uint64) uint64 {
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

func mbox(typ string, payload ...[]byte) []byte {
	body := concat(payload...)
	return concat(u32(uint32(8+len(body))), []byte(typ), body)
}

func largeBox(typ string, body []byte) []byte {
	return concat(u32(1), []byte(typ), u64(uint64(16+len(body))), body)
}

func fullBox(typ string, version byte, flags uint32, payload ...[]byte) []byte {
	return mbox(typ, append([][]byte{{version, byte(flags >> 16), byte(flags >> 8), byte(flags)}}, payload...)...)
}

func concat(parts ...[]byte) []byte {
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

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// webmSpec describes a file for buildWebM.
type webmSpec struct {
	width, height int
	duration      float64 // seconds; 0 writes no Duration
	clusterBytes  int
	videoCodec    string // CodecID, default V_VP9
	audioCodec    string // CodecID, default A_OPUS
	noVideo       bool
	unknownSizes  bool // Segment and Cluster of unknown size, like a live recording
	tracksFirst   bool // Tracks before Info
	float32Dur    bool // 4-byte Duration
}

func buildWebM(s webmSpec) []byte {
	if s.clusterBytes < 0 {
		s.clusterBytes = 0
	}
	if s.videoCodec == "" {
		s.videoCodec = "V_VP9"
	}
	if s.audioCodec == "" {
		s.audioCodec = "A_OPUS"
	}
	header := ebmlElem(idEBML,
		ebmlElem(0x4286, ebmlU(1)), ebmlElem(0x42F7, ebmlU(1)), // EBMLVersion, EBMLReadVersion
		ebmlElem(0x42F2, ebmlU(4)), ebmlElem(0x42F3, ebmlU(8)), // EBMLMaxIDLength, EBMLMaxSizeLength
		ebmlElem(idDocType, []byte("webm")),
		ebmlElem(0x4287, ebmlU(4)), ebmlElem(0x4285, ebmlU(2))) // DocTypeVersion, DocTypeReadVersion

	info := [][]byte{ebmlElem(idTimecodeScale, ebmlU(1000000)),
		ebmlElem(0x4D80, []byte("ikq")), ebmlElem(0x5741, []byte("ikq"))} // MuxingApp, WritingApp
	if s.duration > 0 {
		ms := s.duration * 1000
		if s.float32Dur {
			info = append(info, ebmlElem(idDuration, u32(math.Float32bits(float32(ms)))))
		} else {
			info = append(info, ebmlElem(idDuration, u64(math.Float64bits(ms))))
		}
	}
	var entries [][]byte
	if !s.noVideo {
		entries = append(entries, ebmlElem(idTrackEntry,
			ebmlElem(0xD7, ebmlU(1)), ebmlElem(0x73C5, ebmlU(1)), // TrackNumber, TrackUID
			ebmlElem(idTrackType, ebmlU(1)), ebmlElem(idCodecID, []byte(s.videoCodec)),
			ebmlElem(idVideo, ebmlElem(idPixelWidth, ebmlU(uint64(max(s.width, 0)))),
				ebmlElem(idPixelHeight, ebmlU(uint64(max(s.height, 0)))))))
	}
	opusHead := concat([]byte("OpusHead"), []byte{1, 2}, binary.LittleEndian.AppendUint16(nil, 312),
		binary.LittleEndian.AppendUint32(nil, 48000), []byte{0, 0, 0})
	entries = append(entries, ebmlElem(idTrackEntry,
		ebmlElem(0xD7, ebmlU(2)), ebmlElem(0x73C5, ebmlU(2)),
		ebmlElem(idTrackType, ebmlU(2)), ebmlElem(idCodecID, []byte(s.audioCodec)),
		ebmlElem(0x63A2, opusHead), // CodecPrivate
		ebmlElem(0xE1, ebmlElem(0xB5, u64(math.Float64bits(48000))), ebmlElem(0x9F, ebmlU(2)))))

	infoEl, tracksEl := ebmlElem(idInfo, info...), ebmlElem(idTracks, entries...)
	first, second := infoEl, tracksEl
	if s.tracksFirst {
		first, second = tracksEl, infoEl
	}
	clusterBody := concat(ebmlElem(0xE7, ebmlU(0)), ebmlElem(0xEC, make([]byte, s.clusterBytes))) // Timecode, Void
	if s.unknownSizes {
		cluster := concat(ebmlID(idCluster), []byte{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, clusterBody)
		return concat(header, ebmlID(idSegment), []byte{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
			first, second, cluster)
	}
	return concat(header, ebmlElem(idSegment, first, second, ebmlElem(idCluster, clusterBody)))
}

func ebmlID(id uint64) []byte {
	switch {
	case id > 0xFFFFFF:
		return u32(uint32(id))
	case id > 0xFFFF:
		return []byte{byte(id >> 16), byte(id >> 8), byte(id)}
	case id > 0xFF:
		return u16(uint16(id))
	}
	return []byte{byte(id)}
}

// ebmlElem encodes an element with an 8-byte size.
func ebmlElem(id uint64, payload ...[]byte) []byte {
	body := concat(payload...)
	size := u64(uint64(len(body)))
	size[0] = 0x01
	return concat(ebmlID(id), size, body)
}

func ebmlU(v uint64) []byte {
	b := u64(v)
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return b
}
