package emulator

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// folder is a folder of the media library.
type folder struct {
	ID        string
	Path      string // "/a/b"
	CreatedAt time.Time
}

// Name is the folder's last path segment.
func (f *folder) Name() string { return path.Base(f.Path) }

// folderEntry is the journal record of a folder created through the folder API.
type folderEntry struct {
	Path string    `json:"path"`
	At   time.Time `json:"at"`
}

// deletion is the journal record of deleted files, of a deleted folder subtree or of
// one deleted older version (VersionID of file VersionOf).
type deletion struct {
	FileIDs    []string `json:"fileIds,omitempty"`
	FolderPath string   `json:"folderPath,omitempty"`
	VersionOf  string   `json:"versionOf,omitempty"`
	VersionID  string   `json:"versionId,omitempty"`
}

// folderOf is the folder holding a file path: "/" or "/a/b".
func folderOf(filePath string) string { return path.Dir(filePath) }

// folderID is a folder's id, shaped like ImageKit's ids (creation second, then
// bytes of a hash of the path) and the same on every replay of the journal.
func folderID(p string, created time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[0:4], uint32(created.Unix())) //nolint:gosec // G115: an ObjectId-style 32-bit timestamp, truncated on purpose
	h := sha256.Sum256([]byte(p))
	copy(b[4:], h[:8])
	return hex.EncodeToString(b[:])
}

// ensureFolders makes p and every folder above it exist; the caller holds the lock
// or is replaying.
func (s *store) ensureFolders(p string, at time.Time) {
	for p != "/" && p != "." && p != "" {
		if _, ok := s.folders[p]; ok {
			return // its parents exist too
		}
		s.folders[p] = &folder{ID: folderID(p, at), Path: p, CreatedAt: at}
		p = path.Dir(p)
	}
}

// inFolder reports whether p is folder dir or lies below it.
func inFolder(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// applyDelete removes files, or a folder with everything below it; the caller holds
// the lock or is replaying.
func (s *store) applyDelete(d *deletion) {
	if d.VersionID != "" {
		versions := s.files[d.VersionOf]
		for i, v := range versions[:max(len(versions)-1, 0)] { // never the current one
			if v.VersionID == d.VersionID {
				s.files[d.VersionOf] = append(versions[:i:i], versions[i+1:]...)
				break
			}
		}
	}
	gone := map[string]bool{}
	for _, id := range d.FileIDs {
		gone[id] = true
	}
	if d.FolderPath != "" {
		for p := range s.folders {
			if inFolder(p, d.FolderPath) {
				delete(s.folders, p)
			}
		}
		for id, versions := range s.files {
			if inFolder(versions[len(versions)-1].FilePath, d.FolderPath) {
				gone[id] = true
			}
		}
	}
	if len(gone) == 0 {
		return
	}
	for id := range gone {
		for _, v := range s.files[id] {
			if s.paths[v.FilePath] == id {
				delete(s.paths, v.FilePath)
			}
		}
		delete(s.files, id)
	}
	kept := s.order[:0]
	for _, id := range s.order {
		if !gone[id] {
			kept = append(kept, id)
		}
	}
	s.order = kept
}

// createFolder creates the folder at p ("/a/b") and its parents; an existing folder
// is left as it is.
func (s *store) createFolder(p string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.folders[p]; ok {
		return nil
	}
	return s.record(journalEntry{Folder: &folderEntry{Path: p, At: at}})
}

// deleteFolder deletes the folder at p with its subtree; false when there is none.
func (s *store) deleteFolder(p string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.folders[p]; !ok {
		return false, nil
	}
	var keys []string
	for _, versions := range s.files {
		if inFolder(versions[len(versions)-1].FilePath, p) {
			keys = append(keys, blobKeys(versions)...)
		}
	}
	if err := s.record(journalEntry{Delete: &deletion{FolderPath: p}}); err != nil {
		return true, err
	}
	return true, s.removeBlobs(keys)
}

func blobKeys(versions []*asset) []string {
	keys := make([]string, 0, len(versions))
	for _, v := range versions {
		keys = append(keys, v.blobKey())
	}
	return keys
}

// removeBlobs frees the contents of deleted versions, once the deletion is
// recorded; the caller holds the lock.
func (s *store) removeBlobs(keys []string) error {
	var errs []error
	for _, k := range keys {
		errs = append(errs, s.blobs.remove(k))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("emulator: removing deleted contents: %w", err)
	}
	return nil
}

// deleteFiles deletes the files with these ids, all or none: when any is unknown it
// deletes nothing and returns the unknown ones.
func (s *store) deleteFiles(ids []string) (missing []string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if len(s.files[id]) == 0 {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return missing, nil
	}
	var keys []string
	for _, id := range ids {
		keys = append(keys, blobKeys(s.files[id])...)
	}
	if err := s.record(journalEntry{Delete: &deletion{FileIDs: ids}}); err != nil {
		return nil, err
	}
	return nil, s.removeBlobs(keys)
}

// folderList returns every folder, oldest first.
func (s *store) folderList() []*folder {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*folder, 0, len(s.folders))
	for _, f := range s.folders {
		c := *f
		out = append(out, &c)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].Path < out[j].Path
	})
	return out
}

// olderVersions returns every version of every file but the current one, by file
// creation and then version.
func (s *store) olderVersions() []*asset {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*asset
	for _, id := range s.order {
		v := s.files[id]
		for _, a := range v[:len(v)-1] {
			out = append(out, a.clone())
		}
	}
	return out
}

// Outcomes of deleteVersion.
var (
	errNoSuchVersion  = errors.New("no such file version")
	errCurrentVersion = errors.New("the current version")
)

// deleteVersion deletes an older version of a file.
func (s *store) deleteVersion(fileID, versionID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	versions := s.files[fileID]
	for i, v := range versions {
		if v.VersionID != versionID {
			continue
		}
		if i == len(versions)-1 {
			return errCurrentVersion
		}
		if err := s.record(journalEntry{Delete: &deletion{VersionOf: fileID, VersionID: versionID}}); err != nil {
			return err
		}
		return s.removeBlobs([]string{v.blobKey()})
	}
	return errNoSuchVersion
}
