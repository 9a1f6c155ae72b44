package probe

import (
	"errors"
	"testing"
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
	f.Add(SampleMP4(1920, 1080, 10, 16), uint32(0))
	f.Add(SampleMP4(640, 360, 2.5, 0), uint32(1<<20))
	f.Add(buildMP4(mp4Spec{width: 320, height: 240, duration: 3, mdatFirst: true, largeMdat: true, quickTime: true}), uint32(0))
	f.Add(buildMP4(mp4Spec{width: 320, height: 240, duration: 3, version1: true, encrypted: true, noMvhdDur: true}), uint32(7))
	f.Add(buildMP4(mp4Spec{width: 320, height: 240, duration: 3, audioOTI: 0x6B, quickTime: true, noFtyp: true}), uint32(0))
	f.Add(buildMP4(mp4Spec{width: 320, height: 240, duration: 3, fragments: 3, mdatBytes: 30}), uint32(0))
	f.Add([]byte("\x00\x00\x00\x01mdat\x00\x00\x00\x01\x00\x00\x00\x00"), uint32(1<<31))
	f.Fuzz(func(t *testing.T, data []byte, pad uint32) {
		in := fuzzInput(data, pad)
		v, err := MP4(in, in.size)
		checkResult(t, in, v, err)
	})
}

func FuzzWebM(f *testing.F) {
	f.Add(SampleWebM(1920, 1080, 10, 16), uint32(0))
	f.Add(buildWebM(webmSpec{width: 320, height: 240, duration: 3, unknownSizes: true, tracksFirst: true, float32Dur: true}), uint32(1<<20))
	f.Add(buildWebM(webmSpec{width: 320, height: 240, noVideo: true, videoCodec: "V_AV1"}), uint32(0))
	f.Fuzz(func(t *testing.T, data []byte, pad uint32) {
		in := fuzzInput(data, pad)
		v, err := WebM(in, in.size)
		checkResult(t, in, v, err)
	})
}
