package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
)

// transformation is the upload's transformation option: a pre-transformation applied
// before storing and post-transformations generated after.
type transformation struct {
	Pre  string          `json:"pre,omitempty"`
	Post []postTransform `json:"post,omitempty"`
}

type postTransform struct {
	Type     string `json:"type"`
	Value    string `json:"value,omitempty"`
	Protocol string `json:"protocol,omitempty"`
}

const maxPostTransforms = 20

// parseTransformation reads the stringified JSON object the Upload API documents
// (https://imagekit.io/docs/api-reference/upload-file/upload-file): pre is a
// non-empty string; post a list whose type is transformation, gif-to-video,
// thumbnail or abs, value required for transformation and abs, and protocol (hls or
// dash) for abs only.
func parseTransformation(v string) (*transformation, *apiError) {
	invalid := badRequest(msgTransformation)
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	var raw struct {
		Pre  *string          `json:"pre"`
		Post *json.RawMessage `json:"post"`
	}
	if err := dec.Decode(&raw); err != nil {
		return nil, invalid
	}
	// Nothing may follow the object (dec.More misses a stray '}' or ']').
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid
	}
	t := &transformation{}
	if raw.Pre == nil && raw.Post == nil {
		return nil, invalid
	}
	if raw.Pre != nil {
		if strings.TrimSpace(*raw.Pre) == "" {
			return nil, invalid
		}
		t.Pre = *raw.Pre
	}
	if raw.Post != nil {
		pd := json.NewDecoder(bytes.NewReader(*raw.Post))
		pd.DisallowUnknownFields()
		if err := pd.Decode(&t.Post); err != nil || t.Post == nil || len(t.Post) > maxPostTransforms {
			return nil, invalid
		}
		for _, p := range t.Post {
			switch p.Type {
			case "transformation":
				if strings.TrimSpace(p.Value) == "" || p.Protocol != "" {
					return nil, invalid
				}
			case "abs":
				if strings.TrimSpace(p.Value) == "" || (p.Protocol != "hls" && p.Protocol != "dash") {
					return nil, invalid
				}
			case "gif-to-video", "thumbnail":
				if p.Protocol != "" {
					return nil, invalid
				}
			default:
				return nil, invalid
			}
		}
	}
	return t, nil
}

// checkFileType reports a transformation the detected file cannot take.
func (t *transformation) checkFileType(mime string) *apiError {
	video := isVideoMime(mime)
	image := fileTypeOf(mime) == "image"
	if !video && !image {
		return badRequest(msgTransformNotMedia)
	}
	for _, p := range t.Post {
		switch p.Type {
		case "gif-to-video":
			if mime != "image/gif" {
				return badRequest(msgTransformMismatch)
			}
		case "thumbnail", "abs":
			if !video {
				return badRequest(msgTransformMismatch)
			}
		}
	}
	return nil
}
