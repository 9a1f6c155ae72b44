package imagekit

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Defaults for the zero-value fields of Client.
const (
	DefaultUploadURL = "https://upload.imagekit.io/api/v1/files/upload"
	DefaultAPIBase   = "https://api.imagekit.io"
	DefaultUserAgent = "ikq"
)

// Limits on what is read from a response.
const (
	maxSuccessBody = 16 << 20 // a success body is a few KiB; this only stops a runaway server
	maxErrorRead   = 64 << 10 // read this much of an error body to find its message
	maxErrorBody   = 4 << 10  // keep this much of it in Error.Body
)

// ErrInvalidRequest is wrapped by errors for requests that were refused before
// anything was sent: a missing PrivateKey or FileName, both or neither of File and
// FileText, a JSON option that is not JSON of the right kind. Retrying them cannot help.
var ErrInvalidRequest = errors.New("imagekit: invalid request")

// Client calls the Upload API and the files API. Zero-value fields mean defaults.
// A Client is safe for concurrent use; its fields must not change while it is used.
type Client struct {
	// UploadURL is the Upload API endpoint. Default DefaultUploadURL.
	UploadURL string
	// APIBase is the base URL of the files API. Default DefaultAPIBase.
	APIBase string
	// PrivateKey is the private API key, sent as the HTTP Basic user name with an
	// empty password. Required.
	PrivateKey string
	// HTTPClient sends the requests. Default: a client on http.DefaultTransport
	// with no overall timeout, so that large uploads are bounded only by the
	// caller's context. It keeps 2 idle connections per host: give
	// NewHTTPClient(n) to a Client that runs n uploads at once.
	HTTPClient *http.Client
	// UserAgent is sent with every request. Default DefaultUserAgent.
	UserAgent string
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{} // DefaultTransport, no Timeout
}

func (c *Client) uploadURL() string {
	if c.UploadURL != "" {
		return c.UploadURL
	}
	return DefaultUploadURL
}

func (c *Client) apiBase() string {
	if c.APIBase != "" {
		return strings.TrimRight(c.APIBase, "/")
	}
	return DefaultAPIBase
}

func (c *Client) userAgent() string {
	if c.UserAgent != "" {
		return c.UserAgent
	}
	return DefaultUserAgent
}

func (c *Client) check() error {
	if c.PrivateKey == "" {
		return fmt.Errorf("%w: Client.PrivateKey is required", ErrInvalidRequest)
	}
	return nil
}

// newRequest builds a request carrying the client's credentials and user agent.
func (c *Client) newRequest(ctx context.Context, method, url string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.PrivateKey, "")
	req.Header.Set("User-Agent", c.userAgent())
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// getJSON performs a files API GET and returns the body of a 2xx answer; any other
// answer becomes an *Error.
func (c *Client) getJSON(ctx context.Context, op, url string) ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("imagekit: %s: %w", op, err)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("imagekit: %s: %w", op, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.responseError(resp)
	}
	body, err := readAllLimit(resp.Body, maxSuccessBody)
	if err != nil {
		return nil, fmt.Errorf("imagekit: %s: reading response: %w", op, err)
	}
	return body, nil
}

// responseError reads a non-2xx response into an *Error with the key scrubbed out.
func (c *Client) responseError(resp *http.Response) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorRead))
	e := decodeError(resp.StatusCode, resp.Header, body, time.Now())
	e.redact(c.PrivateKey)
	return e
}

// readAllLimit reads r to the end, failing if it holds more than max bytes.
func readAllLimit(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("response body larger than %d bytes", max)
	}
	return b, nil
}

// secretForms are the ways a private key could be echoed back: as itself and as the
// Basic credentials built from it.
func secretForms(key string) []string {
	if key == "" {
		return nil
	}
	return []string{key, base64.StdEncoding.EncodeToString([]byte(key + ":"))}
}
