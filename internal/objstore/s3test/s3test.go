// Package s3test runs a real S3-compatible server for tests: versitygw, with
// its POSIX backend in a temporary directory, on a free loopback port.
//
//	srv := s3test.Start(t) // skips the test when versitygw is not installed
//	srv.CreateBucket(t, "photos")
//	srv.Put(t, "photos", "dir/photo.png", data, "image/png")
//	// Point the code under test at srv.Endpoint with srv.AccessKey/SecretKey,
//	// path-style, region srv.Region. srv.Stop() takes the server down.
//
// Install versitygw with
//
//	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//
// It is looked up on PATH, then in $(go env GOPATH)/bin. Without it the tests
// that need it skip, unless IKQ_REQUIRE_VERSITYGW is set (CI sets it), in which
// case they fail.
package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ikq-dev/ikq/internal/childproc"
)

// Install is the command that installs the server these tests run.
const Install = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// RequireEnv names the variable that turns a missing versitygw from a skip
// into a failure.
const RequireEnv = "IKQ_REQUIRE_VERSITYGW"

const (
	readyTimeout = 15 * time.Second
	stopTimeout  = 10 * time.Second
	startTries   = 5 // a free port can be taken before the server binds it
)

// Server is one running versitygw that a test owns.
type Server struct {
	Endpoint  string // http://127.0.0.1:port
	AccessKey string
	SecretKey string
	Region    string
	Dir       string // the POSIX backend's root: one directory per bucket

	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{} // closed when the process has exited
	once sync.Once
}

// LookPath finds versitygw on PATH, then in each GOPATH's bin directory.
func LookPath() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	for _, dir := range filepath.SplitList(build.Default.GOPATH) {
		p := filepath.Join(dir, "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("versitygw is not on PATH nor in $(go env GOPATH)/bin")
}

// Start starts a server for t, stopped at t's cleanup. It skips t when
// versitygw is not installed (fails it when RequireEnv is set).
func Start(t testing.TB) *Server {
	t.Helper()
	path, err := LookPath()
	if err != nil {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("s3test: %v (%s is set; install it with: %s)", err, RequireEnv, Install)
		}
		t.Skipf("s3test: %v; install it to run this test: %s", err, Install)
	}
	dir := t.TempDir()
	var errs []error
	for range startTries {
		s, err := start(path, dir)
		if err == nil {
			t.Cleanup(s.Stop)
			return s
		}
		errs = append(errs, err)
	}
	t.Fatalf("s3test: versitygw did not start: %v", errors.Join(errs...))
	return nil
}

func start(path, dir string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s := &Server{
		Endpoint:  "http://" + addr,
		AccessKey: "s3test-access",
		SecretKey: "s3test-secret-key",
		Region:    "us-east-1",
		Dir:       dir,
		log:       &syncBuffer{},
		done:      make(chan struct{}),
	}
	s.cmd = exec.Command(path,
		"--access", s.AccessKey, "--secret", s.SecretKey, "--region", s.Region,
		"--port", addr, "--quiet",
		"posix", dir)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := childproc.Start(s.cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w\n--- versitygw output ---\n%s", err, s.log.String())
	}
	return s, nil
}

// waitReady polls until the server answers HTTP as versitygw, or exits.
func (s *Server) waitReady() error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("versitygw on %s exited before it was ready: %v", s.Endpoint, s.cmd.ProcessState)
		default:
		}
		resp, err := client.Get(s.Endpoint + "/")
		if err == nil {
			_ = resp.Body.Close()
			// Anonymous requests are refused, which is an answer.
			if resp.Header.Get("Server") == "VERSITYGW" {
				return nil
			}
			err = fmt.Errorf("%s is another server's (%q)", s.Endpoint, resp.Header.Get("Server"))
		}
		last = err
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("versitygw on %s not ready after %v: %w", s.Endpoint, readyTimeout, last)
}

// Stop stops the server and waits for it to exit. It is safe to call more
// than once.
func (s *Server) Stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(stopTimeout):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
}

// Client is an S3 client for the server: path-style, with its root
// credentials.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Region:       s.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	})
}

// CreateBucket creates bucket name, failing t if it cannot.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("s3test: create bucket %q: %v", name, err)
	}
}

// Put stores body as bucket/key with contentType ("" for none), failing t if
// it cannot.
func (s *Server) Put(t testing.TB, bucket, key string, body []byte, contentType string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	in := &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	if _, err := s.Client().PutObject(ctx, in); err != nil {
		t.Fatalf("s3test: put %s/%s: %v", bucket, key, err)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer collects the server's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 64<<10 {
		return len(p), nil // enough to say why it failed
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
