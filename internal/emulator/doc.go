// Package emulator is an ImageKit-compatible server, so that ikq, and apps that use
// ImageKit, can run and be tested with no account and no network.
//
//	srv, err := emulator.New(emulator.Config{PrivateKey: "private_test"})
//	if err != nil { ... }
//	defer srv.Close()
//	ts := httptest.NewServer(srv)
//	// POST ts.URL+"/api/v1/files/upload" as ImageKit's docs show, with
//	// -u private_test: ; the response's url serves the file.
//
// # What it serves
//
//   - POST /api/v1/files/upload and /api/v2/files/upload, multipart/form-data, with
//     every parameter and rule of ImageKit's Upload API documentation.
//   - GET /v1/files, /v1/files/{id}/details, /v1/files/{id}/versions[/{versionId}].
//   - POST, GET /v1/customMetadataFields; PATCH, DELETE /v1/customMetadataFields/{id}.
//   - GET /{URLEndpointID}/{filePath}: the uploaded file, at the url the upload returned.
//   - /_emulator/faults, /_emulator/stats, /_emulator/sample.jpg, /_emulator/health.
//
// # Where ImageKit's documentation is silent
//
// The emulator follows the documentation and reference/imagekit-contract.md. Where
// those leave a choice, it makes these:
//
//   - Messages ImageKit does not document (missing fileName, bad folder or tags, URL
//     download failures, reused tokens, the version limit, unsupported types) are
//     worded like the documented ones; all are 400s with {"message","help"}.
//   - A folder with characters outside letters, marks, digits, "/", "_" and "-" is
//     refused rather than rewritten. Repeated slashes collapse.
//   - Tags are trimmed; their combined length, without commas, is at most 500.
//   - checks follows the grammar of package checks: comparisons of quoted fields
//     (file.size, file.mime, file.width, file.height, file.duration, request.*) with
//     :, <, <=, >, >=, IN, NOT IN, HAS, joined by AND, OR, NOT and parentheses.
//   - Auto-tagging returns tags from a fixed vocabulary chosen by the content, so the
//     same file always gets the same AITags.
//   - A video with a pre-transformation is stored at once and answered 202; its
//     upload.pre-transform.success event follows after the extension delay.
//   - Private files are never served (the emulator issues no signed URLs).
//   - The 8-second URL header timeout is configurable (URLHeaderTimeout) for tests.
package emulator
