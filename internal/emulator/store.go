package emulator

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// maxVersions is the Upload API's version limit per file.
const maxVersions = 100

var (
	errConflict     = errors.New("file exists")
	errVersionLimit = errors.New("version limit reached")
	errTokenReused  = errors.New("token reused")
)

// store holds the emulator's state: files and their versions, custom metadata fields
// and used client-side tokens. With a data dir every change is appended to a journal
// that is replayed at start.
type store struct {
	mu     sync.RWMutex
	files  map[string][]*asset // fileId → versions, oldest first
	paths  map[string]string   // filePath → fileId
	order  []string            // fileIds in creation order
	fields map[string]*metadataField
	tokens map[string]time.Time // used client-side tokens → when they stop mattering
	// folders holds every folder by path ("/a/b"): those created through the
	// folder API and those an upload put a file into.
	folders map[string]*folder

	blobs   blobStore
	journal *os.File
}

type journalEntry struct {
	Version *asset         `json:"version,omitempty"`
	Field   *metadataField `json:"field,omitempty"`
	Token   string         `json:"token,omitempty"`
	Until   time.Time      `json:"until,omitzero"`
	Folder  *folderEntry   `json:"folder,omitempty"`
	Delete  *deletion      `json:"delete,omitempty"`
}

func openStore(dataDir string) (*store, error) {
	s := &store{
		files:  map[string][]*asset{},
		paths:  map[string]string{},
		fields: map[string]*metadataField{},
		tokens: map[string]time.Time{},

		folders: map[string]*folder{},
	}
	if dataDir == "" {
		s.blobs = newMemBlobs()
		return s, nil
	}
	blobs, err := newDiskBlobs(dataDir)
	if err != nil {
		return nil, err
	}
	s.blobs = blobs
	path := filepath.Join(dataDir, "journal.jsonl")
	if err := s.replay(path); err != nil {
		return nil, err
	}
	s.journal, err = os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644) //nolint:gosec // G304: the journal the emulator was configured with
	if err != nil {
		return nil, fmt.Errorf("emulator: journal: %w", err)
	}
	return s, nil
}

func (s *store) replay(path string) error {
	f, err := os.Open(path) //nolint:gosec // G304: the journal the emulator was configured with
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("emulator: journal: %w", err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		var e journalEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// A torn last line from a crash is dropped; anything else is corruption.
			if !sc.Scan() {
				break
			}
			return fmt.Errorf("emulator: journal line %d: %w", line, err)
		}
		s.apply(e)
	}
	return sc.Err()
}

// apply changes memory state; the caller holds the lock or is replaying.
func (s *store) apply(e journalEntry) {
	switch {
	case e.Version != nil:
		v := e.Version
		versions := s.files[v.FileID]
		if len(versions) == 0 {
			s.order = append(s.order, v.FileID)
		}
		if n := len(versions); n > 0 && versions[n-1].VersionID == v.VersionID {
			versions[n-1] = v // an update of the current version
		} else {
			versions = append(versions, v)
		}
		s.files[v.FileID] = versions
		s.paths[v.FilePath] = v.FileID
		s.ensureFolders(folderOf(v.FilePath), v.CreatedAt)
	case e.Field != nil:
		s.fields[e.Field.ID] = e.Field
	case e.Token != "":
		s.tokens[e.Token] = e.Until
	case e.Folder != nil:
		s.ensureFolders(e.Folder.Path, e.Folder.At)
	case e.Delete != nil:
		s.applyDelete(e.Delete)
	}
}

func (s *store) record(e journalEntry) error {
	s.apply(e)
	if s.journal == nil {
		return nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = s.journal.Write(append(b, '\n'))
	return err
}

func (s *store) close() error {
	if s.journal != nil {
		return s.journal.Close()
	}
	return nil
}

// useToken marks a client-side token used; a second use fails with errTokenReused.
func (s *store) useToken(token string, until, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, used := s.tokens[token]; used {
		return errTokenReused
	}
	for t, u := range s.tokens {
		if now.After(u) {
			delete(s.tokens, t)
		}
	}
	return s.record(journalEntry{Token: token, Until: until})
}

// current returns the latest version of the file at path.
func (s *store) currentAt(path string) *asset {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.paths[path]
	if !ok {
		return nil
	}
	v := s.files[id]
	return v[len(v)-1].clone()
}

func (s *store) current(fileID string) *asset {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v := s.files[fileID]
	if len(v) == 0 {
		return nil
	}
	return v[len(v)-1].clone()
}

func (s *store) versions(fileID string) []*asset {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*asset, 0, len(s.files[fileID]))
	for _, v := range s.files[fileID] {
		out = append(out, v.clone())
	}
	return out
}

// put stores a new file, or a new version of the file at path. build fills the version
// from the current one there (nil when there is none); it runs under the lock, so that
// uploads to one path serialise, and may refuse with an error.
func (s *store) put(path string, w blobWriter, build func(prev *asset) (*asset, error)) (*asset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var prev *asset
	if id, ok := s.paths[path]; ok {
		versions := s.files[id]
		prev = versions[len(versions)-1].clone()
	}
	a, err := build(prev)
	if err != nil {
		return nil, err
	}
	if prev != nil && len(s.files[prev.FileID]) >= maxVersions {
		return nil, errVersionLimit
	}
	if err := w.commit(a.blobKey()); err != nil {
		return nil, fmt.Errorf("emulator: storing file: %w", err)
	}
	if err := s.record(journalEntry{Version: a}); err != nil {
		return nil, err
	}
	return a.clone(), nil
}

// update changes the current version of a file in place (extension results).
func (s *store) update(fileID string, change func(a *asset)) *asset {
	s.mu.Lock()
	defer s.mu.Unlock()
	versions := s.files[fileID]
	if len(versions) == 0 {
		return nil
	}
	a := versions[len(versions)-1].clone()
	change(a)
	_ = s.record(journalEntry{Version: a})
	return a.clone()
}

// list returns the current version of every file matching keep, oldest first.
func (s *store) list(keep func(*asset) bool) []*asset {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*asset
	for _, id := range s.order {
		v := s.files[id]
		cur := v[len(v)-1]
		if keep(cur) {
			out = append(out, cur.clone())
		}
	}
	return out
}

func (s *store) putField(f *metadataField) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.record(journalEntry{Field: f})
}

// fieldList returns the custom metadata fields, by creation.
func (s *store) fieldList(includeDeleted bool) []*metadataField {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*metadataField, 0, len(s.fields))
	for _, f := range s.fields {
		if f.deleted() && !includeDeleted {
			continue
		}
		c := *f
		out = append(out, &c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// fieldNamed returns the live field with this name.
func (s *store) fieldNamed(name string) *metadataField {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, f := range s.fields {
		if f.Name == name && !f.deleted() {
			c := *f
			return &c
		}
	}
	return nil
}

// count is the number of files.
func (s *store) count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.files)
}
