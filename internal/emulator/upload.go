package emulator

import (
	"context"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ikq-dev/ikq/internal/emulator/checks"
)

// sizeLimit is the largest file allowed for content starting with head: videos may
// be larger than everything else.
func (s *Server) sizeLimit(head []byte) int64 {
	if mime, ok := detectType(head, ""); ok && isVideoMime(mime) {
		return s.cfg.MaxVideoSize
	}
	return s.cfg.MaxFileSize
}

// handleUpload serves POST /api/v{1,2}/files/upload.
func (s *Server) handleUpload(version int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, resp, e := s.upload(r, version)
		if e != nil {
			s.stats.rejected.Add(1)
			s.cfg.Logger.Info("upload rejected", "status", e.Status, "message", e.Message)
			// Read what the client is still sending (up to the size limit), so that it
			// sees this answer rather than a reset connection.
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, s.cfg.MaxVideoSize))
			writeError(w, e)
			return
		}
		writeJSON(w, status, resp)
	}
}

func (s *Server) upload(r *http.Request, version int) (int, any, *apiError) {
	fault, latency := s.faults.next()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return 0, nil, &apiError{Status: http.StatusServiceUnavailable, Message: msgServiceDown, Help: helpText}
		}
	}
	if fault != nil {
		s.stats.fault(fault.Status)
		return 0, nil, fault
	}
	// A wrong key is refused before the body is read.
	if _, _, basic := r.BasicAuth(); basic {
		if e := s.checkBasic(r); e != nil {
			return 0, nil, e
		}
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return 0, nil, badRequest(msgNotMultipart)
	}
	form, err := readForm(mr, s.store.blobs.create, s.sizeLimit)
	if err != nil {
		return 0, nil, formErr(err)
	}
	committed := false
	defer func() {
		if !committed {
			form.abort()
		}
	}()
	if e := s.authenticate(r, version, form.fields); e != nil {
		return 0, nil, e
	}
	if !form.hasFile {
		return 0, nil, badRequest(msgMissingFile)
	}
	params, e := parseParams(form.fields)
	if e != nil {
		return 0, nil, e
	}
	if form.fileURL != "" {
		if form.staged, e = s.download(r.Context(), form.fileURL); e != nil {
			return 0, nil, e
		}
	}
	st := form.staged
	mime, ok := detectType(st.head, params.FileName)
	if !ok {
		return 0, nil, badRequest(msgUnsupportedType)
	}
	if (isVideoMime(mime) && st.size > s.cfg.MaxVideoSize) || (!isVideoMime(mime) && st.size > s.cfg.MaxFileSize) {
		return 0, nil, badRequest(msgTooLarge)
	}
	if params.Transformation != nil {
		if e := params.Transformation.checkFileType(mime); e != nil {
			return 0, nil, e
		}
	}
	if params.CustomMetadataSet {
		if e := s.checkCustomMetadata(params.CustomMetadata); e != nil {
			return 0, nil, e
		}
	}
	info := inspect(st.w.readerAt(), st.size, mime)
	if params.Checks != nil && !params.Checks.Eval(checksInput(params, form.fields, st.size, mime, info)) {
		return 0, nil, badRequest(msgChecksFailed)
	}

	name := params.FileName
	if params.UseUniqueFileName {
		name = uniqueName(name, uniqueSuffix())
	}
	path := filePath(params.Folder, name)
	// The requested name, not the unique one: the same content uploaded under the
	// same name gets the same extension results.
	contentKey := contentKey(params.FileName, st)
	defaults := s.metadataDefaults() // read before put takes the store's lock
	var pending []extension
	a, err := s.store.put(path, st.w, func(prev *asset) (*asset, error) {
		if prev != nil && !params.OverwriteFile && !params.UseUniqueFileName {
			return nil, errConflict
		}
		var v *asset
		v, pending = s.newVersion(prev, params, name, path, mime, st.size, info, contentKey, defaults)
		return v, nil
	})
	switch {
	case errors.Is(err, errConflict):
		return 0, nil, badRequest(msgConflict)
	case errors.Is(err, errVersionLimit):
		return 0, nil, badRequest(msgVersionLimit)
	case err != nil:
		s.cfg.Logger.Error("storing upload", "err", err)
		return 0, nil, &apiError{Status: http.StatusInternalServerError, Message: msgServerError, Help: helpText}
	}
	committed = true
	s.stats.uploads.Add(1)
	s.stats.bytes.Add(a.Size)

	base := s.baseURL(r)
	requestID, _ := r.Context().Value(requestIDKey{}).(string)
	resp := s.uploadResponse(a, base, params.ResponseFields, len(params.Extensions) > 0)
	for _, ext := range pending {
		s.finishExtensionLater(a.FileID, contentKey, ext, params.WebhookURL, base)
	}
	if t := params.Transformation; t != nil {
		s.sendTransformEvents(a, t, base, requestID, resp)
		if t.Pre != "" && a.isVideo() {
			return http.StatusAccepted, map[string]string{"message": "The pre-transformation has been queued successfully."}, nil
		}
	}
	return http.StatusOK, resp, nil
}

func formErr(err error) *apiError {
	var fe formError
	switch {
	case errors.As(err, &fe):
		return fe.api
	case errors.Is(err, errTooLarge):
		return badRequest(msgTooLarge)
	}
	return &apiError{Status: http.StatusInternalServerError, Message: msgServerError, Help: helpText}
}

