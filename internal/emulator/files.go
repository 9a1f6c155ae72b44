package emulator

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
)

func notFound() *apiError {
	return &apiError{Status: http.StatusNotFound, Message: msgFileNotFound, Help: helpText}
}

// Messages of the files API. The first is ImageKit's; the others are undocumented
// and worded like it.
const (
	msgInvalidFileID   = "Your request contains invalid fileId parameter."
	msgFilesNotFound   = "The requested file(s) does not exist."
	msgMissingFileIDs  = "Your request is missing fileIds parameter."
	msgInvalidJSONBody = "Your request contains an invalid JSON body."

	// Delete File Version's documented messages.
	msgDeleteCurrentVersion = "You cannot delete current version of a file."
	msgAssetNotFound        = "The requested asset does not exist."
	msgInvalidVersionID     = "Your request contains invalid versionId parameter." // undocumented wording
)

// fileIDShape is ImageKit's fileId: 24 hex digits (a MongoDB ObjectId).
var fileIDShape = regexp.MustCompile(`^[0-9a-fA-F]{24}$`)

// fileIDParam returns the {id} of the path, or the 400 ImageKit gives for an id that
// cannot be one.
func fileIDParam(r *http.Request) (string, *apiError) {
	id := r.PathValue("id")
	if !fileIDShape.MatchString(id) {
		return "", badRequest(msgInvalidFileID)
	}
	return id, nil
}

// handleFileDetails serves GET /v1/files/{id}/details.
func (s *Server) handleFileDetails(w http.ResponseWriter, r *http.Request) {
	id, e := fileIDParam(r)
	if e != nil {
		writeError(w, e)
		return
	}
	a := s.store.current(id)
	if a == nil {
		writeError(w, notFound())
		return
	}
	writeJSON(w, http.StatusOK, s.fileDetails(a, s.baseURL(r)))
}

// handleListVersions serves GET /v1/files/{id}/versions.
func (s *Server) handleListVersions(w http.ResponseWriter, r *http.Request) {
	id, e := fileIDParam(r)
	if e != nil {
		writeError(w, e)
		return
	}
	versions := s.store.versions(id)
	if len(versions) == 0 {
		writeError(w, notFound())
		return
	}
	out := make([]map[string]any, 0, len(versions))
	cur := s.store.current(id)
	for _, v := range versions {
		out = append(out, s.versionDetails(v, cur, s.baseURL(r)))
	}
	writeJSON(w, http.StatusOK, out)
}

// handleVersionDetails serves GET /v1/files/{id}/versions/{versionId}.
func (s *Server) handleVersionDetails(w http.ResponseWriter, r *http.Request) {
	id, e := fileIDParam(r)
	if e != nil {
		writeError(w, e)
		return
	}
	cur := s.store.current(id)
	for _, v := range s.store.versions(id) {
		if v.VersionID == r.PathValue("versionId") {
			writeJSON(w, http.StatusOK, s.versionDetails(v, cur, s.baseURL(r)))
			return
		}
	}
	writeError(w, notFound())
}

// versionDetails is a version's object: type "file" for the current version,
// "file-version" for older ones, as ImageKit's versions list marks them.
func (s *Server) versionDetails(a, current *asset, base string) map[string]any {
	m := s.fileDetails(a, base)
	if current == nil || a.VersionID != current.VersionID {
		m["type"] = "file-version"
	}
	return m
}

func hasAnyTag(have, want []string) bool {
	for _, w := range want {
		for _, h := range have {
			if h == strings.TrimSpace(w) {
				return true
			}
		}
	}
	return false
}

// handleServeFile serves a stored file at the url its upload returned. A named
// transformation segment (tr:…) and ?tr= are accepted and ignored: the emulator
// returns the original. Private files need a signed URL, which the emulator does not
// issue, so they are refused, and unpublished files are not served.
func (s *Server) handleServeFile(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/"+s.cfg.URLEndpointID)
	if seg, after, ok := strings.Cut(strings.TrimPrefix(rest, "/"), "/"); ok && strings.HasPrefix(seg, "tr:") {
		rest = "/" + after
	}
	a := s.store.currentAt(rest)
	if a == nil || !a.IsPublished {
		writeError(w, notFound())
		return
	}
	if a.IsPrivateFile {
		writeError(w, &apiError{Status: http.StatusUnauthorized, Message: "This file is private: it is served only through a signed URL.", Help: helpText})
		return
	}
	b, err := s.store.blobs.open(a.blobKey())
	if err != nil {
		writeError(w, notFound())
		return
	}
	defer func() { _ = b.Close() }()
	w.Header().Set("Content-Type", a.Mime)
	w.Header().Set("ETag", `"`+a.VersionID+`"`)
	http.ServeContent(w, r, a.Name, a.UpdatedAt, b)
}

// handleDeleteFile serves DELETE /v1/files/{id}: the file and all its versions go,
// and its url stops serving.
func (s *Server) handleDeleteFile(w http.ResponseWriter, r *http.Request) {
	id, e := fileIDParam(r)
	if e != nil {
		writeError(w, e)
		return
	}
	missing, err := s.store.deleteFiles([]string{id})
	switch {
	case err != nil:
		writeError(w, &apiError{Status: http.StatusInternalServerError, Message: msgServerError, Help: helpText})
	case len(missing) > 0:
		writeError(w, notFound())
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// handleBulkDelete serves POST /v1/files/batch/deleteByFileIds. As ImageKit
// documents, one unknown id fails the whole request with 404 and missingFileIds.
func (s *Server) handleBulkDelete(w http.ResponseWriter, r *http.Request) {
	var body struct {
		FileIDs []string `json:"fileIds"`
	}
	if e := readJSONBody(w, r, &body); e != nil {
		writeError(w, e)
		return
	}
	if len(body.FileIDs) == 0 {
		writeError(w, badRequest(msgMissingFileIDs))
		return
	}
	ids := slicesCompact(body.FileIDs)
	missing, err := s.store.deleteFiles(ids)
	switch {
	case err != nil:
		writeError(w, &apiError{Status: http.StatusInternalServerError, Message: msgServerError, Help: helpText})
	case len(missing) > 0:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": msgFilesNotFound, "help": helpText, "missingFileIds": missing})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"successfullyDeletedFileIds": ids})
	}
}

// slicesCompact drops repeated ids, keeping the first of each.
func slicesCompact(ids []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// maxJSONBody bounds the JSON bodies of the files and folder APIs.
const maxJSONBody = 1 << 20

// readJSONBody decodes a JSON request body into v.
func readJSONBody(w http.ResponseWriter, r *http.Request, v any) *apiError {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err := dec.Decode(v); err != nil {
		return badRequest(msgInvalidJSONBody)
	}
	return nil
}

// handleDeleteVersion serves DELETE /v1/files/{id}/versions/{versionId}: an older
// version goes; the current one cannot.
func (s *Server) handleDeleteVersion(w http.ResponseWriter, r *http.Request) {
	id, e := fileIDParam(r)
	if e != nil {
		writeError(w, e)
		return
	}
	if !fileIDShape.MatchString(r.PathValue("versionId")) {
		writeError(w, badRequest(msgInvalidVersionID))
		return
	}
	switch err := s.store.deleteVersion(id, r.PathValue("versionId")); {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, errCurrentVersion):
		writeError(w, badRequest(msgDeleteCurrentVersion))
	case errors.Is(err, errNoSuchVersion):
		writeError(w, &apiError{Status: http.StatusNotFound, Message: msgAssetNotFound, Help: helpText})
	default:
		writeError(w, &apiError{Status: http.StatusInternalServerError, Message: msgServerError, Help: helpText})
	}
}
