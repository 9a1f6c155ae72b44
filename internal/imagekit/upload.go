package imagekit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
)

// UploadRequest is one file to upload and its options.
type UploadRequest struct {
	// Exactly one of File and FileText.

	// File is the content, streamed as the binary part "file" whose filename is
	// Params.FileName. Upload reads it to the end (or to the first error) and never
	// after it returns; it does not close it.
	File io.Reader
	// FileText is a URL for ImageKit to download, or base64 content, sent as the
	// text field "file" (fetch=remote).
	FileText string
	// ContentType is File's media type. Default application/octet-stream; ImageKit
	// detects the type from the bytes anyway.
	ContentType string
	// Size is File's length in bytes, if known. When positive the request carries a
	// Content-Length instead of being chunked, and an upload whose File yields a
	// different number of bytes fails. Optional.
	Size int64

	Params Params
}

// Params are the Upload API options
// (https://imagekit.io/docs/api-reference/upload-file/upload-file), sent as form fields with the same
// names. A zero or nil field is not sent, so the API applies its default.
type Params struct {
	FileName                string // required
	UseUniqueFileName       *bool
	Tags                    []string // sent comma-joined
	Folder                  string
	IsPrivateFile           *bool
	IsPublished             *bool
	CustomCoordinates       string          // x,y,width,height
	ResponseFields          []string        // sent comma-joined
	Extensions              json.RawMessage // a JSON array, sent as compact JSON text
	WebhookURL              string
	OverwriteFile           *bool
	OverwriteAITags         *bool
	OverwriteTags           *bool
	OverwriteCustomMetadata *bool
	CustomMetadata          json.RawMessage // a JSON object, sent as compact JSON text
	Transformation          json.RawMessage // a JSON object, sent as compact JSON text
	Checks                  string
	Description             string
}

// UploadResult is a successful upload: the response body decoded, and kept whole in Raw.
type UploadResult struct {
	// Status is 200, or 202 when a video pre-transformation was queued; then the
	// file's details arrive later by webhook and FileID is empty.
	Status    int    `json:"-"`
	RequestID string `json:"-"` // the x-ik-requestId header

	FileID       string                    `json:"fileId"`
	Name         string                    `json:"name"` // with the unique suffix, if one was added
	FilePath     string                    `json:"filePath"`
	URL          string                    `json:"url"`
	ThumbnailURL string                    `json:"thumbnailUrl"`
	FileType     string                    `json:"fileType"` // "image" or "non-image" (videos are non-image)
	Size         int64                     `json:"size"`
	Width        int                       `json:"width"`
	Height       int                       `json:"height"`
	VersionInfo  struct{ ID, Name string } `json:"versionInfo"`
	AITags       []AITag                   `json:"AITags"`
	// ExtensionStatus is each requested extension's status: success, failed or pending.
	ExtensionStatus map[string]string `json:"extensionStatus"`

	Raw json.RawMessage `json:"-"` // the whole response body, as returned
}

// AITag is a tag an auto-tagging extension added.
type AITag struct {
	Name       string  `json:"name"`
	Confidence float64 `json:"confidence"`
	Source     string  `json:"source"`
}

// errBodyDone stops the body writer once the answer is in.
var errBodyDone = errors.New("imagekit: request finished")

