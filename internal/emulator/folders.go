package emulator

import (
	"net/http"
	"strings"
	"unicode"

	"github.com/ikq-dev/ikq/internal/emulator/search"
)

// Messages of the folder API: the 404 is ImageKit's (its message ends with the
// path as sent); the others are undocumented and worded like ImageKit's.
const (
	msgFolderNotFound       = "No folder found with folderPath "
	reasonFolderNotFound    = "FOLDER_NOT_FOUND"
	msgMissingFolderName    = "Your request is missing folderName parameter."
	msgMissingParentFolder  = "Your request is missing parentFolderPath parameter."
	msgMissingFolderPath    = "Your request is missing folderPath parameter."
	detailFolderPathInvalid = "A folder path can contain letters, digits, / _ and - only, nested at most 50 levels deep."
)

// handleCreateFolder serves POST /v1/folder: {"folderName", "parentFolderPath"}
// creates the folder and any missing parent, and answers 201 {}. Creating a folder
// that exists succeeds and changes nothing.
func (s *Server) handleCreateFolder(w http.ResponseWriter, r *http.Request) {
	var body struct {
		FolderName       string `json:"folderName"`
		ParentFolderPath string `json:"parentFolderPath"`
	}
	if e := readJSONBody(w, r, &body); e != nil {
		writeError(w, e)
		return
	}
	name := folderName(body.FolderName)
	switch {
	case name == "":
		writeError(w, badRequest(msgMissingFolderName))
		return
	case body.ParentFolderPath == "":
		writeError(w, badRequest(msgMissingParentFolder))
		return
	}
	parent, e := parseFolder(body.ParentFolderPath)
	if e != nil {
		writeError(w, invalidParam("parentFolderPath", detailFolderPathInvalid))
		return
	}
	full, e := parseFolder(parent + "/" + name)
	if e != nil {
		writeError(w, invalidParam("folderName", detailFolderPathInvalid))
		return
	}
	if err := s.store.createFolder(full, s.cfg.Now()); err != nil {
		writeError(w, &apiError{Status: http.StatusInternalServerError, Message: msgServerError, Help: helpText})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{})
}

// folderName trims a new folder's name and replaces each character outside
// letters, marks, digits, "_" and "-" with "_", as ImageKit's Create Folder API
// documents (it keeps "-", which folders of uploads may hold).
func folderName(v string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r) || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, strings.Trim(strings.TrimSpace(v), "/"))
}

// handleDeleteFolder serves DELETE /v1/folder: {"folderPath"} deletes the folder,
// its subfolders and every file in them, and answers 200 {}.
func (s *Server) handleDeleteFolder(w http.ResponseWriter, r *http.Request) {
	var body struct {
		FolderPath string `json:"folderPath"`
	}
	if e := readJSONBody(w, r, &body); e != nil {
		writeError(w, e)
		return
	}
	if body.FolderPath == "" {
		writeError(w, badRequest(msgMissingFolderPath))
		return
	}
	p := search.CleanFolder(body.FolderPath) // a path no folder can have is not found
	found := false
	if p != "/" { // the root is no folder of its own
		var err error
		if found, err = s.store.deleteFolder(p); err != nil {
			writeError(w, &apiError{Status: http.StatusInternalServerError, Message: msgServerError, Help: helpText})
			return
		}
	}
	if !found {
		writeJSON(w, http.StatusNotFound, map[string]any{
			"message": msgFolderNotFound + body.FolderPath, "help": helpText, "reason": reasonFolderNotFound,
		})
		return
	}
	// ImageKit's current API reference gives this call an empty JSON object as its
	// answer, and the official SDKs decode one (imagekit-go/v2 fails on a bodiless 204).
	writeJSON(w, http.StatusOK, map[string]any{})
}
