package emulator

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"reflect"
	"testing"
)

// exifJPEG is a small JPEG carrying an APP1 EXIF segment (IFD0: Make, Model,
// Orientation; its EXIF sub-IFD: DateTimeOriginal) and an APP1 XMP packet.
func exifJPEG(t testing.TB, orientation uint16) []byte {
	t.Helper()
	var img bytes.Buffer
	if err := jpeg.Encode(&img, image.NewGray(image.Rect(0, 0, 4, 3)), nil); err != nil {
		t.Fatal(err)
	}
	// TIFF, little-endian: header, IFD0 with 4 entries, EXIF IFD with 1, then data.
	le := binary.LittleEndian
	var tf bytes.Buffer
	tf.WriteString("II")
	_ = binary.Write(&tf, le, uint16(42))
	_ = binary.Write(&tf, le, uint32(8))
	const ifd0 = 8
	const ifd0Len = 2 + 4*12 + 4
	const exifIFD = ifd0 + ifd0Len
	const exifLen = 2 + 12 + 4
	data := uint32(exifIFD + exifLen)
	make_, model, date := "Canon\x00", "Canon EOS 40D\x00", "2008:05:30 15:56:01\x00"
	entry := func(tag, typ uint16, count, value uint32) {
		_ = binary.Write(&tf, le, tag)
		_ = binary.Write(&tf, le, typ)
		_ = binary.Write(&tf, le, count)
		_ = binary.Write(&tf, le, value)
	}
	_ = binary.Write(&tf, le, uint16(4))
	entry(0x010f, 2, uint32(len(make_)), data)
	entry(0x0110, 2, uint32(len(model)), data+uint32(len(make_)))
	entry(0x0112, 3, 1, uint32(orientation))
	entry(0x8769, 4, 1, exifIFD)
	_ = binary.Write(&tf, le, uint32(0))
	_ = binary.Write(&tf, le, uint16(1))
	entry(0x9003, 2, uint32(len(date)), data+uint32(len(make_)+len(model)))
	_ = binary.Write(&tf, le, uint32(0))
	tf.WriteString(make_ + model + date)

	app1 := func(payload []byte) []byte {
		seg := []byte{0xff, 0xe1, 0, 0}
		binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
		return append(seg, payload...)
	}
	xmp := `http://ns.adobe.com/xap/1.0/` + "\x00" + `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
		`<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:CreatorTool="GIMP 2.4.5">` +
		`<dc:subject><rdf:Bag><rdf:li>beach</rdf:li><rdf:li>sunset</rdf:li></rdf:Bag></dc:subject>` +
		`</rdf:Description></rdf:RDF></x:xmpmeta>`
	out := append([]byte{}, img.Bytes()[:2]...) // SOI
	out = append(out, app1(append([]byte("Exif\x00\x00"), tf.Bytes()...))...)
	out = append(out, app1([]byte(xmp))...)
	return append(out, img.Bytes()[2:]...)
}

// TestEmbeddedMetadataFromTheFile: EXIF and XMP the file carries are in details'
// embeddedMetadata under ImageKit's names, dates in ISO 8601, and the EXIF
// orientation is the upload's orientation.
func TestEmbeddedMetadataFromTheFile(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	img := exifJPEG(t, 6)
	r := e.upload(t, filePart("cam.jpg", img), field("fileName", "cam.jpg"))
	wantOK(t, r)
	if r.Body["orientation"] != 6.0 {
		t.Errorf("orientation %v, want 6 from the EXIF", r.Body["orientation"])
	}
	d := e.getJSON(t, "/v1/files/"+r.str("fileId")+"/details")
	wantOK(t, d)
	em := objectAt(t, d.Body, "embeddedMetadata")
	want := map[string]any{
		"Make": "Canon", "Model": "Canon EOS 40D", "Orientation": 6.0,
		"DateTimeOriginal": "2008-05-30T15:56:01.000Z",
		"CreatorTool":      "GIMP 2.4.5", "Keywords": []any{"beach", "sunset"},
		"ImageWidth": 4.0, "ImageHeight": 3.0, "MIMEType": "image/jpeg", "FileSize": float64(len(img)),
	}
	for k, v := range want {
		if !reflect.DeepEqual(em[k], v) {
			t.Errorf("embeddedMetadata[%s] = %#v, want %#v", k, em[k], v)
		}
	}
	if _, ok := d.Body["extensionStatus"]; ok {
		t.Error("details carry extensionStatus; ImageKit's do not")
	}

	// Without EXIF, an image is upright.
	p := e.upload(t, filePart("plain.png", pngImage(t, 3, 3, false)), field("fileName", "plain.png"))
	wantOK(t, p)
	if p.Body["orientation"] != 1.0 {
		t.Errorf("orientation of an image without EXIF %v, want 1", p.Body["orientation"])
	}
}

func FuzzEmbeddedMetadata(f *testing.F) {
	f.Add(exifJPEG(f, 3))
	f.Add([]byte("<x:xmpmeta><rdf:Description a:b='c'><x:y>z</x:y></rdf:Description></x:xmpmeta>"))
	f.Add([]byte("II*\x00\x08\x00\x00\x00\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, mime := range []string{"image/jpeg", "image/tiff", "image/png"} {
			m := readEmbedded(bytes.NewReader(b), int64(len(b)), mime)
			for k := range m {
				if k == "" {
					t.Fatalf("an empty key in %v", m)
				}
			}
		}
	})
}