// newVersion builds the stored record of an upload: a new file, or the next version
// of prev with the Upload API's overwrite rules (overwriteFile, overwriteAITags,
// overwriteTags, overwriteCustomMetadata) applied. It returns the extensions
// that finish later.
func (s *Server) newVersion(prev *asset, p *uploadParams, name, path, mime string, size int64, info mediaInfo, contentKey string, defaults map[string]any) (*asset, []extension) {
	now := s.cfg.Now().UTC()
	id := newID(now)
	a := &asset{
		FileID: id, VersionID: id, VersionNumber: 1,
		Name: name, FilePath: path,
		Tags:              p.Tags,
		IsPrivateFile:     p.IsPrivateFile,
		IsPublished:       p.IsPublished,
		CustomCoordinates: p.CustomCoordinates,
		CustomMetadata:    p.CustomMetadata,
		Description:       p.Description,
		Mime:              mime, FileType: fileTypeOf(mime), Size: size,
		Width: info.Width, Height: info.Height, HasAlpha: info.HasAlpha,
		CreatedAt: now, UpdatedAt: now,
		EmbeddedMetadata: info.Embedded,
	}
	if v := info.Video; v != nil {
		a.Duration, a.BitRate, a.VideoCodec, a.AudioCodec = v.Duration, v.BitRate, v.VideoCodec, v.AudioCodec
	}
	if prev != nil {
		a.FileID, a.VersionNumber, a.CreatedAt = prev.FileID, prev.VersionNumber+1, prev.CreatedAt
		// Without tags or customMetadata in the request, overwriteTags and
		// overwriteCustomMetadata decide whether the old values go; with them, the
		// request's values win whatever those flags say.
		if !p.TagsSet && !p.OverwriteTags {
			a.Tags = prev.Tags
		}
		if !p.CustomMetadataSet && !p.OverwriteCustomMetadata {
			a.CustomMetadata = prev.CustomMetadata
		}
		if !p.OverwriteAITags {
			a.AITags = prev.AITags
		}
	}
	if prev == nil || p.OverwriteCustomMetadata {
		for k, v := range defaults {
			if _, set := a.CustomMetadata[k]; !set {
				if a.CustomMetadata == nil {
					a.CustomMetadata = map[string]any{}
				}
				a.CustomMetadata[k] = v
			}
		}
	}
	var pending []extension
	if len(p.Extensions) > 0 {
		a.ExtensionStatus = map[string]string{}
	}
	for _, ext := range p.Extensions {
		switch {
		case ext.isAutoTagging() && !s.cfg.PendingAutoTagging:
			if slices.Contains(s.cfg.FailExtensions, ext.Name) {
				a.ExtensionStatus[ext.Name] = "failed"
				continue
			}
			a.AITags = mergeTags(a.AITags, autoTags(ext, contentKey))
			a.ExtensionStatus[ext.Name] = "success"
		default:
			a.ExtensionStatus[ext.Name] = "pending"
			pending = append(pending, ext)
		}
	}
	return a, pending
}

func mergeTags(have, add []aiTag) []aiTag {
	for _, t := range add {
		if !slices.ContainsFunc(have, func(h aiTag) bool { return h.Name == t.Name && h.Source == t.Source }) {
			have = append(have, t)
		}
	}
	return have
}

// contentKey identifies content for deterministic extension results.
func contentKey(name string, st *staged) string {
	h := fnv.New128a()
	h.Write(st.head)
	h.Write([]byte(name))
	return hex.EncodeToString(h.Sum(nil))
}

func checksInput(p *uploadParams, fields map[string]string, size int64, mime string, info mediaInfo) checks.Input {
	in := checks.Input{
		Size: size, Mime: mime, Width: info.Width, Height: info.Height,
		Request: fields, CustomMetadata: p.CustomMetadata,
	}
	if info.Video != nil {
		in.Duration = info.Video.Duration
	}
	return in
}

// finishExtensionLater completes a pending extension after the configured delay and
// reports it to the upload's webhookUrl.
func (s *Server) finishExtensionLater(fileID, contentKey string, ext extension, webhookURL, base string) {
	s.goBackground(func(ctx context.Context) {
		select {
		case <-time.After(s.cfg.ExtensionDelay):
		case <-ctx.Done():
			return
		}
		failed := slices.Contains(s.cfg.FailExtensions, ext.Name)
		a := s.store.update(fileID, func(a *asset) {
			status := "success"
			if failed {
				status = "failed"
			} else {
				switch {
				case ext.isAutoTagging():
					a.AITags = mergeTags(a.AITags, autoTags(ext, contentKey))
				case ext.Name == extAutoDescribe:
					a.Description = describe(a)
				}
			}
			if a.ExtensionStatus == nil {
				a.ExtensionStatus = map[string]string{}
			}
			a.ExtensionStatus[ext.Name] = status
			a.UpdatedAt = s.cfg.Now().UTC()
		})
		if a == nil || webhookURL == "" {
			return
		}
		var body map[string]any
		if failed {
			body = map[string]any{"service": ext.Name, "status": "FAILURE", "fileId": a.FileID,
				"error": map[string]any{"reason": strings.ReplaceAll(ext.Name, "-", "_") + "_failed"}}
		} else {
			body = map[string]any{"service": ext.Name, "status": "SUCCESS", "fileObject": s.fileDetails(a, base)}
		}
		s.deliver(ctx, webhookURL, body, nil)
	})
}
