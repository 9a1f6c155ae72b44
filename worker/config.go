package worker

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/internal/metrics"
	"github.com/ikq-dev/ikq/internal/netguard"
	"github.com/ikq-dev/ikq/internal/objstore"
	"github.com/ikq-dev/ikq/internal/source"
)

// Defaults of Config.
const (
	// DefaultUploadURL is ImageKit's Upload API endpoint.
	DefaultUploadURL = "https://upload.imagekit.io/api/v1/files/upload"
	// DefaultAPIURL is the base of ImageKit's files API.
	DefaultAPIURL = "https://api.imagekit.io"
	// DefaultCallbackTimeout bounds one callback or relayed webhook, answer included.
	DefaultCallbackTimeout = 30 * time.Second
	// DefaultConcurrency is how many uploads a worker runs at once.
	DefaultConcurrency = 32
	// DefaultHostShare is the percentage of a worker's slots that sources of one
	// host may hold.
	DefaultHostShare = 50
)

// Config configures a Worker. The zero value of every field but Redis and
// PrivateKey means its default.
type Config struct {
	// Redis holds the queues and the job records. Required.
	Redis redis.UniversalClient
	// PrivateKey is the ImageKit private API key (IMAGEKIT_PRIVATE_KEY). Required.
	PrivateKey string
	// UploadURL is the Upload API endpoint; default DefaultUploadURL
	// (https://imagekit.io/docs/api-reference/upload-file/upload-file).
	UploadURL string
	// APIURL is the base of the files API, asked whether a re-run's conflicting file
	// is its own earlier upload; default DefaultAPIURL.
	APIURL string
	// Sources says which sources jobs may name and how they are fetched.
	Sources SourceConfig

	// Concurrency is the number of uploads in flight; default DefaultConcurrency (32).
	// The worker takes a quarter more tasks (at least 2) from the queue, which do
	// their Redis work while the uploads run and then wait for an upload place.
	Concurrency int
	// Queues weighs the queues; default critical=6, default=3, low=1.
	Queues map[string]int
	// ShutdownGrace is how long running uploads may take to finish after Run's ctx
	// ends; default 30s. Uploads still running then are handed back to the queue.
	ShutdownGrace time.Duration
	// RetryBase and RetryMax shape the delay between transient attempts: base·2ⁿ with
	// jitter, at most RetryMax. Defaults 5s and 10 minutes.
	RetryBase, RetryMax time.Duration
	// CancelCheck is how often a running upload checks whether its job was canceled;
	// default 2s.
	CancelCheck time.Duration
	// SweepInterval is how often the worker looks for open jobs whose task vanished
	// (lost in a Redis failover, or archived while the job's record could not be
	// written), to queue them again or fail them; one process sweeps at a time.
	// Default 1 minute; negative: never.
	SweepInterval time.Duration
	// SweepGrace leaves alone jobs written to more recently; default 1 minute.
	SweepGrace time.Duration
	// WaitReplicas, when above 0, makes every write that records an outcome (a job
	// uploaded or ended) wait until this many Redis replicas have it, for at most
	// WaitTimeout (default 1s), and write again otherwise: a failover cannot take an
	// outcome back. See producer.Config.WaitReplicas.
	WaitReplicas int
	WaitTimeout  time.Duration
	// Retention keeps finished jobs' records this long; default 7 days.
	Retention time.Duration
	// PollInterval is how often idle workers look for tasks and due retries; default 1s.
	PollInterval time.Duration
	// Registerer, if not nil, gets ikq's metrics: every attempt's outcome, duration
	// and bytes, every source's opening, every callback (see the package doc).
	Registerer prometheus.Registerer

	// WebhookURL returns the URL ImageKit posts a job's extension results to: the
	// webhook receiver's per-job capability URL (webhook.Capability.URL). Nil sends
	// the job's own webhookUrl.
	WebhookURL func(jobID string) string
	// TrackTransformations makes jobs with post-transformations wait for their
	// upload.post-transform.* account events. Turn it on where the receiver has the
	// account webhook secret (IKQ_WEBHOOK_SECRET); otherwise nothing would report them.
	TrackTransformations bool
	// CompletionDeadline is how long pending items may take; default 25 hours.
	CompletionDeadline time.Duration
	// CallbackSecret signs job callbacks (IKQ_CALLBACK_SECRET, "whsec_…"). Without it
	// a job's callback fails, recorded on the job, and is not sent.
	CallbackSecret string
	// CallbackTimeout bounds one callback or relayed webhook; default
	// DefaultCallbackTimeout. Callbacks go through the SSRF guard of URL sources.
	CallbackTimeout time.Duration
	// CallbackRetryDelay spaces a callback's or relay's attempts; default about three
	// days in all.
	CallbackRetryDelay func(n int) time.Duration

	Logger *slog.Logger
	Now    func() time.Time
}

