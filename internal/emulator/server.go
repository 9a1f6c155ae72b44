package emulator

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/ikq-dev/ikq/internal/netguard"
)

// Server is an ImageKit-compatible HTTP server: the Upload API v1 and v2, the files
// and folder APIs, custom metadata fields, file serving, extension webhooks and fault
// injection. It is an http.Handler.
type Server struct {
	cfg    Config
	fetch  *http.Client // downloads URL sources through the SSRF guard
	store  *store
	mux    *http.ServeMux
	faults *faults
	stats  stats

	ctx    context.Context // ends background work (extensions, webhooks) on Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a server configured by cfg. Close it to stop its background work.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	st, err := openStore(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	guard, err := netguard.New(netguard.Config{Allow: cfg.FetchAllow})
	if err != nil {
		_ = st.close()
		return nil, fmt.Errorf("emulator: FetchAllow: %w", err)
	}
	s := &Server{cfg: cfg, store: st, mux: http.NewServeMux(), faults: newFaults(cfg.Faults, cfg.Now), fetch: guard.Client(0)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("POST /api/v1/files/upload", s.handleUpload(1))
	m.HandleFunc("POST /api/v2/files/upload", s.handleUpload(2))

	// The files and folder APIs answer on v1 and v2 alike (rclone calls v2), with or
	// without a trailing slash (npm imagekit@6 lists GET /v1/files/).
	for _, v := range []string{"/v1", "/v2"} {
		m.HandleFunc("GET "+v+"/files", s.private(s.handleListFiles))
		m.HandleFunc("GET "+v+"/files/{$}", s.private(s.handleListFiles))
		m.HandleFunc("GET "+v+"/files/{id}/details", s.private(s.handleFileDetails))
		m.HandleFunc("DELETE "+v+"/files/{id}", s.private(s.handleDeleteFile))
		m.HandleFunc("POST "+v+"/files/batch/deleteByFileIds", s.private(s.handleBulkDelete))
		m.HandleFunc("GET "+v+"/files/{id}/versions", s.private(s.handleListVersions))
		m.HandleFunc("GET "+v+"/files/{id}/versions/{versionId}", s.private(s.handleVersionDetails))
		m.HandleFunc("DELETE "+v+"/files/{id}/versions/{versionId}", s.private(s.handleDeleteVersion))
		for _, folder := range []string{v + "/folder", v + "/folder/{$}"} {
			m.HandleFunc("POST "+folder, s.private(s.handleCreateFolder))
			m.HandleFunc("DELETE "+folder, s.private(s.handleDeleteFolder))
		}
	}

	m.HandleFunc("POST /v1/customMetadataFields", s.private(s.handleCreateField))
	m.HandleFunc("GET /v1/customMetadataFields", s.private(s.handleListFields))
	m.HandleFunc("PATCH /v1/customMetadataFields/{id}", s.private(s.handleUpdateField))
	m.HandleFunc("DELETE /v1/customMetadataFields/{id}", s.private(s.handleDeleteField))

	m.HandleFunc("GET /"+s.cfg.URLEndpointID+"/", s.handleServeFile)

	m.HandleFunc("POST /_emulator/faults", s.handleAddFaults)
	m.HandleFunc("GET /_emulator/faults", s.handleGetFaults)
	m.HandleFunc("DELETE /_emulator/faults", s.handleClearFaults)
	m.HandleFunc("GET /_emulator/stats", s.handleStats)
	m.HandleFunc("GET /_emulator/sample.jpg", handleSample)
	m.HandleFunc("GET /_emulator/health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	m.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, &apiError{Status: http.StatusNotFound, Message: "No such API route.", Help: helpText})
	})
}

// ServeHTTP gives every response an x-ik-requestId header, as ImageKit does.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := uuid.NewString()
	// Set without canonicalising, to match ImageKit's spelling on the wire.
	w.Header()["x-ik-requestId"] = []string{id}
	s.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
}

type requestIDKey struct{}

// Close stops pending extension work and webhook deliveries and closes storage.
func (s *Server) Close() error {
	s.cancel()
	s.wg.Wait()
	return s.store.close()
}

// go runs f in the background until Close.
func (s *Server) goBackground(f func(ctx context.Context)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f(s.ctx)
	}()
}

// private requires the private API key as HTTP Basic user name, as the files and
// custom metadata APIs do.
func (s *Server) private(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if e := s.checkBasic(r); e != nil {
			writeError(w, e)
			return
		}
		h(w, r)
	}
}

// checkBasic checks the Basic credentials of a server-side request.
func (s *Server) checkBasic(r *http.Request) *apiError {
	user, _, ok := r.BasicAuth()
	if !ok || user == "" {
		return &apiError{Status: http.StatusUnauthorized, Message: msgNoPrivateKey, Help: helpText}
	}
	if !s.isPrivateKey(user) {
		return &apiError{Status: http.StatusForbidden, Message: msgWrongPrivateKey, Help: helpText403}
	}
	return nil
}

func (s *Server) isPrivateKey(k string) bool {
	return subtle.ConstantTimeCompare([]byte(k), []byte(s.cfg.PrivateKey)) == 1
}

// baseURL is where clients reach this server: the configured public URL, else the
// request's own host.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