// Upload sends one file to the Upload API. The multipart body is produced while it
// is sent, so a file of any size costs a few buffers, never its whole length.
//
// A non-2xx answer is an *Error. Anything else that goes wrong (dial, timeout, ctx,
// a failing File) is returned wrapped, as "imagekit: upload: …".
func (c *Client) Upload(ctx context.Context, req UploadRequest) (*UploadResult, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	fields, err := req.fields()
	if err != nil {
		return nil, err
	}

	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	hreq, err := c.newRequest(ctx, http.MethodPost, c.uploadURL(), pr)
	if err != nil {
		return nil, errorf("upload", err)
	}
	hreq.Header.Set("Content-Type", mw.FormDataContentType())
	if req.File != nil && req.Size > 0 {
		n, err := bodyLength(mw.Boundary(), fields, req)
		if err != nil {
			return nil, errorf("upload", err)
		}
		hreq.ContentLength = n
	}

	done := make(chan struct{})
	var srcErr error // set by the writer before done closes
	go func() {
		defer close(done)
		var err error
		srcErr, err = writeBody(mw, fields, req)
		pw.CloseWithError(err)
	}()
	// Cancellation must stop the writer even while the transport is not reading.
	stop := context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })
	defer stop()
	// finish stops the writer and waits for it: after Upload returns, File is not read.
	finish := func() error {
		pr.CloseWithError(errBodyDone)
		<-done
		return srcErr
	}

	resp, err := c.httpClient().Do(hreq)
	if err != nil {
		if se := finish(); se != nil {
			return nil, errorf("upload", se)
		}
		// A canceled ctx may surface as the closed pipe it caused: report the cause.
		if cerr := context.Cause(ctx); cerr != nil {
			return nil, errorf("upload", fmt.Errorf("%w (%v)", cerr, err)) //nolint:errorlint // the cause classifies the failure; the transport error it caused is detail
		}
		return nil, errorf("upload", err)
	}
	// Read the whole answer before stopping the writer: a failed body write closes
	// the connection the answer is read from.
	var res *UploadResult
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		res, err = decodeUpload(resp)
	} else {
		err = c.responseError(resp)
	}
	_ = resp.Body.Close()
	if se := finish(); se != nil && res != nil {
		return nil, errorf("upload", se) // the answer cannot be about the whole file
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

func decodeUpload(resp *http.Response) (*UploadResult, error) {
	body, err := readAllLimit(resp.Body, maxSuccessBody)
	if err != nil {
		return nil, errorf("upload", fmt.Errorf("reading %d response: %w", resp.StatusCode, err))
	}
	res := &UploadResult{}
	if err := json.Unmarshal(body, res); err != nil {
		// A field of an unexpected type is left zero: the upload happened and Raw
		// has everything. Only a body that is not JSON at all is an error.
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			return nil, errorf("upload", fmt.Errorf("decoding %d response: %w", resp.StatusCode, err))
		}
	}
	res.Status = resp.StatusCode
	res.RequestID = resp.Header.Get("x-ik-requestId")
	res.Raw = body
	return res, nil
}

// field is one text form field.
type field struct{ name, value string }

// fields checks the request and returns its text fields in the order they are
// sent: fileName, then each option that is set, in the order of the Upload API reference.
func (r UploadRequest) fields() ([]field, error) {
	invalid := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidRequest, fmt.Sprintf(format, a...))
	}
	switch {
	case r.File != nil && r.FileText != "":
		return nil, invalid("set File or FileText, not both")
	case r.File == nil && r.FileText == "":
		return nil, invalid("File or FileText is required")
	case r.Size < 0:
		return nil, invalid("Size must not be negative")
	}
	p := r.Params
	if p.FileName == "" {
		return nil, invalid("Params.FileName is required")
	}
	out := []field{{"fileName", p.FileName}}
	str := func(name, v string) {
		if v != "" {
			out = append(out, field{name, v})
		}
	}
	boolean := func(name string, v *bool) {
		if v != nil {
			out = append(out, field{name, strconv.FormatBool(*v)})
		}
	}
	list := func(name string, v []string) {
		if len(v) > 0 {
			out = append(out, field{name, strings.Join(v, ",")})
		}
	}
	var jsonErr error
	jsonText := func(name string, v json.RawMessage, open byte, kind string) {
		s, err := compactJSON(v, open)
		if err != nil && jsonErr == nil {
			jsonErr = invalid("Params.%s must be a JSON %s: %v", name, kind, err)
		}
		str(name, s)
	}

	boolean("useUniqueFileName", p.UseUniqueFileName)
	list("tags", p.Tags)
	str("folder", p.Folder)
	boolean("isPrivateFile", p.IsPrivateFile)
	boolean("isPublished", p.IsPublished)
	str("customCoordinates", p.CustomCoordinates)
	list("responseFields", p.ResponseFields)
	jsonText("extensions", p.Extensions, '[', "array")
	str("webhookUrl", p.WebhookURL)
	boolean("overwriteFile", p.OverwriteFile)
	boolean("overwriteAITags", p.OverwriteAITags)
	boolean("overwriteTags", p.OverwriteTags)
	boolean("overwriteCustomMetadata", p.OverwriteCustomMetadata)
	jsonText("customMetadata", p.CustomMetadata, '{', "object")
	jsonText("transformation", p.Transformation, '{', "object")
	str("checks", p.Checks)
	str("description", p.Description)
	if jsonErr != nil {
		return nil, jsonErr
	}
	return out, nil
}

