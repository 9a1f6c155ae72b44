package probe

import (
	"errors"
	"testing"

	"github.com/ikq-dev/ikq/internal/emulator/probe/probetest"
)

// fuzzInput is data followed by pad virtual zero bytes, so the fuzzer can
// announce large sizes (up to 4 GiB) without allocating them.
func fuzzInput(data []byte, pad uint32) *file {
	return newFile(bytesPart(data), zerosPart(int64(pad)))
}

func checkResult(t *testing.T, f *file, v Video, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotVideo) {
		t.Fatalf("error %v wraps neither sentinel", err)
	}
	if f.largest > maxAlloc {
		t.Fatalf("read %d bytes at once (cap %d)", f.largest, maxAlloc)
	}
	if f.reads > 4*maxNodes {
		t.Fatalf("%d reads", f.reads)
	}
	if v.Width < 0 || v.Height < 0 || v.Duration < 0 || v.BitRate < 0 || v.Duration != v.Duration {
		t.Fatalf("nonsense result %+v", v)
	}
}

func FuzzMP4(f *testing.F) {
	f.Add(probetest.SampleMP4(1920, 1080, 10, 16), uint32(0))
	f.Add(probetest.SampleMP4(640, 360, 2.5, 0), uint32(1<<20))
	f.Add(probetest.BuildMP4(probetest.MP4Spec{Width: 320, Height: 240, Duration: 3, MdatFirst: true, LargeMdat: true, QuickTime: true}), uint32(0))
	f.Add(probetest.BuildMP4(probetest.MP4Spec{Width: 320, Height: 240, Duration: 3, Version1: true, Encrypted: true, NoMvhdDur: true}), uint32(7))
	f.Add(probetest.BuildMP4(probetest.MP4Spec{Width: 320, Height: 240, Duration: 3, AudioOTI: 0x6B, QuickTime: true, NoFtyp: true}), uint32(0))
	f.Add(probetest.BuildMP4(probetest.MP4Spec{Width: 320, Height: 240, Duration: 3, Fragments: 3, MdatBytes: 30}), uint32(0))
	f.Add([]byte("\x00\x00\x00\x01mdat\x00\x00\x00\x01\x00\x00\x00\x00"), uint32(1<<31))
	f.Fuzz(func(t *testing.T, data []byte, pad uint32) {
		in := fuzzInput(data, pad)
		v, err := MP4(in, in.size)
		checkResult(t, in, v, err)
	})
}

func FuzzWebM(f *testing.F) {
	f.Add(probetest.SampleWebM(1920, 1080, 10, 16), uint32(0))
	f.Add(probetest.BuildWebM(probetest.WebMSpec{Width: 320, Height: 240, Duration: 3, UnknownSizes: true, TracksFirst: true, Float32Dur: true}), uint32(1<<20))
	f.Add(probetest.BuildWebM(probetest.WebMSpec{Width: 320, Height: 240, NoVideo: true, VideoCodec: "V_AV1"}), uint32(0))
	f.Fuzz(func(t *testing.T, data []byte, pad uint32) {
		in := fuzzInput(data, pad)
		v, err := WebM(in, in.size)
		checkResult(t, in, v, err)
	})
}
