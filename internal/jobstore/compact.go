package jobstore

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Finished records are compact: a finished job is read now and then and rewritten
// rarely, and it is kept for the whole retention, so its doc is stored deflated
// against a dictionary of what job records say (a 1.5 KB record of a completed
// upload takes about 320 bytes), and its timeline is capped shorter
// (Options.FinishedEvents). A completed job also keeps only the part of its spec
// that is read after completion (see writeScript).

// docDeflated is the first byte of a doc deflated with docDictionary. A JSON doc
// starts with '{', so the two never mix up.
const docDeflated = 0x01

// maxDocSize bounds what a deflated doc may expand to: more is a corrupt record.
const maxDocSize = 16 << 20

// docDictionary primes the compressor with the strings job records are made of,
// the most common last. Stored docs depend on it: never edit it; a new dictionary
// needs a new first byte.
const docDictionary = `"error":{"code":"","message":"","retryable":false,"httpStatus":},` +
	`"callback":{"url":"https://","status":"pending","attempts":0,"lastError":"","deliveredAt":"` +
	`"extensions":{"remove-bg":"success","google-auto-tagging":"aws-auto-tagging":"ai-auto-description":` +
	`"failed","unknown"},"nextAttemptAt":"useUniqueFileName":true,"isPrivateFile":false,"isPublished":` +
	`"customCoordinates":"responseFields":"webhookUrl":"overwriteFile":"customMetadata":{"transformation":` +
	`"fetch":"remote","ifExists":"version","overwrite","skip","queue":"critical","low","runAt":"` +
	`{"fileId":"","name":"","size":,"versionInfo":{"id":"","name":"Version 1"},"filePath":"/",` +
	`"url":"https://ik.imagekit.io/","fileType":"image","non-image","AITags":null,"height":,"width":,` +
	`"bitRate":"duration":"audioCodec":"videoCodec":"description":"tags":null,"embeddedMetadata":` +
	`"thumbnailUrl":"https://ik.imagekit.io/tr:n-ik_ml_thumbnail/","orientation":1},` +
	`"request":{"file":"https://","fileName":".jpg","useUniqueFileName":false,"tags":["],` +
	`"folder":"/","callbackUrl":"https://","maxAttempts":5,"idempotencyKey":"bulk:","ifExists":"skip","run":""},` +
	`{"id":"","status":"completed","queue":"default","attempts":1,"maxAttempts":5,` +
	`"createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z","idempotencyKey":"bulk:","run":"",` +
	`"callback":{"url":"https://","status":"delivered","attempts":1},"fileId":"","result":{"fileId":"",` +
	`"events":[{"time":"2026-01-01T00:00:00.000Z","state":"queued","message":"accepted"},` +
	`{"time":"2026-01-01T00:00:00.000Z","state":"active","message":"attempt 1 of 5"},` +
	`{"time":"2026-01-01T00:00:00.000Z","state":"completed","message":"uploaded to /"}]}`

var (
	deflaters = sync.Pool{New: func() any {
		w, err := flate.NewWriterDict(nil, flate.DefaultCompression, []byte(docDictionary))
		if err != nil { // only for a bad level
			panic(err)
		}
		return w
	}}
	inflaters = sync.Pool{New: func() any {
		return flate.NewReaderDict(bytes.NewReader(nil), []byte(docDictionary))
	}}
)

// encodeDoc is the stored form of j: JSON, deflated once the job is finished.
func encodeDoc(j *Job) ([]byte, error) {
	doc, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("jobstore: encode job %s: %w", j.ID, err)
	}
	if !j.Status.Final() {
		return doc, nil
	}
	var out bytes.Buffer
	out.Grow(len(doc)/3 + 16)
	out.WriteByte(docDeflated)
	w := deflaters.Get().(*flate.Writer)
	defer deflaters.Put(w)
	w.Reset(&out)
	if _, err := w.Write(doc); err != nil {
		return nil, fmt.Errorf("jobstore: deflate job %s: %w", j.ID, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("jobstore: deflate job %s: %w", j.ID, err)
	}
	return out.Bytes(), nil
}

// errDocTooLarge: a deflated doc expands past maxDocSize.
var errDocTooLarge = errors.New("deflated record too large")

// expandDoc is the JSON of a stored doc.
func expandDoc(doc []byte) ([]byte, error) {
	if len(doc) == 0 || doc[0] != docDeflated {
		return doc, nil
	}
	r := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(doc[1:]), []byte(docDictionary)); err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(r, maxDocSize+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxDocSize {
		return nil, errDocTooLarge
	}
	return out, nil
}
