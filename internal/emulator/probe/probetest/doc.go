// Package probetest builds small well-formed MP4 and WebM files for tests of the
// probe, the emulator and the Upload API client:
//
//	mp4 := probetest.SampleMP4(1280, 720, 12.5, 4096)
//	odd := probetest.BuildMP4(probetest.MP4Spec{Width: 320, Height: 240, QuickTime: true, MdatFirst: true})
//
// Only _test.go files import it, so none of it is linked into ikq.
package probetest
