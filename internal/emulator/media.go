package emulator

import (
	"bytes"
	"image"
	"image/color"
	_ "image/gif" // decoders for image.DecodeConfig
	"image/jpeg"
	_ "image/png"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"

	"github.com/ikq-dev/ikq/internal/emulator/probe"
)

// mediaInfo is what the emulator reads from a file's content.
type mediaInfo struct {
	Width, Height int
	HasAlpha      bool
	Video         *probe.Video
	Embedded      map[string]any // EXIF and XMP, ImageKit's key names

}

// inspect reads dimensions from an image's header or a video's container, reading
// only the parts it needs.
func inspect(r io.ReaderAt, size int64, mime string) mediaInfo {
	var info mediaInfo
	switch {
	case fileTypeOf(mime) == "image":
		cfg, _, err := image.DecodeConfig(io.NewSectionReader(r, 0, size))
		if err == nil {
			info.Width, info.Height = cfg.Width, cfg.Height
			info.HasAlpha = hasAlpha(cfg.ColorModel)
		}
		info.Embedded = readEmbedded(r, size, mime)
	case isVideoMime(mime):
		if v, err := probe.Probe(r, size); err == nil {
			info.Video = &v
			info.Width, info.Height = v.Width, v.Height
		}
	}
	return info
}

func hasAlpha(m color.Model) bool {
	switch m {
	// Go's PNG, BMP and TIFF decoders report opaque truecolor (RGB) images as
	// RGBAModel or RGBA64Model; images with an alpha channel come as NRGBA (or,
	// for WebP, NYCbCrA).
	case color.NRGBAModel, color.NRGBA64Model, color.NYCbCrAModel, color.AlphaModel, color.Alpha16Model:
		return true
	}
	if p, ok := m.(color.Palette); ok {
		for _, c := range p {
			if _, _, _, a := c.RGBA(); a != 0xffff {
				return true
			}
		}
	}
	return false
}

// readEmbedded is the EXIF (of JPEG and TIFF files, where the EXIF reader finds it)
// and XMP a file carries, consolidated (EXIF wins where both name a property), or nil.
func readEmbedded(r io.ReaderAt, size int64, mime string) map[string]any {
	m := readXMP(r, size)
	if mime != "image/jpeg" && mime != "image/tiff" {
		return m
	}
	for k, v := range readExif(r, size) {
		if m == nil {
			m = map[string]any{}
		}
		m[k] = v
	}
	return m
}

// embeddedMetadata is the consolidated metadata the response reports, in ImageKit's
// exiftool-like key names: what the file carries, then what the emulator measured.
func embeddedMetadata(a *asset) map[string]any {
	m := cloneMap(a.EmbeddedMetadata)
	if m == nil {
		m = map[string]any{}
	}
	m["FileSize"], m["MIMEType"] = a.Size, a.Mime
	if a.Width > 0 {
		m["ImageWidth"], m["ImageHeight"] = a.Width, a.Height
	}
	if a.Duration > 0 {
		m["Duration"] = a.Duration
	}
	return m
}

// legacyMetadata is the response's "metadata" object.
func legacyMetadata(a *asset) map[string]any {
	if a.isVideo() {
		return map[string]any{
			"height": a.Height, "width": a.Width, "bitRate": a.BitRate, "duration": int(math.Round(a.Duration)),
			"audioCodec": a.AudioCodec, "videoCodec": a.VideoCodec, "size": a.Size,
		}
	}
	format := strings.TrimPrefix(a.Mime, "image/")
	if format == "jpeg" {
		format = "jpg"
	}
	return map[string]any{
		"height": a.Height, "width": a.Width, "size": a.Size, "format": format,
		"hasColorProfile": false, "quality": 0, "density": 72, "hasTransparency": a.HasAlpha,
		"exif": map[string]any{}, "pHash": "",
	}
}

// sample is a small JPEG the emulator serves at /_emulator/sample.jpg, so URL
// uploads can be tried with nothing else running.
var sample = func() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 160, 255})
		}
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 80})
	return b.Bytes()
}()

func handleSample(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/jpeg")
	http.ServeContent(w, r, "sample.jpg", time.Time{}, bytes.NewReader(sample))
}
