package emulator

import (
	"io"
	"math"
	"strings"
	"time"

	"github.com/rwcarlsen/goexif/exif"
	"github.com/rwcarlsen/goexif/tiff"
)

// maxMetadataScan bounds how much of a file is read for EXIF and XMP: both sit in
// the first segments of the formats that carry them.
const maxMetadataScan = 1 << 20

// exifNames maps EXIF tags, as goexif names them, to the keys ImageKit's
// embeddedMetadata uses (exiftool's names: ModifyDate, CreateDate, ExifImageWidth).
var exifNames = map[exif.FieldName]string{
	exif.Make: "Make", exif.Model: "Model", exif.Software: "Software",
	exif.Orientation: "Orientation", exif.XResolution: "XResolution", exif.YResolution: "YResolution",
	exif.ResolutionUnit: "ResolutionUnit", exif.ImageDescription: "ImageDescription",
	exif.Artist: "Artist", exif.Copyright: "Copyright",
	exif.DateTime: "ModifyDate", exif.DateTimeOriginal: "DateTimeOriginal", exif.DateTimeDigitized: "CreateDate",
	exif.ExposureTime: "ExposureTime", exif.FNumber: "FNumber", exif.ISOSpeedRatings: "ISO",
	exif.FocalLength: "FocalLength", exif.Flash: "Flash", exif.ExifVersion: "ExifVersion",
	exif.PixelXDimension: "ExifImageWidth", exif.PixelYDimension: "ExifImageHeight",
	exif.LensModel: "LensModel", exif.ColorSpace: "ColorSpace",
	exif.ImageWidth: "ImageWidth", exif.ImageLength: "ImageHeight",
}

// exifDates are written as ImageKit writes dates: ISO 8601 in UTC with milliseconds.
var exifDates = map[string]bool{"ModifyDate": true, "DateTimeOriginal": true, "CreateDate": true}

// readExif returns the EXIF fields of a JPEG or TIFF under ImageKit's key names, or
// nil when the file has none or they cannot be read. Damaged EXIF is not an error:
// the upload goes on without it, as ImageKit's does.
func readExif(r io.ReaderAt, size int64) (out map[string]any) {
	defer func() {
		// goexif has been known to panic on hostile input; metadata is never worth
		// failing an upload for.
		if recover() != nil {
			out = nil
		}
	}()
	x, err := exif.Decode(io.NewSectionReader(r, 0, min(size, maxMetadataScan)))
	if err != nil {
		return nil
	}
	out = map[string]any{}
	for name, key := range exifNames {
		tag, err := x.Get(name)
		if err != nil {
			continue
		}
		if v := exifValue(tag, key); v != nil {
			out[key] = v
		}
	}
	if u, ok := out["ResolutionUnit"].(int); ok {
		switch u {
		case 2:
			out["ResolutionUnit"] = "inches"
		case 3:
			out["ResolutionUnit"] = "cm"
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// exifValue converts one tag: text trimmed, a single number as a number, several as
// a list, dates as ISO 8601.
func exifValue(tag *tiff.Tag, key string) any {
	switch tag.Format() {
	case tiff.StringVal:
		s, err := tag.StringVal()
		if err != nil {
			return nil
		}
		s = strings.TrimSpace(strings.TrimRight(s, "\x00"))
		if s == "" {
			return nil
		}
		if exifDates[key] {
			if t, err := time.Parse("2006:01:02 15:04:05", s); err == nil {
				return isoTime(t)
			}
		}
		return s
	case tiff.IntVal:
		if tag.Count == 1 {
			v, err := tag.Int(0)
			if err != nil {
				return nil
			}
			return v
		}
	case tiff.RatVal:
		if tag.Count == 1 {
			num, den, err := tag.Rat2(0)
			if err != nil || den == 0 {
				return nil
			}
			f := float64(num) / float64(den)
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return nil
			}
			return f
		}
	case tiff.UndefVal:
		if key == "ExifVersion" && len(tag.Val) == 4 {
			return string(tag.Val)
		}
	}
	return nil
}
