package source

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// openDataURI opens data:[<mediatype>];base64,<data>. The media type, when
// given, is the ContentType.
func (o *Opener) openDataURI(ref string) (*Source, error) {
	header, data, ok := strings.Cut(ref[len("data:"):], ",")
	if !ok {
		return nil, permanent(KindInvalid, ref, errors.New("data URI has no ','"))
	}
	mt, ok := cutSuffixFold(header, ";base64")
	if !ok {
		return nil, permanent(KindInvalid, ref, errors.New("only base64 data URIs are supported (data:<type>;base64,<data>)"))
	}
	if strings.Contains(data, "%") {
		// Percent-encoded base64 ("%2B" for "+") is rare but legal in a URI.
		d, err := url.PathUnescape(data)
		if err != nil {
			return nil, permanent(KindInvalid, ref, errors.New("data URI has an invalid percent escape"))
		}
		data = d
	}
	src, err := o.openB64(ref, data)
	if err != nil {
		return nil, err
	}
	src.ContentType = mediaType(mt)
	return src, nil
}

// openBase64 opens plain base64 text.
func (o *Opener) openBase64(ref string) (*Source, error) {
	return o.openB64(ref, ref)
}

func (o *Opener) openB64(ref, data string) (*Source, error) {
	size, err := decodedLen(data)
	if err != nil {
		return nil, permanent(KindInvalid, ref, err)
	}
	if size == 0 {
		return nil, permanent(KindInvalid, ref, errors.New("inline content is empty"))
	}
	// Decode as it is read, from the string itself: no second copy of the data.
	body := base64.NewDecoder(base64.RawStdEncoding, &b64Filter{s: data})
	return &Source{Body: io.NopCloser(body), Size: size}, nil
}

// decodedLen checks that s is base64, in the standard or the URL-safe alphabet
// (not both), padded or not, with any ASCII whitespace, and returns the length
// it decodes to.
func decodedLen(s string) (int64, error) {
	var n, pad int64
	var std, urlSafe bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isSpace(c):
			continue
		case c == '=':
			pad++
			if pad > 2 {
				return 0, fmt.Errorf("invalid base64: too much padding at offset %d", i)
			}
			continue
		case c == '+' || c == '/':
			std = true
		case c == '-' || c == '_':
			urlSafe = true
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		default:
			return 0, fmt.Errorf("invalid base64: unexpected byte at offset %d", i)
		}
		if pad > 0 {
			return 0, fmt.Errorf("invalid base64: data after padding at offset %d", i)
		}
		n++
	}
	switch {
	case std && urlSafe:
		return 0, errors.New("invalid base64: mixes the standard and URL-safe alphabets")
	case n%4 == 1:
		return 0, errors.New("invalid base64: truncated")
	case pad > 0 && (n+pad)%4 != 0:
		return 0, errors.New("invalid base64: wrong padding")
	}
	return n/4*3 + max(n%4-1, 0), nil
}

func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '\v':
		return true
	}
	return false
}

// b64Filter reads s without whitespace and padding, in the standard alphabet,
// for base64.RawStdEncoding. decodedLen has checked s.
type b64Filter struct {
	s string
	i int
}

func (f *b64Filter) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && f.i < len(f.s) {
		c := f.s[f.i]
		f.i++
		switch {
		case isSpace(c), c == '=':
			continue
		case c == '-':
			c = '+'
		case c == '_':
			c = '/'
		}
		p[n] = c
		n++
	}
	if n == 0 && f.i >= len(f.s) {
		return 0, io.EOF
	}
	return n, nil
}

func cutSuffixFold(s, suffix string) (string, bool) {
	if len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix) {
		return s[:len(s)-len(suffix)], true
	}
	return s, false
}
