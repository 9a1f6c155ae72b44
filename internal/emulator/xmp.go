package emulator

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
)

// maxXMPPacket bounds the XMP packet the emulator parses.
const maxXMPPacket = 256 << 10

// readXMP returns the simple properties of a file's XMP packet, keyed by their local
// names (CreatorTool, Rating, Label; dc:subject as Keywords), or nil. The packet is
// found by its <x:xmpmeta> element wherever the format stores it (JPEG APP1, PNG
// iTXt, TIFF, WebP): its text is plain XML in each.
func readXMP(r io.ReaderAt, size int64) map[string]any {
	buf := make([]byte, min(size, maxMetadataScan))
	n, _ := r.ReadAt(buf, 0)
	buf = buf[:n]
	start := bytes.Index(buf, []byte("<x:xmpmeta"))
	if start < 0 {
		return nil
	}
	end := bytes.Index(buf[start:], []byte("</x:xmpmeta>"))
	if end < 0 || end > maxXMPPacket {
		return nil
	}
	return parseXMP(buf[start : start+end+len("</x:xmpmeta>")])
}

// parseXMP reads an <x:xmpmeta> packet. Properties written as attributes of
// rdf:Description and as elements holding text are taken; lists (rdf:Bag, rdf:Seq,
// rdf:Alt) become arrays of their items. Anything else, and XML that does not parse,
// is left out.
func parseXMP(packet []byte) map[string]any {
	out := map[string]any{}
	dec := xml.NewDecoder(bytes.NewReader(packet))
	dec.Strict = false
	var stack []string // local names of the open elements
	var text strings.Builder
	var items []string
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "Description" {
				for _, a := range t.Attr {
					if a.Name.Space != "xmlns" && a.Name.Local != "about" && a.Name.Space != "" {
						out[xmpKey(a.Name.Local)] = strings.TrimSpace(a.Value)
					}
				}
			}
			if t.Name.Local == "li" {
				text.Reset()
			}
			stack = append(stack, t.Name.Local)
			text.Reset()
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if len(stack) == 0 {
				break
			}
			name := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			v := strings.TrimSpace(text.String())
			text.Reset()
			switch {
			case name == "li":
				if v != "" {
					items = append(items, v)
				}
			case name == "Bag" || name == "Seq" || name == "Alt":
			case isXMPContainer(name):
			case len(items) > 0:
				out[xmpKey(name)] = items
				items = nil
			case v != "":
				out[xmpKey(name)] = v
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func isXMPContainer(name string) bool {
	return name == "xmpmeta" || name == "RDF" || name == "Description"
}

// xmpKey names a property as ImageKit's consolidated metadata does where they differ.
func xmpKey(local string) string {
	if local == "subject" {
		return "Keywords"
	}
	return local
}
