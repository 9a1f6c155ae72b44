package imagekit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// File is a stored file as the files API describes it (Get File Details).
type File struct {
	FileID         string                    `json:"fileId"`
	Name           string                    `json:"name"`
	FilePath       string                    `json:"filePath"`
	URL            string                    `json:"url"`
	Mime           string                    `json:"mime"`
	FileType       string                    `json:"fileType"`
	Size           int64                     `json:"size"`
	Width          int                       `json:"width"`
	Height         int                       `json:"height"`
	Tags           []string                  `json:"tags"`
	VersionInfo    struct{ ID, Name string } `json:"versionInfo"`
	CustomMetadata map[string]any            `json:"customMetadata"`
	AITags         []AITag                   `json:"AITags"`
	CreatedAt      time.Time                 `json:"createdAt"`
	UpdatedAt      time.Time                 `json:"updatedAt"`
	Raw            json.RawMessage           `json:"-"` // the file's JSON object, as returned
}

// UnmarshalJSON decodes a file object and keeps it in Raw. It is lenient like
// decodeUpload: a field of an unexpected type or a timestamp it cannot read is left
// zero; only JSON that is not an object fails.
func (f *File) UnmarshalJSON(b []byte) error {
	type plain File // without this method
	var w struct {
		plain
		CreatedAt string `json:"createdAt"`
		UpdatedAt string `json:"updatedAt"`
	}
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("imagekit: a file must be a JSON object, got %.20s", t)
	}
	if err := json.Unmarshal(b, &w); err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			return err
		}
	}
	*f = File(w.plain)
	f.CreatedAt, _ = time.Parse(time.RFC3339Nano, w.CreatedAt)
	f.UpdatedAt, _ = time.Parse(time.RFC3339Nano, w.UpdatedAt)
	f.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// ListParams filters ListFiles. Zero fields are not sent.
type ListParams struct {
	Path  string // a folder; the API lists the files directly in it, not its subfolders
	Name  string // an exact file name
	Limit int    // at most this many (the API allows 1 to 1000; default 1000)
	Skip  int
}

// FileDetails returns the current version of a file. An unknown id gives an *Error
// for which errors.Is(err, ErrNotFound) is true.
func (c *Client) FileDetails(ctx context.Context, fileID string) (*File, error) {
	if fileID == "" {
		return nil, fmt.Errorf("%w: fileID is required", ErrInvalidRequest)
	}
	body, err := c.getJSON(ctx, "file details", c.apiBase()+"/v1/files/"+url.PathEscape(fileID)+"/details")
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, errorf("file details", fmt.Errorf("decoding response: %w", err))
	}
	return &f, nil
}

// ListFiles lists files, filtered by p.
func (c *Client) ListFiles(ctx context.Context, p ListParams) ([]File, error) {
	q := url.Values{}
	if p.Path != "" {
		q.Set("path", p.Path)
	}
	if p.Name != "" {
		q.Set("name", p.Name)
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Skip > 0 {
		q.Set("skip", strconv.Itoa(p.Skip))
	}
	u := c.apiBase() + "/v1/files"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	body, err := c.getJSON(ctx, "list files", u)
	if err != nil {
		return nil, err
	}
	var files []File
	if err := json.Unmarshal(body, &files); err != nil {
		return nil, errorf("list files", fmt.Errorf("decoding response: %w", err))
	}
	return files, nil
}
