// Package imagekit is ikq's client for ImageKit's Upload API and the part of the
// files API ikq needs to check its work.
//
//	c := &imagekit.Client{PrivateKey: os.Getenv("IMAGEKIT_PRIVATE_KEY")}
//	f, _ := os.Open("photo.jpg")
//	defer f.Close()
//	res, err := c.Upload(ctx, imagekit.UploadRequest{
//		File:   f, // streamed, never held whole in memory
//		Params: imagekit.Params{FileName: "photo.jpg", Tags: []string{"a", "b"}},
//	})
//	var apiErr *imagekit.Error
//	if errors.As(err, &apiErr) && apiErr.Throttled() {
//		// wait apiErr.RateLimit.Reset or apiErr.RetryAfter, then try again
//	} else if err == nil {
//		fmt.Println(res.FileID, res.URL)
//	}
//
// ExampleClient_Upload runs the same against the emulator.
//
// # Streaming
//
// Upload writes the multipart/form-data body from a goroutine into an io.Pipe
// while the HTTP request reads the other end: the text fields first (fileName and
// every option that is set, encoded as the API expects), then the file. A 300 MB
// video costs a few 32 KiB buffers. Without UploadRequest.Size the body is sent
// chunked; with it, with an exact Content-Length. When the context is canceled or
// the source fails, the request stops with that error, and Upload returns only
// after the writer has stopped reading the source.
//
// The file can also be given as text (UploadRequest.FileText): a URL that
// ImageKit downloads itself, or base64 content.
//
// # Errors
//
// Every non-2xx answer is an *Error carrying the status, the API's message and help,
// the x-ik-requestId, and the rate-limit and Retry-After headers when present. Its
// methods Throttled, ServerError, URLFetchFailed and Conflict are the only place in
// ikq that interprets the API's message strings; callers classify with them and
// with errors.Is(err, ErrNotFound). Transport failures (dial, timeouts, a canceled
// context, a failing source) are returned wrapped, never as *Error; requests the
// client refuses before sending wrap ErrInvalidRequest. The private key never
// appears in an error.
//
// # Files API
//
// FileDetails and ListFiles read what ImageKit stored, so that a re-run after a
// crash can find the file an earlier attempt uploaded.
//
// # Testing
//
// The tests run against internal/emulator over HTTP on loopback; point UploadURL
// at <emulator>/api/v1/files/upload and APIBase at the emulator's root.
package imagekit
