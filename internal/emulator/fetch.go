package emulator

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/ikq-dev/ikq/internal/netguard"
)

// download fetches a URL source into a staging blob. Private, loopback, link-local
// and metadata addresses are refused at dial time (netguard) unless FetchAllow names
// them, so an upload cannot make the emulator reach its own network. The response headers must
// arrive within URLHeaderTimeout and the status must be 2xx; either failure, like
// any other download failure, is the Upload API's 400.
func (s *Server) download(ctx context.Context, rawURL string) (*staged, *apiError) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, badRequest(msgURLDownload)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errHeaderTimeout := errors.New("no response headers in time")
	timer := time.AfterFunc(s.cfg.URLHeaderTimeout, func() { cancel(errHeaderTimeout) })
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		timer.Stop()
		return nil, badRequest(msgURLDownload)
	}
	req.Header.Set("User-Agent", "ImageKit-Emulator")
	resp, err := s.fetch.Do(req)
	headersInTime := timer.Stop()
	if errors.Is(err, netguard.ErrRefused) {
		// Logged without the URL: it may carry signed parameters.
		s.cfg.Logger.Info("URL source refused: not a public address; allow it with FetchAllow (--fetch-allow)", "host", u.Hostname())
		return nil, badRequest(msgURLDownload)
	}
	if err != nil {
		if !headersInTime && errors.Is(context.Cause(ctx), errHeaderTimeout) {
			return nil, badRequest(msgURLTimeout)
		}
		return nil, badRequest(msgURLDownload)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, badRequest(msgURLDownload)
	}
	st, err := stage(resp.Body, s.store.blobs.create, s.sizeLimit)
	if err != nil {
		if st != nil {
			st.w.abort()
		}
		if errors.Is(err, errTooLarge) {
			return nil, badRequest(msgTooLarge)
		}
		return nil, badRequest(msgURLDownload)
	}
	if st.size == 0 {
		st.w.abort()
		return nil, badRequest(msgURLDownload)
	}
	return st, nil
}
