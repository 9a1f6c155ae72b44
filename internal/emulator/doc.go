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
//   - URL sources are downloaded through netguard: private, loopback, link-local and
//     metadata addresses get the URL-download 400 unless Config.FetchAllow names them.
//   - A wrong private key is 403 "Your account cannot be authenticated." with the help
//     text "… support@imagekit.io ." (space before the dot), as the SDKs' fixtures
//     record ImageKit's answer; a missing key stays 401.
//   - Custom metadata fields: PATCH with none of label, schema, description is 400
//     "Invalid field object" (the documented message of field validation) with errors
//     naming label and schema; updating a deleted field is 400; a deleted field's name
//     stays taken ("A custom metadata field with this name already exists.", as users
//     report ImageKit's answer); DELETE answers 200 {} (what the SDKs decode).
//   - ai-tasks and saved-extension are validated as the SDK types describe them and
//     finish successfully by webhook without changing the file; any saved-extension id
//     is taken.
//   - embeddedMetadata is the EXIF of JPEG and TIFF files (rwcarlsen/goexif) and the
//     simple properties of an XMP packet in any format, under exiftool's names, dates
//     in ISO 8601 UTC; orientation, on image uploads, is the EXIF Orientation or 1.
//   - An AppImage is recognised by "AI" and its type byte at offset 8 of an ELF
//     header (the AppImage specification); other ELF files are refused.
package emulator