// SourceConfig says which sources jobs may name and how the worker reads them.
// The zero value allows http(s) URLs to public addresses, inline content and
// object stores with their SDKs' default credentials, and refuses file://.
type SourceConfig struct {
	// MaxFileSize is the largest source accepted, enforced while streaming;
	// default 300 MiB.
	MaxFileSize int64
	// FileRoot is the directory under which file:// sources are allowed, symlinks
	// resolved (IKQ_FILE_ROOT). "" refuses file://.
	FileRoot string
	// FetchAllow lists host names, IPs or CIDRs that URL sources and callbacks may
	// reach despite the SSRF guard, which otherwise refuses private, loopback and
	// link-local addresses (IKQ_FETCH_ALLOW), e.g. "127.0.0.0/8".
	FetchAllow []string
	// HeaderTimeout bounds the wait for a URL source's response headers, redirects
	// included; default 8s, the Upload API's own limit.
	HeaderTimeout time.Duration
	// MaxRedirects is how many redirects a URL fetch follows; default 5, negative none.
	MaxRedirects int
	// RetryInitial, RetryMax and RetryElapsed shape the backoff between tries to open
	// a URL source within one attempt: defaults 500ms, 10s, 60s.
	RetryInitial, RetryMax, RetryElapsed time.Duration
	// IdleTimeout is the longest any source (URL or object store) may send nothing
	// while the worker waits on it; the attempt then fails as transient
	// (source_timeout), its slot free. Default 30s; negative: no limit
	// (IKQ_SOURCE_IDLE_TIMEOUT).
	IdleTimeout time.Duration
	// MinRate is the slowest a source may send, in bytes per second of time the
	// worker spends waiting on it, averaged over about 30s; a slower one fails the
	// attempt as transient. Time the upload to ImageKit holds the worker up does not
	// count. Default 8 KiB/s; negative: no limit (IKQ_SOURCE_MIN_RATE).
	MinRate int64
	// HostShare is the percentage of Concurrency that URL sources of one slow site
	// (a registrable domain with its subdomains, or an IP address) may hold at once,
	// so that one slow site cannot take every slot. A job past it goes back to the
	// queue for a few seconds without spending an attempt (code source_host_busy),
	// leaving its slot to jobs of other hosts. A site whose last source delivered
	// within a second in all is fast and may use every slot (source.Config's
	// HostFast). Default DefaultHostShare (50); 100 means no limit
	// (IKQ_SOURCE_HOST_SHARE).
	HostShare int

	// S3Endpoint is the base URL of an S3-compatible server (MinIO, Ceph…) for s3://
	// sources, such as http://minio:9000; "" means AWS S3.
	S3Endpoint string
	// S3Region is the region requests are signed for; "" means the SDK's own.
	S3Region string
	// S3AccessKeyID and S3SecretAccessKey are static S3 credentials; empty means the
	// AWS SDK's default chain (environment, shared files, roles).
	S3AccessKeyID, S3SecretAccessKey string
}

// ConfigError is New's answer to a configuration it cannot run: Field names the
// Config field ("Sources.S3Endpoint"), Err says why.
type ConfigError struct {
	Field string
	Err   error
}

func (e *ConfigError) Error() string { return "worker: Config." + e.Field + ": " + e.Err.Error() }

// Unwrap returns Err.
func (e *ConfigError) Unwrap() error { return e.Err }

