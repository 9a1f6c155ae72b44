package emulator

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
)

func notFound() *apiError {
	return &apiError{Status: http.StatusNotFound, Message: msgFileNotFound, Help: helpText}
}

// handleFileDetails serves GET /v1/files/{id}/details.
func (s *Server) handleFileDetails(w http.ResponseWriter, r *http.Request) {
	a := s.store.current(r.PathValue("id"))
	if a == nil {
		writeError(w, notFound())
		return
	}
	writeJSON(w, http.StatusOK, s.fileDetails(a, s.baseURL(r)))
}

// handleListVersions serves GET /v1/files/{id}/versions.
func (s *Server) handleListVersions(w http.ResponseWriter, r *http.Request) {
	versions := s.store.versions(r.PathValue("id"))
	if len(versions) == 0 {
		writeError(w, notFound())
		return
	}
	out := make([]map[string]any, 0, len(versions))
	cur := s.store.current(r.PathValue("id"))
	for _, v := range versions {
		out = append(out, s.versionDetails(v, cur, s.baseURL(r)))
	}
	writeJSON(w, http.StatusOK, out)
}

// handleVersionDetails serves GET /v1/files/{id}/versions/{versionId}.
func (s *Server) handleVersionDetails(w http.ResponseWriter, r *http.Request) {
	cur := s.store.current(r.PathValue("id"))
	for _, v := range s.store.versions(r.PathValue("id")) {
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

// handleListFiles serves GET /v1/files with the filters a client needs to check its
// work: path (a folder, searched with its subfolders), name, tags (any of),
// fileType, sort, skip and limit.
func (s *Server) handleListFiles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	folder, e := parseFolder(q.Get("path"))
	if e != nil {
		writeError(w, invalidParam("path", "It must be a folder path."))
		return
	}
	prefix := strings.TrimSuffix(folder, "/") + "/"
	name := q.Get("name")
	fileType := q.Get("fileType")
	if fileType != "" && fileType != "all" && fileType != "image" && fileType != "non-image" {
		writeError(w, invalidParam("fileType", "Use all, image or non-image."))
		return
	}
	var tags []string
	if v := q.Get("tags"); v != "" {
		tags = strings.Split(v, ",")
	}
	skip, err1 := atoiDefault(q.Get("skip"), 0)
	limit, err2 := atoiDefault(q.Get("limit"), 1000)
	if err1 != nil || skip < 0 {
		writeError(w, invalidParam("skip", "It must be a non-negative integer."))
		return
	}
	if err2 != nil || limit < 1 || limit > 1000 {
		writeError(w, invalidParam("limit", "It must be an integer from 1 to 1000."))
		return
	}
	files := s.store.list(func(a *asset) bool {
		if !strings.HasPrefix(a.FilePath, prefix) {
			return false
		}
		if name != "" && a.Name != name {
			return false
		}
		if fileType != "" && fileType != "all" && a.FileType != fileType {
			return false
		}
		if len(tags) > 0 && !hasAnyTag(a.Tags, tags) {
			return false
		}
		return true
	})
	switch q.Get("sort") {
	case "", "ASC_CREATED":
	case "DESC_CREATED":
		sort.SliceStable(files, func(i, j int) bool { return files[i].CreatedAt.After(files[j].CreatedAt) })
	case "ASC_NAME":
		sort.SliceStable(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	case "DESC_NAME":
		sort.SliceStable(files, func(i, j int) bool { return files[i].Name > files[j].Name })
	default:
		writeError(w, invalidParam("sort", "Use ASC_CREATED, DESC_CREATED, ASC_NAME or DESC_NAME."))
		return
	}
	files = files[min(skip, len(files)):]
	files = files[:min(limit, len(files))]
	out := make([]map[string]any, 0, len(files))
	for _, a := range files {
		out = append(out, s.fileDetails(a, s.baseURL(r)))
	}
	writeJSON(w, http.StatusOK, out)
}

func atoiDefault(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	return strconv.Atoi(v)
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
	defer b.Close()
	w.Header().Set("Content-Type", a.Mime)
	w.Header().Set("ETag", `"`+a.VersionID+`"`)
	http.ServeContent(w, r, a.Name, a.UpdatedAt, b)
}
