package emulator

import (
	"cmp"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ikq-dev/ikq/internal/emulator/search"
)

// msgSearchSyntax opens the 400 for a searchQuery that does not parse; ImageKit does
// not document its wording, so it is written like the checks parameter's.
const msgSearchSyntax = "Your request contains invalid syntax for the searchQuery parameter."

// listTypes are the values of the type parameter.
var listTypes = map[string]bool{"file": true, "file-version": true, "folder": true, "all": true}

// listSorts order entries; each compares a before b. ASC_CREATED is the base order,
// and the relevance sorts keep it, as the emulator does not score matches.
var listSorts = map[string]func(a, b *listEntry) int{
	"ASC_CREATED":    func(a, b *listEntry) int { return 0 },
	"DESC_CREATED":   func(a, b *listEntry) int { return b.item.CreatedAt.Compare(a.item.CreatedAt) },
	"ASC_NAME":       func(a, b *listEntry) int { return strings.Compare(a.item.Name, b.item.Name) },
	"DESC_NAME":      func(a, b *listEntry) int { return strings.Compare(b.item.Name, a.item.Name) },
	"ASC_UPDATED":    func(a, b *listEntry) int { return a.item.UpdatedAt.Compare(b.item.UpdatedAt) },
	"DESC_UPDATED":   func(a, b *listEntry) int { return b.item.UpdatedAt.Compare(a.item.UpdatedAt) },
	"ASC_HEIGHT":     func(a, b *listEntry) int { return cmp.Compare(a.item.Height, b.item.Height) },
	"DESC_HEIGHT":    func(a, b *listEntry) int { return cmp.Compare(b.item.Height, a.item.Height) },
	"ASC_WIDTH":      func(a, b *listEntry) int { return cmp.Compare(a.item.Width, b.item.Width) },
	"DESC_WIDTH":     func(a, b *listEntry) int { return cmp.Compare(b.item.Width, a.item.Width) },
	"ASC_SIZE":       func(a, b *listEntry) int { return cmp.Compare(a.item.Size, b.item.Size) },
	"DESC_SIZE":      func(a, b *listEntry) int { return cmp.Compare(b.item.Size, a.item.Size) },
	"ASC_RELEVANCE":  func(a, b *listEntry) int { return 0 },
	"DESC_RELEVANCE": func(a, b *listEntry) int { return 0 },
}

// listParams are the parameters of GET /v1/files, checked.
type listParams struct {
	folder   string // the path parameter as "/" or "/a/b"; "" lists every folder
	typ      string
	query    *search.Query
	name     string
	tags     []string
	fileType string
	sort     string
	skip     int
	limit    int
}