func (c Config) validate() error {
	bad := func(field, why string) error { return &ConfigError{Field: field, Err: errors.New(why)} }
	switch {
	case c.Redis == nil:
		return bad("Redis", "required")
	case c.PrivateKey == "":
		return bad("PrivateKey", "required")
	case c.Concurrency < 0:
		return bad("Concurrency", "must not be negative")
	case c.ShutdownGrace < 0:
		return bad("ShutdownGrace", "must not be negative")
	case c.RetryBase < 0:
		return bad("RetryBase", "must not be negative")
	case c.RetryMax < 0:
		return bad("RetryMax", "must not be negative")
	case c.CallbackTimeout < 0:
		return bad("CallbackTimeout", "must not be negative")
	case c.Sources.MaxFileSize < 0:
		return bad("Sources.MaxFileSize", "must not be negative")
	case c.Sources.HostShare < 0 || c.Sources.HostShare > 100:
		return bad("Sources.HostShare", "must be a percentage, 1 to 100 (0 for the default)")
	case (c.Sources.S3AccessKeyID == "") != (c.Sources.S3SecretAccessKey == ""):
		return bad("Sources.S3AccessKeyID", "S3AccessKeyID and S3SecretAccessKey must be set together")
	}
	if r := c.Sources.S3Region; r != "" {
		if err := objstore.CheckRegion(r); err != nil {
			return &ConfigError{Field: "Sources.S3Region", Err: err}
		}
	}
	return nil
}

// build makes the parts cfg describes.
func (c Config) build() (parts, error) {
	guard, err := netguard.New(netguard.Config{Allow: c.Sources.FetchAllow})
	if err != nil {
		return parts{}, &ConfigError{Field: "Sources.FetchAllow", Err: err}
	}
	m, err := metrics.For(c.Registerer)
	if err != nil {
		return parts{}, err
	}
	uploadURL, apiURL := c.UploadURL, c.APIURL
	if uploadURL == "" {
		uploadURL = DefaultUploadURL
	}
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	src := c.Sources
	concurrency := c.Concurrency
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	opener := source.New(source.Config{
		MaxSize: src.MaxFileSize, FileRoot: src.FileRoot, HeaderTimeout: src.HeaderTimeout,
		MaxRedirects: src.MaxRedirects, RetryInitial: src.RetryInitial, RetryMax: src.RetryMax,
		RetryElapsed: src.RetryElapsed, IdleTimeout: src.IdleTimeout, MinRate: src.MinRate,
		HostLimit: hostLimit(concurrency, src.HostShare),
		// URL sources and callbacks go through the SSRF guard; the Upload API client
		// does not (its URL is the operator's, not a job's).
		HTTPClient: sourceHTTPClient(guard, concurrency),
	})
	stores, err := objstore.Register(opener, objstore.Config{
		S3Endpoint: src.S3Endpoint, S3Region: src.S3Region,
		S3AccessKeyID: src.S3AccessKeyID, S3SecretAccessKey: src.S3SecretAccessKey,
		ConnsPerHost: concurrency,
	})
	if err != nil {
		// validate checked the credentials and the region: what is left is the
		// endpoint.
		return parts{}, &ConfigError{Field: "Sources.S3Endpoint", Err: err}
	}
	timeout := c.CallbackTimeout
	if timeout == 0 {
		timeout = DefaultCallbackTimeout
	}
	return parts{
		ik: &imagekit.Client{UploadURL: uploadURL, APIBase: apiURL, PrivateKey: c.PrivateKey,
			HTTPClient: imagekit.NewHTTPClient(concurrency)},
		sources:  opener,
		metrics:  m,
		callback: guard.Client(timeout),
		closers:  []func() error{stores.Close},
	}, nil
}

// hostLimit is how many sources of one host a worker of concurrency slots may have
// open: share percent of them, at least one; 0 (no limit) for 100 percent.
func hostLimit(concurrency, share int) int {
	if share == 0 {
		share = DefaultHostShare
	}
	if share >= 100 {
		return 0
	}
	return max(1, concurrency*share/100)
}

// sourceHTTPClient fetches URL sources through the SSRF guard, keeping as many idle
// connections per host as the worker has slots (the guard's transport, like
// http.DefaultTransport, keeps 2), and speaking HTTP/2 where a source offers it.
func sourceHTTPClient(guard *netguard.Guard, concurrency int) *http.Client {
	t := guard.Transport()
	t.MaxIdleConnsPerHost = concurrency
	t.MaxIdleConns = max(t.MaxIdleConns, concurrency)
	t.ForceAttemptHTTP2 = true // a custom dialer needs it said
	return &http.Client{Transport: t}
}
