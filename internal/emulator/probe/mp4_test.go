package probe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gabriel-vasile/mimetype"

	"github.com/ikq-dev/ikq/internal/emulator/probe/probetest"
)

func TestSampleMP4RoundTrip(t *testing.T) {
	cases := []struct {
		w, h      int
		dur       float64
		mdat      int
		wantTicks uint64 // at timescale 1000
	}{
		{1920, 1080, 10, 1 << 20, 10000},
		{640, 360, 2.5, 0, 2500},
		{1280, 720, 10.04, 12345, 10040},
		{3840, 2160, 3600, 100000, 3600000},
		{1, 1, 0.001, 10, 1},
		{720, 1280, 1.0 / 3, 999, 333}, // portrait; duration rounded to the timescale
		{65535, 65535, 7, 1, 7000},
		{320, 240, 0, 100, 0}, // no duration: no bit rate
	}
	for _, c := range cases {
		b := probetest.SampleMP4(c.w, c.h, c.dur, c.mdat)
		got, err := MP4(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%dx%d %gs: %v", c.w, c.h, c.dur, err)
		}
		want := Video{
			Width: c.w, Height: c.h,
			Duration:   float64(c.wantTicks) / 1000,
			BitRate:    wantBitRate(int64(len(b)), c.wantTicks, 1000),
			VideoCodec: "h264", AudioCodec: "aac",
		}
		if got != want {
			t.Errorf("%dx%d %gs mdat %d:\n got %+v\nwant %+v", c.w, c.h, c.dur, c.mdat, got, want)
		}
		if c.dur == 10 && got.Duration != 10 {
			t.Errorf("Duration = %v, want exactly 10", got.Duration)
		}
	}
}

