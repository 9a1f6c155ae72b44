package emulator

import "time"

// asset is one version of a stored file: everything the files API and the upload
// response report about it.
type asset struct {
	FileID        string `json:"fileId"`
	VersionID     string `json:"versionId"`
	VersionNumber int    `json:"versionNumber"`

	Name     string `json:"name"`
	FilePath string `json:"filePath"`

	Tags              []string          `json:"tags,omitempty"`
	AITags            []aiTag           `json:"AITags,omitempty"`
	IsPrivateFile     bool              `json:"isPrivateFile"`
	IsPublished       bool              `json:"isPublished"`
	CustomCoordinates string            `json:"customCoordinates,omitempty"`
	CustomMetadata    map[string]any    `json:"customMetadata,omitempty"`
	Description       string            `json:"description,omitempty"`
	ExtensionStatus   map[string]string `json:"extensionStatus,omitempty"`

	Mime     string `json:"mime"`
	FileType string `json:"fileType"`
	Size     int64  `json:"size"`
	Width    int    `json:"width,omitempty"`
	Height   int    `json:"height,omitempty"`
	HasAlpha bool   `json:"hasAlpha"`
	// Video fields, where the container could be read.
	Duration   float64 `json:"duration,omitempty"`
	BitRate    int64   `json:"bitRate,omitempty"`
	VideoCodec string  `json:"videoCodec,omitempty"`
	AudioCodec string  `json:"audioCodec,omitempty"`

	EmbeddedMetadata map[string]any `json:"embeddedMetadata,omitempty"`

	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

type aiTag struct {
	Name       string  `json:"name"`
	Confidence float64 `json:"confidence"`
	Source     string  `json:"source"`
}

func (a *asset) clone() *asset {
	c := *a
	c.Tags = append([]string(nil), a.Tags...)
	c.AITags = append([]aiTag(nil), a.AITags...)
	c.CustomMetadata = cloneMap(a.CustomMetadata)
	c.EmbeddedMetadata = cloneMap(a.EmbeddedMetadata)
	if a.ExtensionStatus != nil {
		c.ExtensionStatus = make(map[string]string, len(a.ExtensionStatus))
		for k, v := range a.ExtensionStatus {
			c.ExtensionStatus[k] = v
		}
	}
	return &c
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// blobKey names the stored content of a version.
func (a *asset) blobKey() string { return a.VersionID }

func (a *asset) isVideo() bool { return isVideoMime(a.Mime) }

func (a *asset) isImage() bool { return a.FileType == "image" }

// orientation is the EXIF orientation of an image, 1 (upright) when it has none.
func (a *asset) orientation() int {
	switch v := a.EmbeddedMetadata["Orientation"].(type) {
	case int:
		return v
	case float64: // read back from the store's JSON
		return int(v)
	}
	return 1
}
