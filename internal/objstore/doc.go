// Package objstore opens object-store sources through gocloud.dev/blob:
// s3://bucket/key (AWS, or any S3-compatible server), gs://bucket/key,
// azblob://container/key, and mem://bucket/key for tests. file:// stays with
// package source, under its FileRoot.
//
//	o := source.New(source.Config{})
//	stores, err := objstore.Register(o, objstore.Config{
//		S3Endpoint: os.Getenv("IKQ_S3_ENDPOINT"), // "" for AWS
//	})
//	if err != nil {
//		return err
//	}
//	defer stores.Close()
//	src, err := o.Open(ctx, "s3://photos/2024/cat.png") // streams, capped, sniffed
//
// # References
//
// The host is the bucket, the path after it the key, unescaped:
// s3://photos/a%20b.png reads the key "a b.png". Name is the key's last
// segment. A reference carries no credentials, endpoint or other option; an
// s3:// one may name its bucket's region, s3://photos/cat.png?region=eu-west-1.
// Without it, a bucket in another region than the default is found from S3's
// redirect, once, and remembered.
//
// # Credentials
//
// Each store's SDK reads its own environment: AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the shared files, or a role (or
// Config's static keys); GOOGLE_APPLICATION_CREDENTIALS, gcloud's application
// default credentials, or the metadata server; AZURE_STORAGE_ACCOUNT with
// AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_CONNECTION_STRING,
// or an Azure identity. Nothing is contacted until a source of that store is
// opened, so a worker without Azure credentials serves s3:// jobs.
//
// # Buckets
//
// Stores keeps the buckets used most recently open (Config.MaxBuckets, 256)
// and one S3 client for each of the regions used most recently
// (Config.MaxS3Regions, 32): references are the jobs' to write, and every
// distinct bucket or ?region= would otherwise stay in memory for good. An
// evicted bucket is closed once no open uses it. The S3 and Cloud Storage
// clients keep Config.ConnsPerHost idle connections per host. A ?region= must look like a
// region name (1 to 32 lowercase letters, digits and hyphens). Each Open is one GET:
// its response gives the size and type, and its body streams to the reader.
// Objects typed binary/octet-stream or application/octet-stream (what S3 gives
// objects uploaded without a type) are sniffed by source.Opener.
//
// # Errors
//
// Failures are *source.Error:
//
//	KindInvalid      a malformed reference, a bucket name the store     permanent
//	                 cannot have, a bucket in another region than named
//	KindNotFound     no such object, no such bucket or container         permanent
//	KindForbidden    access denied, refused or missing credentials       permanent
//	KindTimeout      the store did not answer in time                    retryable
//	KindUnavailable  connection errors, 5xx, throttling                  retryable
//
// Each SDK retries a failed request itself (S3: Config.S3MaxAttempts) before
// the job sees a retryable error. Messages say what the store answered (its
// error code and message, or the network error) and never hold request URLs.
package objstore
