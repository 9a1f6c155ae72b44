// Package ledger reads what the media library already holds at a destination, so
// that a job with ifExists, and ikq bulk before it enqueues, can tell a file in place
// from one to upload. ImageKit is the ledger: what it holds decides, not Redis.
//
// Folder listings are cached per run and folder, so that a run of 10,000 files in
// 40 folders costs 40 listings, not 10,000 lookups.
package ledger