// compactJSON returns v as compact JSON text, "" when v is empty or null, and an
// error unless v is valid JSON starting with open.
func compactJSON(v json.RawMessage, open byte) (string, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return "", nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return "", err
	}
	if v[0] != open {
		return "", fmt.Errorf("got %.20s", v)
	}
	return b.String(), nil
}

// filePartHeader is the header of the binary file part.
func filePartHeader(req UploadRequest) textproto.MIMEHeader {
	ct := req.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", multipart.FileContentDisposition("file", req.Params.FileName))
	h.Set("Content-Type", ct)
	return h
}

// writeBody writes the form: the text fields, then the file last, so that the
// server has every option before the bytes arrive. srcErr is set when reading File
// failed; err is whatever stopped the body (srcErr included).
func writeBody(mw *multipart.Writer, fields []field, req UploadRequest) (srcErr, err error) {
	for _, f := range fields {
		if err := mw.WriteField(f.name, f.value); err != nil {
			return nil, err
		}
	}
	if req.File == nil {
		if err := mw.WriteField("file", req.FileText); err != nil {
			return nil, err
		}
		return nil, mw.Close()
	}
	part, err := mw.CreatePart(filePartHeader(req))
	if err != nil {
		return nil, err
	}
	if srcErr, err := copyFile(part, req.File, req.Size); err != nil {
		return srcErr, err
	}
	return nil, mw.Close()
}

// copyBufs holds the buffers uploads stream through: one per upload in flight, not
// one allocated per upload.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyFile copies src to dst. When size is positive, src must hold exactly size bytes.
func copyFile(dst io.Writer, src io.Reader, size int64) (srcErr, err error) {
	if size > 0 {
		src = io.LimitReader(src, size+1)
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var n int64
	for {
		nr, rerr := src.Read(buf)
		if nr > 0 {
			if _, werr := dst.Write(buf[:nr]); werr != nil {
				return nil, werr
			}
			n += int64(nr)
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			rerr = fmt.Errorf("reading file: %w", rerr)
			return rerr, rerr
		}
	}
	if size > 0 && n != size {
		e := fmt.Errorf("reading file: got %s bytes, Size says %d", countText(n, size), size)
		return e, e
	}
	return nil, nil
}

func countText(n, size int64) string {
	if n > size {
		return "more than " + strconv.FormatInt(size, 10)
	}
	return strconv.FormatInt(n, 10)
}

// bodyLength is the exact length of the body writeBody produces for a File of
// req.Size bytes: everything but the file, written to a counter, plus the file.
func bodyLength(boundary string, fields []field, req UploadRequest) (int64, error) {
	var cw countWriter
	mw := multipart.NewWriter(&cw)
	if err := mw.SetBoundary(boundary); err != nil {
		return 0, err
	}
	for _, f := range fields {
		if err := mw.WriteField(f.name, f.value); err != nil {
			return 0, err
		}
	}
	if _, err := mw.CreatePart(filePartHeader(req)); err != nil {
		return 0, err
	}
	if err := mw.Close(); err != nil {
		return 0, err
	}
	return cw.n + req.Size, nil
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}