func parseListParams(q url.Values) (*listParams, *apiError) {
	p := &listParams{typ: q.Get("type"), name: q.Get("name"), fileType: q.Get("fileType"), sort: q.Get("sort")}
	if p.typ == "" {
		p.typ = "file"
		if q.Get("includeFolder") == "true" { // the parameter type replaced, still sent by npm imagekit@6
			p.typ = "all"
		}
	}
	if !listTypes[p.typ] {
		return nil, invalidParam("type", "Use file, file-version, folder or all.")
	}
	if p.sort == "" {
		p.sort = "ASC_CREATED"
	}
	if listSorts[p.sort] == nil {
		return nil, invalidParam("sort", "Use ASC_NAME, DESC_NAME, ASC_CREATED, DESC_CREATED, ASC_UPDATED, DESC_UPDATED, ASC_HEIGHT, DESC_HEIGHT, ASC_WIDTH, DESC_WIDTH, ASC_SIZE, DESC_SIZE, ASC_RELEVANCE or DESC_RELEVANCE.")
	}
	if p.fileType == "" {
		p.fileType = "all"
	}
	if p.fileType != "all" && p.fileType != "image" && p.fileType != "non-image" {
		return nil, invalidParam("fileType", "Use all, image or non-image.")
	}
	var err error
	if p.skip, err = intParam(q.Get("skip"), 0); err != nil || p.skip < 0 {
		return nil, invalidParam("skip", "It must be a non-negative integer.")
	}
	if p.limit, err = intParam(q.Get("limit"), 1000); err != nil || p.limit < 1 || p.limit > 1000 {
		return nil, invalidParam("limit", "It must be an integer from 1 to 1000.")
	}
	if v := q.Get("path"); v != "" {
		// Any path is a filter: one no folder can have matches nothing.
		p.folder = search.CleanFolder(v)
	}
	if v := q.Get("tags"); v != "" {
		for _, t := range strings.Split(v, ",") {
			p.tags = append(p.tags, strings.TrimSpace(t))
		}
	}
	if v := q.Get("searchQuery"); v != "" {
		query, err := search.Parse(v)
		if err != nil {
			return nil, badRequest(msgSearchSyntax + " Error " + err.Error() + ".")
		}
		p.query = query
	}
	return p, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func intParam(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	return strconv.Atoi(v)
}

// listEntry is a file, an older file version or a folder, as the query sees it and
// as the answer writes it.
type listEntry struct {
	item   search.Item
	asset  *asset
	folder *folder
}

// handleListFiles serves GET /v1/files: ImageKit's List and Search Assets API (see
// doc.go for where each rule comes from).
func (s *Server) handleListFiles(w http.ResponseWriter, r *http.Request) {
	p, e := parseListParams(r.URL.Query())
	if e != nil {
		writeError(w, e)
		return
	}
	// With a searchQuery, type, name and tags have no effect and the query picks
	// among files and folders, and versions when it names them.
	wantFiles, wantVersions, wantFolders := p.typ == "file" || p.typ == "all", p.typ == "file-version", p.typ == "folder" || p.typ == "all"
	if p.query != nil {
		wantFiles, wantVersions, wantFolders = true, p.query.SelectsVersions(), true
	}
	var entries []*listEntry
	if wantFiles {
		for _, a := range s.store.list(func(*asset) bool { return true }) {
			entries = append(entries, assetEntry(a, "file"))
		}
	}
	if wantVersions {
		for _, a := range s.store.olderVersions() {
			entries = append(entries, assetEntry(a, "file-version"))
		}
	}
	if wantFolders {
		for _, f := range s.store.folderList() {
			entries = append(entries, folderEntryOf(f))
		}
	}
	now := s.cfg.Now()
	entries = slices.DeleteFunc(entries, func(en *listEntry) bool { return !p.keeps(en, now) })
	// Creation order, a folder before the files an upload created it with.
	slices.SortStableFunc(entries, func(a, b *listEntry) int {
		if c := a.item.CreatedAt.Compare(b.item.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(boolInt(b.folder != nil), boolInt(a.folder != nil))
	})
	slices.SortStableFunc(entries, listSorts[p.sort])
	entries = entries[min(p.skip, len(entries)):]
	entries = entries[:min(p.limit, len(entries))]
	base := s.baseURL(r)
	out := make([]map[string]any, 0, len(entries))
	for _, en := range entries {
		out = append(out, s.entryJSON(en, base))
	}
	writeJSON(w, http.StatusOK, out)
}

// keeps applies path, fileType and either searchQuery or name and tags.
func (p *listParams) keeps(en *listEntry, now time.Time) bool {
	it := &en.item
	if p.folder != "" && it.Folder != p.folder {
		return false // path lists one folder level
	}
	if p.fileType != "all" {
		if en.asset == nil || (en.asset.FileType == "image") != (p.fileType == "image") {
			return false
		}
	}
	if p.query != nil {
		return p.query.Match(it, now)
	}
	if p.name != "" && it.Name != p.name {
		return false
	}
	return len(p.tags) == 0 || hasAnyTag(it.Tags, p.tags)
}

func assetEntry(a *asset, typ string) *listEntry {
	it := search.Item{
		Type: typ, ID: a.FileID, Name: a.Name, Folder: folderOf(a.FilePath),
		Tags: a.Tags, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
		Size: a.Size, Width: a.Width, Height: a.Height, Format: formatOf(a),
		Private: a.IsPrivateFile, Published: a.IsPublished, Transparency: a.HasAlpha,
		CustomMetadata: a.CustomMetadata, EmbeddedMetadata: a.EmbeddedMetadata,
	}
	for _, t := range a.AITags {
		it.AITags = append(it.AITags, t.Name)
	}
	return &listEntry{item: it, asset: a}
}

func folderEntryOf(f *folder) *listEntry {
	return &listEntry{folder: f, item: search.Item{
		Type: "folder", ID: f.ID, Name: f.Name(), Folder: path.Dir(f.Path),
		CreatedAt: f.CreatedAt, UpdatedAt: f.CreatedAt,
	}}
}

// formatOf is the format searchQuery's format field matches: the file's extension,
// else its MIME subtype, with jpeg written jpg.
func formatOf(a *asset) string {
	f := strings.ToLower(strings.TrimPrefix(path.Ext(a.Name), "."))
	if f == "" {
		_, f, _ = strings.Cut(a.Mime, "/")
	}
	if f == "jpeg" {
		f = "jpg"
	}
	return f
}

func (s *Server) entryJSON(en *listEntry, base string) map[string]any {
	if en.folder != nil {
		return folderJSON(en.folder)
	}
	m := s.fileDetails(en.asset, base)
	m["type"] = en.item.Type
	return m
}

// folderJSON is a folder as the list API writes it.
func folderJSON(f *folder) map[string]any {
	ts := f.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	return map[string]any{
		"type":           "folder",
		"folderId":       f.ID,
		"name":           f.Name(),
		"folderPath":     f.Path,
		"customMetadata": map[string]any{},
		"createdAt":      ts,
		"updatedAt":      ts,
	}
}
