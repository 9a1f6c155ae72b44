package emulator

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime/multipart"
	"strings"
)

// Limits on the text fields of an upload form. The file itself is limited by size rules.
const (
	maxFieldBytes = 1 << 20
	maxFields     = 100
	maxURLBytes   = 8 << 10
	// sniffBytes is how much of a file type detection looks at.
	sniffBytes = 3072
)

var errTooLarge = errors.New("file too large")

// uploadForm is a parsed multipart upload: the text fields and, if the file came as
// bytes (a binary part, base64 or a data URI), the file staged in the blob store.
type uploadForm struct {
	fields  map[string]string
	hasFile bool
	fileURL string  // set when file is a URL still to be downloaded
	staged  *staged // set when the bytes are here
}

func (f *uploadForm) abort() {
	if f.staged != nil {
		f.staged.w.abort()
	}
}

// formError is a problem with the form itself, already in the API's words.
type formError struct{ api *apiError }

func (e formError) Error() string { return e.api.Message }

// readForm reads every part of mr. The file part is streamed into a staging blob
// created by newBlob, never held whole in memory; limit gives the largest size
// allowed for content whose first bytes are head.
func readForm(mr *multipart.Reader, newBlob func() (blobWriter, error), limit func(head []byte) int64) (*uploadForm, error) {
	form := &uploadForm{fields: map[string]string{}}
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return form, nil
		}
		if err != nil {
			form.abort()
			return nil, malformedForm(err)
		}
		if n >= maxFields {
			form.abort()
			return nil, formError{badRequest("Your request contains too many fields.")}
		}
		name := part.FormName()
		if name == "file" {
			if form.hasFile {
				form.abort()
				return nil, formError{invalidParam("file", "Send one file per request.")}
			}
			form.hasFile = true
			if err := readFilePart(form, part, newBlob, limit); err != nil {
				form.abort()
				return nil, err
			}
			continue
		}
		if name == "" {
			// Read to its end all the same: a body cut off inside it is malformed.
			if _, err := io.Copy(io.Discard, part); err != nil {
				form.abort()
				return nil, malformedForm(err)
			}
			continue
		}
		v, err := readField(part, maxFieldBytes)
		if errors.Is(err, errTooLarge) {
			form.abort()
			return nil, formError{invalidParam(name, "The value is too long.")}
		}
		if err != nil {
			form.abort()
			return nil, malformedForm(err)
		}
		form.fields[name] = v
	}
}

func malformedForm(err error) formError {
	return formError{badRequest("Your request contains a malformed multipart body: " + err.Error())}
}

func readField(r io.Reader, max int64) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return "", err
	}
	if int64(len(b)) > max {
		return "", errTooLarge
	}
	return string(b), nil
}

// readFilePart takes the file field in any of its three forms.
func readFilePart(form *uploadForm, part *multipart.Part, newBlob func() (blobWriter, error), limit func([]byte) int64) error {
	if part.FileName() != "" {
		st, err := stage(part, newBlob, limit)
		form.staged = st
		return err
	}
	br := bufio.NewReaderSize(part, 64)
	start, _ := br.Peek(8)
	lower := strings.ToLower(string(start))
	switch {
	case strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https:/"):
		u, err := readField(br, maxURLBytes)
		if err != nil {
			return formError{invalidParam("file", "The URL is too long.")}
		}
		form.fileURL = strings.TrimSpace(u)
		return nil
	case strings.HasPrefix(lower, "data:"):
		// data:[<mediatype>][;base64],<data>
		header, err := br.ReadString(',')
		if err != nil || len(header) > 256 || !strings.HasSuffix(strings.TrimSuffix(header, ","), ";base64") {
			return formError{badRequest(msgInvalidBase64)}
		}
	}
	st, err := stage(base64.NewDecoder(base64.StdEncoding, &base64Text{r: br}), newBlob, limit)
	form.staged = st
	var corrupt base64.CorruptInputError
	if errors.As(err, &corrupt) {
		return formError{badRequest(msgInvalidBase64)}
	}
	if err == nil && st.size == 0 {
		return formError{badRequest(msgMissingFile)}
	}
	return err
}

// staged is file content being written to the blob store.
type staged struct {
	w    blobWriter
	size int64
	head []byte
}

// stage copies r into a new blob, keeping the first bytes for type detection and
// stopping with errTooLarge as soon as the content passes its limit.
func stage(r io.Reader, newBlob func() (blobWriter, error), limit func([]byte) int64) (*staged, error) {
	w, err := newBlob()
	if err != nil {
		return nil, err
	}
	st := &staged{w: w}
	var headBuf bytes.Buffer
	if _, err := io.CopyN(&headBuf, r, sniffBytes); err != nil && !errors.Is(err, io.EOF) {
		return st, classifyReadErr(err)
	}
	st.head = headBuf.Bytes()
	max := limit(st.head)
	if int64(len(st.head)) > max {
		return st, errTooLarge
	}
	if _, err := w.Write(st.head); err != nil {
		return st, err
	}
	n, err := io.Copy(w, io.LimitReader(r, max-int64(len(st.head))+1))
	st.size = int64(len(st.head)) + n
	if err != nil {
		return st, classifyReadErr(err)
	}
	if st.size > max {
		return st, errTooLarge
	}
	return st, nil
}

func classifyReadErr(err error) error {
	var corrupt base64.CorruptInputError
	if errors.As(err, &corrupt) {
		return err
	}
	return formError{badRequest("Your request body could not be read: " + err.Error())}
}

// base64Text cleans base64 text for the standard decoder: it drops whitespace, maps
// the URL-safe alphabet to the standard one and adds missing padding at the end.
type base64Text struct {
	r     io.Reader
	count int
	last  byte
	pad   int
	eof   bool
}

func (b *base64Text) Read(p []byte) (int, error) {
	for {
		if b.eof {
			if b.pad == 0 {
				return 0, io.EOF
			}
			n := min(b.pad, len(p))
			for i := range n {
				p[i] = '='
			}
			b.pad -= n
			return n, nil
		}
		n, err := b.r.Read(p)
		out := 0
		for _, c := range p[:n] {
			switch c {
			case ' ', '\t', '\r', '\n':
				continue
			case '-':
				c = '+'
			case '_':
				c = '/'
			}
			p[out] = c
			out++
		}
		b.count += out
		if out > 0 {
			b.last = p[out-1]
		}
		if err == io.EOF {
			b.eof = true
			if b.last != '=' {
				b.pad = (4 - b.count%4) % 4
			}
		} else if err != nil {
			return out, err
		}
		if out > 0 {
			return out, nil
		}
	}
}
