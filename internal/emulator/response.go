package emulator

import (
	"fmt"
	"math"
	"time"
)

// fileURL is where the emulator serves a file, shaped like https://ik.imagekit.io/<id>/<path>.
func (s *Server) fileURL(base string, a *asset) string {
	return base + "/" + s.cfg.URLEndpointID + a.FilePath
}

func (s *Server) thumbnailURL(base string, a *asset) string {
	return base + "/" + s.cfg.URLEndpointID + "/tr:n-ik_ml_thumbnail" + a.FilePath
}

func versionInfo(a *asset) map[string]any {
	return map[string]any{"id": a.VersionID, "name": fmt.Sprintf("Version %d", a.VersionNumber)}
}

// nullable returns nil (JSON null) for an empty slice or string.
func nullable[T any](v []T) any {
	if len(v) == 0 {
		return nil
	}
	return v
}

func nullableString(v string) any {
	if v == "" {
		return nil
	}
	return v
}

func metadataOrEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// uploadResponse is the Upload API's success body (https://imagekit.io/docs/api-reference/upload-file/upload-file): the fixed fields,
// the media fields the file has, and the optional fields only when responseFields
// lists them.
func (s *Server) uploadResponse(a *asset, base string, fields map[string]bool, withExtensions bool) map[string]any {
	m := map[string]any{
		"fileId":      a.FileID,
		"name":        a.Name,
		"size":        a.Size,
		"versionInfo": versionInfo(a),
		"filePath":    a.FilePath,
		"url":         s.fileURL(base, a),
		"fileType":    a.FileType,
		"AITags":      nullable(a.AITags),
	}
	s.addMediaFields(m, a)
	if a.isImage() {
		m["thumbnailUrl"] = s.thumbnailURL(base, a)
		m["orientation"] = a.orientation()
	}
	if a.Description != "" {
		m["description"] = a.Description
	}
	if withExtensions {
		m["extensionStatus"] = a.ExtensionStatus
	}
	for f := range fields {
		switch f {
		case "tags":
			m["tags"] = nullable(a.Tags)
		case "customCoordinates":
			m["customCoordinates"] = nullableString(a.CustomCoordinates)
		case "isPrivateFile":
			m["isPrivateFile"] = a.IsPrivateFile
		case "isPublished":
			m["isPublished"] = a.IsPublished
		case "customMetadata":
			m["customMetadata"] = metadataOrEmpty(a.CustomMetadata)
		case "embeddedMetadata":
			m["embeddedMetadata"] = embeddedMetadata(a)
		case "metadata":
			m["metadata"] = legacyMetadata(a)
		case "selectedFieldsSchema":
			m["selectedFieldsSchema"] = map[string]any{}
		}
	}
	return m
}

func (s *Server) addMediaFields(m map[string]any, a *asset) {
	if a.Width > 0 {
		m["width"], m["height"] = a.Width, a.Height
	}
	if a.isVideo() && a.Duration > 0 {
		m["duration"] = int(math.Round(a.Duration))
		m["bitRate"] = a.BitRate
		if a.VideoCodec != "" {
			m["videoCodec"] = a.VideoCodec
		}
		if a.AudioCodec != "" {
			m["audioCodec"] = a.AudioCodec
		}
	}
}

// fileDetails is the Get File Details object, also sent in extension webhooks.
func (s *Server) fileDetails(a *asset, base string) map[string]any {
	m := map[string]any{
		"type":              "file",
		"fileId":            a.FileID,
		"name":              a.Name,
		"filePath":          a.FilePath,
		"tags":              nullable(a.Tags),
		"AITags":            nullable(a.AITags),
		"versionInfo":       versionInfo(a),
		"isPrivateFile":     a.IsPrivateFile,
		"isPublished":       a.IsPublished,
		"customCoordinates": nullableString(a.CustomCoordinates),
		"customMetadata":    metadataOrEmpty(a.CustomMetadata),
		"url":               s.fileURL(base, a),
		"fileType":          a.FileType,
		"mime":              a.Mime,
		"size":              a.Size,
		"hasAlpha":          a.HasAlpha,
		"createdAt":         isoTime(a.CreatedAt),
		"updatedAt":         isoTime(a.UpdatedAt),
		"embeddedMetadata":  embeddedMetadata(a),
	}
	s.addMediaFields(m, a)
	if a.isImage() {
		m["thumbnail"] = s.thumbnailURL(base, a)
	}
	if a.Description != "" {
		m["description"] = a.Description
	}
	return m
}

// isoTimeLayout is how ImageKit writes times: UTC, milliseconds, "Z"
// (2021-09-21T11:45:42.859Z).
const isoTimeLayout = "2006-01-02T15:04:05.000Z"

func isoTime(t time.Time) string { return t.UTC().Format(isoTimeLayout) }
