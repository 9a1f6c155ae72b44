// Package probe reads the few facts the ImageKit Upload API reports about an
// uploaded video — width, height, duration, overall bit rate and the video and
// audio codec names — straight from the container, without decoding any media
// and without reading the whole file.
//
// MP4 handles ISO base media files (mp4, m4v, 3gp, QuickTime mov); WebM
// handles Matroska/WebM; Probe picks one by the file's first bytes. All
// readers go through an io.ReaderAt, seek over sample data (mdat, Clusters),
// bound every length by the bytes that remain, cap each allocation at 1 MiB
// and limit how many boxes or elements they visit, so a hostile upload can
// make them fail but not panic, hang or exhaust memory.
//
// Package probetest builds small well-formed files for its tests.
package probe
