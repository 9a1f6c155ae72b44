package probe

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/ikq-dev/ikq/internal/emulator/probe/probetest"
)

func TestSampleWebMRoundTrip(t *testing.T) {
	cases := []struct {
		w, h int
		dur  float64
		pad  int
	}{
		{1920, 1080, 10, 1 << 20},
		{640, 360, 2.5, 0},
		{1280, 720, 10.04, 12345},
		{1, 1, 0.001, 1},
	}
	for _, c := range cases {
		b := probetest.SampleWebM(c.w, c.h, c.dur, c.pad)
		got, err := WebM(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		ms := c.dur * 1000
		want := Video{Width: c.w, Height: c.h, Duration: ms * 1e6 / 1e9,
			BitRate:    wantBitRate(int64(len(b)), uint64(ms*1e6+0.5), 1e9),
			VideoCodec: "vp9", AudioCodec: "opus"}
		if got != want {
			t.Errorf("\n got %+v\nwant %+v", got, want)
		}
		if c.dur == 10 && (got.Duration != 10 || got.BitRate != int64(len(b))*8/10) {
			t.Errorf("got %+v", got)
		}
	}
}

func TestWebMVariants(t *testing.T) {
	base := probetest.WebMSpec{Width: 854, Height: 480, Duration: 4, ClusterBytes: 500}
	with := func(f func(*probetest.WebMSpec)) probetest.WebMSpec { s := base; f(&s); return s }
	cases := []struct {
		name       string
		spec       probetest.WebMSpec
		want       Video
		wantErr    error
		noDuration bool
	}{
		{"default", base, Video{Width: 854, Height: 480, Duration: 4, VideoCodec: "vp9", AudioCodec: "opus"}, nil, false},
		{"tracks first", with(func(s *probetest.WebMSpec) { s.TracksFirst = true }), Video{Width: 854, Height: 480, Duration: 4, VideoCodec: "vp9", AudioCodec: "opus"}, nil, false},
		{"float32 duration", with(func(s *probetest.WebMSpec) { s.Float32Dur = true }), Video{Width: 854, Height: 480, Duration: 4, VideoCodec: "vp9", AudioCodec: "opus"}, nil, false},
		{"live recording", with(func(s *probetest.WebMSpec) { s.UnknownSizes, s.Duration = true, 0 }), Video{Width: 854, Height: 480, VideoCodec: "vp9", AudioCodec: "opus"}, nil, true},
		{"live with duration", with(func(s *probetest.WebMSpec) { s.UnknownSizes = true }), Video{Width: 854, Height: 480, Duration: 4, VideoCodec: "vp9", AudioCodec: "opus"}, nil, false},
		{"vp8 vorbis", with(func(s *probetest.WebMSpec) { s.VideoCodec, s.AudioCodec = "V_VP8", "A_VORBIS" }), Video{Width: 854, Height: 480, Duration: 4, VideoCodec: "vp8", AudioCodec: "vorbis"}, nil, false},
		{"av1", with(func(s *probetest.WebMSpec) { s.VideoCodec = "V_AV1" }), Video{Width: 854, Height: 480, Duration: 4, VideoCodec: "av1", AudioCodec: "opus"}, nil, false},
		{"mkv h264 aac", with(func(s *probetest.WebMSpec) { s.VideoCodec, s.AudioCodec = "V_MPEG4/ISO/AVC", "A_AAC" }), Video{Width: 854, Height: 480, Duration: 4, VideoCodec: "h264", AudioCodec: "aac"}, nil, false},
		{"audio only", with(func(s *probetest.WebMSpec) { s.NoVideo = true }), Video{Duration: 4, AudioCodec: "opus"}, ErrNotVideo, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := probetest.BuildWebM(c.spec)
			got, err := WebM(bytes.NewReader(b), int64(len(b)))
			if c.wantErr == nil && err != nil || c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			want := c.want
			if !c.noDuration {
				want.BitRate = int64(len(b)) * 8 / 4
			}
			if got != want {
				t.Errorf("\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// Clusters are seeked over: a 3 GiB cluster costs nothing.
func TestWebMSkipsClusters(t *testing.T) {
	b := probetest.BuildWebM(probetest.WebMSpec{Width: 640, Height: 480, Duration: 60, TracksFirst: true})
	// Put Info after a huge sized Cluster: the probe must skip over it.
	const huge = 3 << 30
	seg := bytes.Index(b, probetest.EBMLID(idSegment))
	tracks := bytes.Index(b, probetest.EBMLID(idTracks))
	info := bytes.Index(b, probetest.EBMLID(idInfo))
	cluster := bytes.Index(b, probetest.EBMLID(idCluster))
	clusterHead := probetest.Concat(probetest.EBMLID(idCluster), []byte{0x01, 0, 0, 0, 0, 0, 0, 0})
	putSize := func(h []byte, n uint64) {
		s := probetest.U64(n)
		s[0] = 0x01
		copy(h[len(h)-8:], s)
	}
	putSize(clusterHead, huge)
	infoEl := b[info:cluster]
	segHead := bytes.Clone(b[seg : seg+12])
	body := int64(cluster-tracks) - int64(len(infoEl)) + int64(len(clusterHead)) + huge + int64(len(infoEl))
	putSize(segHead, uint64(body))
	f := newFile(bytesPart(b[:seg]), bytesPart(segHead), bytesPart(b[tracks:info]),
		bytesPart(clusterHead), zerosPart(huge), bytesPart(infoEl))
	got, err := WebM(f, f.size)
	if err != nil {
		t.Fatal(err)
	}
	if got.Duration != 60 || got.Width != 640 || got.BitRate != wantBitRate(f.size, 60, 1) {
		t.Errorf("got %+v", got)
	}
	if f.total > 4096 {
		t.Errorf("read %d bytes", f.total)
	}
}

func TestWebMTruncated(t *testing.T) {
	for _, s := range []probetest.WebMSpec{
		{Width: 320, Height: 240, Duration: 3, ClusterBytes: 32},
		{Width: 320, Height: 240, Duration: 3, ClusterBytes: 32, UnknownSizes: true, TracksFirst: true},
	} {
		b := probetest.BuildWebM(s)
		for n := 0; n < len(b); n++ {
			v, err := WebM(bytes.NewReader(b[:n]), int64(n))
			if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotVideo) {
				t.Fatalf("prefix %d: %v wraps neither sentinel", n, err)
			}
			if err == nil && !s.UnknownSizes {
				t.Fatalf("prefix %d of a sized segment: no error (%+v)", n, v)
			}
		}
	}
}

func TestWebMGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	inputs := [][]byte{nil, {0x1A}, {0x1A, 0x45, 0xDF, 0xA3}, {0x1A, 0x45, 0xDF, 0xA3, 0x80},
		probetest.SampleMP4(16, 16, 1, 0), []byte("not a webm file"),
		probetest.BuildWebM(probetest.WebMSpec{})[:40], // header and a little
		probetest.Concat(probetest.EBMLElem(idEBML, probetest.EBMLElem(idDocType, []byte("xyz"))), probetest.EBMLElem(idSegment)),  // other DocType
		probetest.Concat(probetest.EBMLElem(idEBML, probetest.EBMLElem(idDocType, []byte("webm"))), probetest.EBMLElem(idSegment)), // no Tracks
		probetest.Concat(probetest.EBMLElem(idEBML, probetest.EBMLElem(idDocType, []byte("webm"))), probetest.EBMLElem(idSegment, probetest.EBMLElem(idTracks, []byte{0xAE, 0xFF}))),
	}
	for i := 0; i < 2000; i++ {
		b := make([]byte, rng.IntN(512))
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		if i%2 == 0 && len(b) >= 4 {
			copy(b, []byte{0x1A, 0x45, 0xDF, 0xA3})
		}
		inputs = append(inputs, b)
	}
	for i, b := range inputs {
		if _, err := WebM(bytes.NewReader(b), int64(len(b))); !errors.Is(err, ErrMalformed) {
			t.Errorf("input %d (% x…): err = %v, want ErrMalformed", i, b[:min(len(b), 16)], err)
		}
	}
}

func TestVint(t *testing.T) {
	cases := []struct {
		in   []byte
		keep bool
		v    uint64
		n    int
		ok   bool
	}{
		{[]byte{0x81}, false, 1, 1, true},
		{[]byte{0x81}, true, 0x81, 1, true},
		{[]byte{0x40, 0x02}, false, 2, 2, true},
		{[]byte{0x1A, 0x45, 0xDF, 0xA3}, true, 0x1A45DFA3, 4, true},
		{[]byte{0x01, 0, 0, 0, 0, 0, 0, 5}, false, 5, 8, true},
		{[]byte{0x01, 0, 0}, false, 0, 0, false},
		{[]byte{0x00, 1}, false, 0, 0, false},
		{nil, false, 0, 0, false},
	}
	for _, c := range cases {
		v, n, ok := vint(c.in, c.keep)
		if v != c.v || n != c.n || ok != c.ok {
			t.Errorf("vint(% x, %v) = %d, %d, %v", c.in, c.keep, v, n, ok)
		}
	}
	if unknownSize(1) != 0x7F || unknownSize(8) != 1<<56-1 {
		t.Error("unknownSize")
	}
}