func TestSampleMP4Clamps(t *testing.T) {
	b := probetest.SampleMP4(-5, 70000, -1, -10)
	got, err := MP4(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Width != 0 || got.Height != 65535 || got.Duration != 0 || got.BitRate != 0 {
		t.Errorf("got %+v", got)
	}
}

func TestMP4Variants(t *testing.T) {
	base := probetest.MP4Spec{Width: 1280, Height: 720, Duration: 12.5, MdatBytes: 4096}
	with := func(f func(*probetest.MP4Spec)) probetest.MP4Spec { s := base; f(&s); return s }
	full := Video{Width: 1280, Height: 720, Duration: 12.5, VideoCodec: "h264", AudioCodec: "aac"}
	cases := []struct {
		name    string
		spec    probetest.MP4Spec
		want    Video
		wantErr error
	}{
		{"default", base, full, nil},
		{"mdat before moov", with(func(s *probetest.MP4Spec) { s.MdatFirst = true }), full, nil},
		{"largesize mdat", with(func(s *probetest.MP4Spec) { s.LargeMdat = true }), full, nil},
		{"largesize mdat first", with(func(s *probetest.MP4Spec) { s.LargeMdat, s.MdatFirst = true, true }), full, nil},
		{"largesize moov", with(func(s *probetest.MP4Spec) { s.LargeMoov = true }), full, nil},
		{"version 1 headers", with(func(s *probetest.MP4Spec) { s.Version1 = true }), full, nil},
		{"quicktime", with(func(s *probetest.MP4Spec) { s.QuickTime = true }), full, nil},
		{"quicktime mdat first", with(func(s *probetest.MP4Spec) { s.QuickTime, s.MdatFirst = true, true }), full, nil},
		{"quicktime without ftyp", with(func(s *probetest.MP4Spec) { s.QuickTime, s.NoFtyp = true, true }), full, nil},
		{"tkhd without size", with(func(s *probetest.MP4Spec) { s.ZeroTkhdWH = true }), full, nil},
		{"fragmented: duration in mehd", with(func(s *probetest.MP4Spec) { s.NoMvhdDur = true }), full, nil},
		{"fragmented v1", with(func(s *probetest.MP4Spec) { s.NoMvhdDur, s.Version1 = true, true }), full, nil},
		{"encrypted", with(func(s *probetest.MP4Spec) { s.Encrypted = true }), full, nil},
		{"video only", with(func(s *probetest.MP4Spec) { s.NoAudio = true }),
			Video{Width: 1280, Height: 720, Duration: 12.5, VideoCodec: "h264"}, nil},
		{"audio only", with(func(s *probetest.MP4Spec) { s.NoVideo = true }),
			Video{Duration: 12.5, AudioCodec: "aac"}, ErrNotVideo},
		{"hvc1", with(func(s *probetest.MP4Spec) { s.VideoType = "hvc1" }), with2(full, "hevc", "aac"), nil},
		{"hev1", with(func(s *probetest.MP4Spec) { s.VideoType = "hev1" }), with2(full, "hevc", "aac"), nil},
		{"avc3", with(func(s *probetest.MP4Spec) { s.VideoType = "avc3" }), with2(full, "h264", "aac"), nil},
		{"vp09 opus", with(func(s *probetest.MP4Spec) { s.VideoType, s.AudioType = "vp09", "Opus" }), with2(full, "vp9", "opus"), nil},
		{"av01", with(func(s *probetest.MP4Spec) { s.VideoType = "av01" }), with2(full, "av1", "aac"), nil},
		{"mp4v", with(func(s *probetest.MP4Spec) { s.VideoType = "mp4v" }), with2(full, "mp4v", "aac"), nil},
		{"prores", with(func(s *probetest.MP4Spec) { s.VideoType, s.QuickTime = "apcn", true }), with2(full, "prores", "aac"), nil},
		{"unknown fourcc", with(func(s *probetest.MP4Spec) { s.VideoType = "XyZ9" }), with2(full, "xyz9", "aac"), nil},
		{"encrypted hevc", with(func(s *probetest.MP4Spec) { s.VideoType, s.Encrypted = "hvc1", true }), with2(full, "hevc", "aac"), nil},
		{"mp3 in mp4a", with(func(s *probetest.MP4Spec) { s.AudioOTI = 0x6B }), with2(full, "h264", "mp3"), nil},
		{"mp3 in mp4a, quicktime wave", with(func(s *probetest.MP4Spec) { s.AudioOTI, s.QuickTime = 0x6B, true }), with2(full, "h264", "mp3"), nil},
		{"mpeg-2 aac", with(func(s *probetest.MP4Spec) { s.AudioOTI = 0x67 }), with2(full, "h264", "aac"), nil},
		{".mp3", with(func(s *probetest.MP4Spec) { s.AudioType = ".mp3" }), with2(full, "h264", "mp3"), nil},
		{"ac-3", with(func(s *probetest.MP4Spec) { s.AudioType = "ac-3" }), with2(full, "h264", "ac3"), nil},
		{"ec-3", with(func(s *probetest.MP4Spec) { s.AudioType = "ec-3" }), with2(full, "h264", "eac3"), nil},
		{"flac", with(func(s *probetest.MP4Spec) { s.AudioType = "fLaC" }), with2(full, "h264", "flac"), nil},
		{"pcm", with(func(s *probetest.MP4Spec) { s.AudioType, s.QuickTime = "sowt", true }), with2(full, "h264", "pcm_s16le"), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := probetest.BuildMP4(c.spec)
			got, err := MP4(bytes.NewReader(b), int64(len(b)))
			if c.wantErr == nil && err != nil || c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			want := c.want
			want.BitRate = wantBitRate(int64(len(b)), 12500, 1000)
			if got != want {
				t.Errorf("\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func with2(v Video, video, audio string) Video {
	v.VideoCodec, v.AudioCodec = video, audio
	return v
}

// A 6 GiB mdat before moov, announced with a 64-bit largesize, is seeked
// over: the whole probe reads a few hundred bytes.
func TestMP4HugeMdatLargesize(t *testing.T) {
	const mdat = 6 << 30
	for _, qt := range []bool{false, true} {
		f := hugeMdatMP4(t, probetest.MP4Spec{Width: 3840, Height: 2160, Duration: 600, MdatFirst: true, QuickTime: qt}, mdat)
		got, err := f.probe()
		if err != nil {
			t.Fatal(err)
		}
		want := Video{Width: 3840, Height: 2160, Duration: 600, VideoCodec: "h264", AudioCodec: "aac",
			BitRate: wantBitRate(f.size, 600000, 1000)}
		if got != want {
			t.Errorf("\n got %+v\nwant %+v", got, want)
		}
		if got.BitRate < 80_000_000 { // 6 GiB over 10 minutes
			t.Errorf("BitRate %d too low", got.BitRate)
		}
		if f.total > 4096 || f.reads > 100 {
			t.Errorf("read %d bytes in %d calls; want the mdat skipped", f.total, f.reads)
		}
	}
}

// With moov first, nothing after moov is read, not even the mdat header.
func TestMP4StopsAfterMoov(t *testing.T) {
	f := hugeMdatMP4(t, probetest.MP4Spec{Width: 640, Height: 480, Duration: 1}, 100<<20)
	if _, err := f.probe(); err != nil {
		t.Fatal(err)
	}
	if f.total > 2048 {
		t.Errorf("read %d bytes", f.total)
	}
}

// Durations needing 64-bit headers (over 2^32 ticks of the 90 kHz video
// timescale) round-trip.
func TestMP4LongDuration(t *testing.T) {
	const d = 100000 // seconds: 9e9 ticks at 90 kHz
	b := probetest.SampleMP4(1920, 1080, d, 0)
	got, err := MP4(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Duration != d || got.BitRate != wantBitRate(int64(len(b)), d*1000, 1000) {
		t.Errorf("got %+v", got)
	}
}

// The fixture's avcC SPS encodes the dimensions (checked with a small
// Exp-Golomb reader).
func TestSampleMP4SPS(t *testing.T) {
	for _, wh := range [][2]int{{1920, 1080}, {1280, 720}, {640, 360}, {1, 1}, {1366, 767}, {176, 144}} {
		b := probetest.SampleMP4(wh[0], wh[1], 1, 0)
		at := findBox(t, b, "avcC")
		rec := b[at+8:]
		n := int(binary.BigEndian.Uint16(rec[6:8]))
		sps := unescapeNAL(rec[8 : 8+n])
		w, h := parseSPSSize(t, sps)
		// Cropping is in 2-pixel units: odd sizes round up to even.
		if wantW, wantH := (wh[0]+1)&^1, (wh[1]+1)&^1; w != wantW || h != wantH {
			t.Errorf("SPS for %v decodes to %dx%d, want %dx%d", wh, w, h, wantW, wantH)
		}
	}
}

func unescapeNAL(b []byte) []byte {
	var out []byte
	zeros := 0
	for _, c := range b[1:] { // skip the NAL header
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
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

func parseSPSSize(t *testing.T, sps []byte) (w, h int) {
	pos := 0
	bit := func() uint {
		if pos/8 >= len(sps) {
			t.Fatal("SPS too short")
		}
		v := uint(sps[pos/8]>>(7-pos%8)) & 1
		pos++
		return v
	}
	bitsN := func(n int) uint {
		var v uint
		for range n {
			v = v<<1 | bit()
		}
		return v
	}
	ue := func() uint {
		z := 0
		for bit() == 0 {
			z++
		}
		return (1<<z - 1) + bitsN(z)
	}
	if p := bitsN(8); p != 66 {
		t.Fatalf("profile %d", p)
	}
	bitsN(16)
	ue()
	ue()
	if ue() != 2 {
		t.Fatal("pic_order_cnt_type")
	}
	ue()
	bit()
	mbW, mbH := ue()+1, ue()+1
	if bit() != 1 {
		t.Fatal("frame_mbs_only")
	}
	bit()
	w, h = int(mbW*16), int(mbH*16)
	if bit() == 1 {
		l, r, tp, bm := ue(), ue(), ue(), ue()
		w -= int(2 * (l + r))
		h -= int(2 * (tp + bm))
	}
	return w, h
}

func TestMimetypeDetects(t *testing.T) {
	cases := []struct {
		b    []byte
		want string
	}{
		{probetest.SampleMP4(1920, 1080, 10, 1000), "video/mp4"},
		{probetest.SampleMP4(16, 16, 0.1, 0), "video/mp4"},
		{probetest.BuildMP4(probetest.MP4Spec{Width: 640, Height: 480, Duration: 2, QuickTime: true}), "video/quicktime"},
		{probetest.SampleWebM(640, 480, 2, 1000), "video/webm"},
	}
	for _, c := range cases {
		if got := mimetype.Detect(c.b); !got.Is(c.want) {
			t.Errorf("mimetype.Detect = %s, want %s", got, c.want)
		}
	}
}

// Every prefix of a small file gives an error or a result, never a panic;
// a prefix that cuts into moov (or anything before it) is an error.
func TestMP4Truncated(t *testing.T) {
	specs := []probetest.MP4Spec{
		{Width: 320, Height: 240, Duration: 3, MdatBytes: 64},
		{Width: 320, Height: 240, Duration: 3, MdatBytes: 64, MdatFirst: true, LargeMdat: true},
		{Width: 320, Height: 240, Duration: 3, MdatBytes: 64, QuickTime: true, Version1: true},
		{Width: 320, Height: 240, Duration: 3, MdatBytes: 64, Encrypted: true, NoMvhdDur: true},
	}
	for i, s := range specs {
		b := probetest.BuildMP4(s)
		moov := findTopBox(t, b, "moov")
		moovEnd := moov + int(binary.BigEndian.Uint32(b[moov:]))
		full, err := MP4(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(b); n++ {
			got, err := MP4(bytes.NewReader(b[:n]), int64(n))
			if n < moovEnd {
				if err == nil {
					t.Fatalf("spec %d: prefix %d of %d (moov ends at %d): no error, got %+v", i, n, len(b), moovEnd, got)
				}
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotVideo) {
					t.Fatalf("spec %d: prefix %d: error %v wraps neither sentinel", i, n, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("spec %d: prefix %d (after moov): %v", i, n, err)
			}
			full.BitRate = wantBitRate(int64(n), 3000, 1000)
			if got != full {
				t.Fatalf("spec %d: prefix %d: got %+v want %+v", i, n, got, full)
			}
		}
		// The same prefixes, with the reader holding the whole file but the
		// caller announcing fewer bytes.
		for n := 0; n < moovEnd; n++ {
			if _, err := MP4(bytes.NewReader(b), int64(n)); err == nil {
				t.Fatalf("spec %d: size %d: no error", i, n)
			}
		}
	}
}

func TestMP4Garbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := [][]byte{
		nil,
		{0},
		[]byte("ftyp"),
		[]byte("hello, world: this is not a video file at all\n"),
		[]byte(strings.Repeat("\x00", 4096)),
		[]byte(strings.Repeat("\xff", 4096)),
		{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'},
		{0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0},
		[]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00"),
		[]byte("<?xml version=\"1.0\"?><svg/>"),
		probetest.SampleWebM(320, 240, 1, 10),                    // not ISO BMFF
		{0, 0, 0, 7, 'f', 't', 'y', 'p'},                         // size below the header
		{0, 0, 0, 1, 'm', 'd', 'a', 't', 0, 0, 0, 0, 0, 0, 0, 8}, // largesize below 16
		{0, 0, 0, 1, 'm', 'd', 'a', 't', 0xff, 0, 0, 0, 0, 0, 0, 0},
		{0, 0, 0, 8, 'f', 't', 0x01, 'p'}, // unprintable type
	}
	for i := 0; i < 2000; i++ {
		b := make([]byte, rng.IntN(2048))
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		inputs = append(inputs, b)
	}
	for i, b := range inputs {
		_, err := MP4(bytes.NewReader(b), int64(len(b)))
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("input %d (%q…): err = %v, want ErrMalformed", i, b[:min(len(b), 16)], err)
		}
	}
	if _, err := MP4(bytes.NewReader(nil), -1); !errors.Is(err, ErrMalformed) {
		t.Errorf("negative size: %v", err)
	}
}

// A well-formed ISO file without moov (say a HEIF image) is not a video.
func TestMP4NoMoov(t *testing.T) {
	b := probetest.Concat(probetest.Box("ftyp", []byte("heic"), probetest.U32(0), []byte("mif1heic")),
		probetest.FullBox("meta", 0, 0, probetest.FullBox("hdlr", 0, 0, probetest.U32(0), []byte("pict"), make([]byte, 13))),
		probetest.Box("mdat", make([]byte, 100)))
	if _, err := MP4(bytes.NewReader(b), int64(len(b))); !errors.Is(err, ErrNotVideo) {
		t.Errorf("err = %v, want ErrNotVideo", err)
	}
}

// Corrupting single fields inside moov gives ErrMalformed, not a panic.
func TestMP4CorruptFields(t *testing.T) {
	base := probetest.BuildMP4(probetest.MP4Spec{Width: 640, Height: 480, Duration: 5, MdatBytes: 16})
	put32 := func(b []byte, at int, v uint32) { binary.BigEndian.PutUint32(b[at:], v) }
	cases := []struct {
		name   string
		mutate func(b []byte)
	}{
		{"moov child overruns moov", func(b []byte) { put32(b, findBox(t, b, "trak"), 0x7FFFFFFF) }},
		{"moov child below header size", func(b []byte) { put32(b, findBox(t, b, "trak"), 3) }},
		{"mvhd version 7", func(b []byte) { b[findBox(t, b, "mvhd")+8] = 7 }},
		{"mvhd too short", func(b []byte) { shrinkBox(b, findBox(t, b, "mvhd"), 12) }},
		{"tkhd too short", func(b []byte) { shrinkBox(b, findBox(t, b, "tkhd"), 40) }},
		{"tkhd v1 in a v0-sized box", func(b []byte) { b[findBox(t, b, "tkhd")+8] = 1 }},
		{"hdlr too short", func(b []byte) { shrinkBox(b, findBox(t, b, "hdlr"), 14) }},
		{"stsd entry overruns stsd", func(b []byte) { put32(b, findBox(t, b, "stsd")+16, 0x10000) }},
		{"stsd entry below header size", func(b []byte) { put32(b, findBox(t, b, "stsd")+16, 4) }},
		{"stsd too short", func(b []byte) { shrinkBox(b, findBox(t, b, "stsd"), 12) }},
		{"cmov", func(b []byte) { copy(b[findBox(t, b, "mvhd")+4:], "cmov") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := bytes.Clone(base)
			c.mutate(b)
			if _, err := MP4(bytes.NewReader(b), int64(len(b))); !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

// shrinkBox turns the box at off into one of n bytes followed by a free box
// covering the rest, so the enclosing boxes stay consistent.
func shrinkBox(b []byte, off, n int) {
	old := int(binary.BigEndian.Uint32(b[off:]))
	binary.BigEndian.PutUint32(b[off:], uint32(n))
	binary.BigEndian.PutUint32(b[off+n:], uint32(old-n))
	copy(b[off+n+4:], "free")
}

// Boxes whose contents the probe does not interpret are skipped, whatever
// they hold; sizes of 0 inside moov reach the end of the parent.
func TestMP4Tolerates(t *testing.T) {
	s := probetest.MP4Spec{Width: 640, Height: 480, Duration: 5}
	b := probetest.BuildMP4(s)
	moov := findTopBox(t, b, "moov")
	// Append a udta with a QuickTime zero terminator, and a trailing 4 bytes
	// inside moov; then a free box of size 0 (to end of file) at top level.
	extra := probetest.Concat(probetest.Box("udta", probetest.Box("\xa9nam", []byte("x")), probetest.U32(0)), probetest.U32(0))
	mdat := findTopBox(t, b, "mdat")
	binary.BigEndian.PutUint32(b[moov:], binary.BigEndian.Uint32(b[moov:])+uint32(len(extra)))
	b = probetest.Concat(b[:mdat], extra, b[mdat:], probetest.U32(0), []byte("free"), make([]byte, 50))
	got, err := MP4(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Width != 640 || got.Duration != 5 || got.VideoCodec != "h264" || got.AudioCodec != "aac" {
		t.Errorf("got %+v", got)
	}
	// mdat first, to end of file with size 0: moov is never reached.
	b2 := probetest.Concat(probetest.Box("ftyp", []byte("isom"), probetest.U32(0)), probetest.U32(0), []byte("mdat"), make([]byte, 100))
	if _, err := MP4(bytes.NewReader(b2), int64(len(b2))); !errors.Is(err, ErrNotVideo) {
		t.Errorf("moov-less file: %v", err)
	}
}

// Millions of tiny boxes are refused after the box budget, quickly.
func TestMP4BoxBudget(t *testing.T) {
	free := probetest.Box("free")
	n := maxNodes + 10
	b := make([]byte, 0, n*len(free))
	for range n {
		b = append(b, free...)
	}
	if _, err := MP4(bytes.NewReader(b), int64(len(b))); !errors.Is(err, ErrMalformed) {
		t.Errorf("err = %v", err)
	}
	// Inside moov too.
	moov := probetest.Box("moov", bytes.Repeat(probetest.Box("trak", probetest.Box("free")), maxNodes))
	if _, err := MP4(bytes.NewReader(moov), int64(len(moov))); !errors.Is(err, ErrMalformed) {
		t.Errorf("err = %v", err)
	}
}

// A huge stsd (claimed 1 GiB, virtual zeros) costs one read capped at
// 1 MiB, and an stsd entry bigger than that cap is read as far as the cap.
func TestMP4AllocationCap(t *testing.T) {
	stsdHead := probetest.Concat(probetest.U32(0), []byte("stsd"), []byte{0, 0, 0, 0}, probetest.U32(1), probetest.U32(0), []byte("avc1"))
	const huge = 1 << 30
	binary.BigEndian.PutUint32(stsdHead[0:], huge)
	binary.BigEndian.PutUint32(stsdHead[16:], huge-16)
	sizes := func(body int64) []byte { return probetest.U32(uint32(body)) }
	hdlrBox := probetest.FullBox("hdlr", 0, 0, probetest.U32(0), []byte("vide"), make([]byte, 13))
	tkhd := probetest.FullBox("tkhd", 0, 3, make([]byte, 72), probetest.U32(100<<16), probetest.U32(50<<16))
	mvhd := probetest.FullBox("mvhd", 0, 0, make([]byte, 8), probetest.U32(1000), probetest.U32(2000), make([]byte, 80))
	// moov > trak > mdia > minf > stbl > stsd(huge)
	stbl := int64(8) + huge
	minf := 8 + stbl
	mdia := 8 + int64(len(hdlrBox)) + minf
	trak := 8 + int64(len(tkhd)) + mdia
	moov := 8 + int64(len(mvhd)) + trak
	head := probetest.Concat(
		sizes(moov), []byte("moov"), mvhd,
		sizes(trak), []byte("trak"), tkhd,
		sizes(mdia), []byte("mdia"), hdlrBox,
		sizes(minf), []byte("minf"),
		sizes(stbl), []byte("stbl"),
		stsdHead)
	f := newFile(bytesPart(head), zerosPart(moov-int64(len(head))))
	got, err := f.probe()
	if err != nil {
		t.Fatal(err)
	}
	if f.largest > maxAlloc {
		t.Errorf("largest read %d bytes", f.largest)
	}
	if got.Width != 100 || got.Height != 50 || got.VideoCodec != "h264" || got.Duration != 2 {
		t.Errorf("got %+v", got)
	}
}

func TestMP4ReadError(t *testing.T) {
	b := probetest.SampleMP4(640, 480, 1, 10)
	f := memFile(b)
	f.failAt = int64(findBox(t, b, "stsd") + 10)
	_, err := f.probe()
	if !errors.Is(err, errIO) || errors.Is(err, ErrMalformed) {
		t.Errorf("err = %v, want the reader's error, not ErrMalformed", err)
	}
}

func TestBitRate(t *testing.T) {
	cases := []struct {
		size             int64
		ticks, timescale uint64
		want             int64
	}{
		{1000, 1000, 1000, 8000},
		{1000, 3, 1, 2666},
		{0, 1, 1, 0},
		{-1, 1, 1, 0},
		{1, 0, 1, 0},
		{1, 1, 0, 0},
		{math.MaxInt64, 1, math.MaxUint32, math.MaxInt64},
		{math.MaxInt64, math.MaxUint64, 1, 3},
		{1 << 40, 1 << 20, 1 << 20, 1 << 43},
		{1, 1, math.MaxUint64, 0},
	}
	for _, c := range cases {
		if got := bitRate(c.size, c.ticks, c.timescale); got != c.want {
			t.Errorf("bitRate(%d, %d, %d) = %d, want %d", c.size, c.ticks, c.timescale, got, c.want)
		}
	}
}

func TestProbeDispatch(t *testing.T) {
	mp4 := probetest.SampleMP4(640, 480, 2, 100)
	webm := probetest.SampleWebM(640, 480, 2, 100)
	for _, b := range [][]byte{mp4, webm} {
		v, err := Probe(bytes.NewReader(b), int64(len(b)))
		if err != nil || v.Width != 640 || v.Height != 480 || v.Duration != 2 {
			t.Errorf("Probe = %+v, %v", v, err)
		}
	}
	if _, err := Probe(bytes.NewReader([]byte("abc")), 3); !errors.Is(err, ErrMalformed) {
		t.Errorf("short: %v", err)
	}
}

// The ES_Descriptor's optional fields are skipped, and the one-byte size
// form of descriptors is read as well as the four-byte one.
func TestEsdsObjectType(t *testing.T) {
	short := func(tag byte, body []byte) []byte { return probetest.Concat([]byte{tag, byte(len(body))}, body) }
	dcd := func(d func(byte, []byte) []byte, oti byte) []byte {
		return d(4, probetest.Concat([]byte{oti, 0x15, 0, 0, 0}, probetest.U32(0), probetest.U32(0), d(5, []byte{0x11, 0x90})))
	}
	entryWith := func(esdsBody []byte) []byte {
		e := probetest.Concat(make([]byte, 8), make([]byte, 6), probetest.U16(1), make([]byte, 8), probetest.U16(2), probetest.U16(16), probetest.U32(0), probetest.U32(48000<<16),
			probetest.FullBox("esds", 0, 0, esdsBody))
		binary.BigEndian.PutUint32(e, uint32(len(e)))
		copy(e[4:], "mp4a")
		return e
	}
	cases := []struct {
		name string
		esds []byte
		want int
	}{
		{"short sizes", short(3, probetest.Concat(probetest.U16(1), []byte{0}, dcd(short, 0x6B), short(6, []byte{2}))), 0x6B},
		{"long sizes", probetest.Descr(3, probetest.Concat(probetest.U16(1), []byte{0}, dcd(probetest.Descr, 0x40))), 0x40},
		{"all optional fields", short(3, probetest.Concat(probetest.U16(1), []byte{0xE0}, probetest.U16(7), []byte{3}, []byte("abc"), probetest.U16(9), dcd(short, 0xA5))), 0xA5},
		{"dependence only", short(3, probetest.Concat(probetest.U16(1), []byte{0x80}, probetest.U16(7), dcd(short, 0x69))), 0x69},
		{"other descriptor first", short(3, probetest.Concat(probetest.U16(1), []byte{0}, short(9, []byte{1, 2}), dcd(short, 0xDD))), 0xDD},
		{"no decoder config", short(3, probetest.Concat(probetest.U16(1), []byte{0}, short(6, []byte{2}))), -1},
		{"not an ES_Descriptor", short(4, []byte{0x40}), -1},
		{"truncated", short(3, probetest.Concat(probetest.U16(1), []byte{0}, dcd(short, 0x40)))[:6], -1},
		{"url overruns", short(3, probetest.Concat(probetest.U16(1), []byte{0x40}, []byte{200}, []byte("abc"))), -1},
		{"size over four bytes", []byte{3, 0x80, 0x80, 0x80, 0x80, 0x01, 0}, -1},
		{"empty", nil, -1},
	}
	for _, c := range cases {
		if got := esdsObjectType(entryWith(c.esds)); got != c.want {
			t.Errorf("%s: objectTypeIndication = %#x, want %#x", c.name, got, c.want)
		}
	}
}

// hdlr after minf (seen in some old QuickTime writers) still classifies the
// tracks correctly.
func TestMP4HdlrAfterMinf(t *testing.T) {
	b := probetest.BuildMP4(probetest.MP4Spec{Width: 640, Height: 480, Duration: 5, AudioOTI: 0x6B})
	// Rebuild each mdia with its children in the order mdhd, minf, hdlr.
	var out []byte
	for rest := b; ; {
		i := bytes.Index(rest, []byte("mdia"))
		if i < 0 {
			out = append(out, rest...)
			break
		}
		start := i - 4
		n := int(binary.BigEndian.Uint32(rest[start:]))
		kids := subBoxesOrdered(rest[start+8 : start+n])
		mdia := probetest.Box("mdia", kids["mdhd"], kids["minf"], kids["hdlr"])
		if len(mdia) != n {
			t.Fatal("rebuilt mdia changed size")
		}
		out = append(out, rest[:start]...)
		out = append(out, mdia...)
		rest = rest[start+n:]
	}
	got, err := MP4(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Width != 640 || got.VideoCodec != "h264" || got.AudioCodec != "mp3" {
		t.Errorf("got %+v", got)
	}
}

// subBoxesOrdered maps each child box type to the whole box (header included).
func subBoxesOrdered(b []byte) map[string][]byte {
	m := map[string][]byte{}
	for len(b) >= 8 {
		n := int(binary.BigEndian.Uint32(b))
		m[string(b[4:8])] = b[:n]
		b = b[n:]
	}
	return m
}

// A fragmented file without mehd gets its duration from the fragments:
// tfdt where present, else the previous fragment's end, plus trun sample
// durations (per sample, or the trex/tfhd default).
func TestMP4Fragmented(t *testing.T) {
	for _, c := range []struct {
		frags int
		dur   float64
	}{{1, 2}, {3, 10.04}, {7, 1.0 / 3}, {50, 3600}} {
		b := probetest.BuildMP4(probetest.MP4Spec{Width: 1280, Height: 720, Duration: c.dur, Fragments: c.frags, MdatBytes: 7000})
		got, err := MP4(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		ticks := probetest.TicksOf(c.dur, probetest.VideoTimescale)
		want := Video{Width: 1280, Height: 720, Duration: float64(ticks) / probetest.VideoTimescale,
			BitRate:    wantBitRate(int64(len(b)), ticks, probetest.VideoTimescale),
			VideoCodec: "h264", AudioCodec: "aac"}
		if got != want {
			t.Errorf("%d fragments of %gs:\n got %+v\nwant %+v", c.frags, c.dur, got, want)
		}
		// Truncation never panics, and a cut inside the fragments still
		// gives the moov's facts with a partial duration.
		if len(b) > 1<<16 {
			continue
		}
		moovEnd := findTopBox(t, b, "moof")
		for n := moovEnd; n < len(b); n += 7 {
			v, err := MP4(bytes.NewReader(b[:n]), int64(n))
			if err != nil || v.Width != 1280 || v.Duration > want.Duration {
				t.Fatalf("prefix %d: %+v, %v", n, v, err)
			}
		}
	}
}

// The fragment walk is only done when the duration is unknown.
func TestMP4FragmentWalkOnlyWhenNeeded(t *testing.T) {
	s := probetest.MP4Spec{Width: 640, Height: 480, Duration: 5, NoMvhdDur: true}
	f := hugeMdatMP4(t, s, 1<<30)
	if _, err := f.probe(); err != nil {
		t.Fatal(err)
	}
	if f.total > 2048 {
		t.Errorf("read %d bytes", f.total)
	}
}

func TestTrunOverrun(t *testing.T) {
	trun := probetest.FullBox("trun", 0, 0x000301, probetest.U32(1000), probetest.U32(0), make([]byte, 16))
	p := &bmff{r: bytes.NewReader(trun), size: int64(len(trun)), budget: maxNodes}
	b, err := p.header(0, p.size, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.trun(b, 0); !errors.Is(err, ErrMalformed) {
		t.Errorf("err = %v", err)
	}
	trun = probetest.FullBox("trun", 0, 0x000000, probetest.U32(math.MaxUint32))
	p = &bmff{r: bytes.NewReader(trun), size: int64(len(trun)), budget: maxNodes}
	b, _ = p.header(0, p.size, true)
	if d, err := p.trun(b, math.MaxUint32); err != nil || d != math.MaxUint32*math.MaxUint32 {
		t.Errorf("default durations: %d, %v", d, err)
	}
	if satAdd(math.MaxUint64-1, 5) != math.MaxUint64 || satAdd(2, 3) != 5 {
		t.Error("satAdd")
	}
}
