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
//   - The files and folder APIs on /v1 and /v2, with or without a trailing slash:
//     GET /files, GET /files/{id}/details, DELETE /files/{id},
//     POST /files/batch/deleteByFileIds, GET /files/{id}/versions[/{versionId}],
//     DELETE /files/{id}/versions/{versionId}, POST and DELETE /folder.
//   - POST, GET /v1/customMetadataFields; PATCH, DELETE /v1/customMetadataFields/{id}.
//   - GET /{URLEndpointID}/{filePath}: the uploaded file, at the url the upload returned.
//   - /_emulator/faults, /_emulator/stats, /_emulator/sample.jpg, /_emulator/health.
//
// # The files API and where each rule comes from
//
// Sources: [list] is https://imagekit.io/docs/api-reference/digital-asset-management-dam/list-and-search-assets
// (archived as docs.imagekit.io/api-reference/media-api/list-and-search-files,
// github.com/imagekitio/docs-keep-a-changelog); [sdk] is the Stainless SDKs'
// AssetListParams (imagekit-go/v2 asset.go, @imagekit/nodejs v7); [skill] is
// imagekit-developer/skills search-assets/SKILL.md; [rclone] is rclone v1.76
// backend/imagekit.
//
//   - path lists one folder level: "When using path parameter, the search is
//     limited to only one level. The files within nested folders are not
//     returned" [list]; "/a", "a" and "/a/" are the same folder; subfolders are
//     searched with searchQuery's path : "/a" [sdk][skill]. rclone lists a
//     directory this way and expects one level [rclone]. A path no folder can have
//     matches nothing.
//   - type is file (default), file-version (older versions), folder, or all (files
//     and folders, no versions) [list][sdk]; any other value is a 400. A folder
//     entry is {type, folderId, name, folderPath, createdAt, updatedAt,
//     customMetadata} [sdk]; a version is the file object of that version with
//     type "file-version".
//   - With searchQuery, type, name and tags have no effect [list]: the query picks
//     among files and folders, and older versions only when it names type
//     "file-version" with = or IN, as rclone's `type IN ["file", "file-version"]`
//     expects [rclone]. path and fileType still apply.
//   - searchQuery fields and their operators follow the supported-parameters table
//     [list] plus id, path, createdBy, HAS and EXISTS [skill]; "!=" is taken for NOT
//     =. A field/operator pair outside the table, an unknown field or a malformed
//     value is a syntax error: 400 "Your request contains invalid syntax for the
//     searchQuery parameter." with the position and the problem (undocumented
//     wording). Names match case-sensitively, : is a prefix [list]; HAS is
//     case-insensitive by words, the last a prefix [skill]; tags match tags and
//     AITags [list]; dates are ISO 8601 (a day or a second) or 1h/2d/3w/4m/1y ago
//     [list]; sizes take b, kb, mb, gb in powers of 1024; width and height exist
//     only for files with dimensions; createdBy matches nothing (no users).
//   - sort takes the twelve documented values [list] and ASC_RELEVANCE and
//     DESC_RELEVANCE [sdk], which keep creation order (nothing is scored); ties keep
//     creation order, a folder before the files an upload created it with.
//     skip ≥ 0, 1 ≤ limit ≤ 1000, default 1000 [list].
//   - A fileId that is not 24 hex digits is 400 "Your request contains invalid
//     fileId parameter."; an unknown one is 404.
//   - DELETE /files/{id} answers 204 and removes every version; the bulk delete
//     answers {"successfullyDeletedFileIds"}, or 404 "The requested file(s) does
//     not exist." with missingFileIds and deletes nothing when any id is unknown
//     (docs-keep-a-changelog delete-file.md, delete-files-bulk.md). Deleting the
//     current version is 400 "You cannot delete current version of a file.", an
//     unknown one 404 "The requested asset does not exist." (delete-file-version.md).
//   - POST /folder {folderName, parentFolderPath} answers 201 {} and creates
//     missing parents (create-folder.md); characters of folderName other than
//     letters, marks, digits, "_" and "-" become "_" (the docs name only letters
//     and digits; "-" is kept because upload folders allow it); creating an
//     existing folder changes nothing, as rclone's Mkdir expects. DELETE /folder
//     {folderPath} deletes the folder, its subfolders and their files with all
//     versions, and answers 200 {}: the old docs say 204, but the current API
//     reference returns an empty object, which imagekit-go/v2 requires as JSON; a missing one is 404 {"message": "No folder found
//     with folderPath <as sent>", "help", "reason": "FOLDER_NOT_FOUND"}
//     (delete-folder.md).
//   - Folders also exist because a file was uploaded into them; they are derived
//     from the journal on restart, so with --data they persist like files.
//
// # Where ImageKit's documentation is silent
//
// The emulator follows ImageKit's documentation (the Upload API at
// https://imagekit.io/docs/api-reference/upload-file/upload-file, webhooks at
// https://imagekit.io/docs/webhooks) and what the official OpenAPI file and SDKs add.
// Where those leave a choice, it makes these:
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
