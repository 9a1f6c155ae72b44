package probe

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// testdata/real holds tiny files written by real muxers (ffmpeg 5.1 on
// Debian 12, 96x64 testsrc at 10 fps and a 48 kHz sine, 1 s), e.g.
//
//	ffmpeg -f lavfi -i testsrc=size=96x64:rate=10 -f lavfi -i sine=sample_rate=48000 -t 1 \
//	    -map_metadata -1 -fflags +bitexact -c:v libx264 -preset ultrafast -crf 45 -c:a aac -b:a 16k h264_aac.mp4
//
// with -movflags +faststart, -movflags frag_keyframe+empty_moov, .mov/.mkv/.webm
// outputs and libx265 (-tag:v hvc1), libvpx(-vp9), libaom-av1, mpeg4,
// libopus, libvorbis, libmp3lame and ac3 encoders. The expected values are
// what ffprobe reports for them (format duration and bit_rate, stream
// codec_name and size), except that ffprobe names MPEG-4 Part 2 "mpeg4"
// where this package says "mp4v".
func TestRealFiles(t *testing.T) {
	cases := []struct {
		file    string
		want    Video
		wantErr error
	}{
		{"h264_aac.mp4", Video{96, 64, 1, 62032, "h264", "aac"}, nil},
		{"h264_aac_faststart.mp4", Video{96, 64, 1, 62032, "h264", "aac"}, nil},
		{"h264_aac.mov", Video{96, 64, 1, 62472, "h264", "aac"}, nil},
		{"h264_aac_fragmented.mp4", Video{96, 64, 1.021387, 66544, "h264", "aac"}, nil},
		{"hevc_aac.mp4", Video{96, 64, 1, 60984, "hevc", "aac"}, nil},
		{"av1_opus.mp4", Video{96, 64, 1, 28920, "av1", "opus"}, nil},
		{"mp4v_mp3.mp4", Video{96, 64, 1, 52056, "mp4v", "mp3"}, nil},
		{"h264_ac3.mp4", Video{96, 64, 1.019, 104125, "h264", "ac3"}, nil},
		{"aac.m4a", Video{0, 0, 1, 26440, "", "aac"}, ErrNotVideo},
		{"vp9_opus.webm", Video{96, 64, 1.008, 25452, "vp9", "opus"}, nil},
		{"vp8_vorbis.webm", Video{96, 64, 1.003, 74775, "vp8", "vorbis"}, nil},
		{"h264_aac.mkv", Video{96, 64, 1.021, 55067, "h264", "aac"}, nil},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "real", c.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Probe(memFile(b), int64(len(b)))
			if c.wantErr == nil && err != nil || c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if math.Abs(got.Duration-c.want.Duration) < 5e-7 { // ffprobe prints 6 decimals
				got.Duration = c.want.Duration
			}
			if got != c.want {
				t.Errorf("\n got %+v\nwant %+v", got, c.want)
			}
			// Every prefix: an error or a result, never a panic.
			for n := range len(b) {
				v, err := Probe(memFile(b[:n]), int64(n))
				if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotVideo) {
					t.Fatalf("prefix %d: %v wraps neither sentinel", n, err)
				}
				if err == nil && (v.Width != c.want.Width || v.VideoCodec != c.want.VideoCodec) {
					t.Fatalf("prefix %d: %+v", n, v)
				}
			}
		})
	}
}

func FuzzProbeReal(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "real", "*"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint32(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, pad uint32) {
		in := fuzzInput(data, pad)
		v, err := Probe(in, in.size)
		checkResult(t, in, v, err)
	})
}
