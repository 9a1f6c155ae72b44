package objstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/aws/smithy-go"
	"gocloud.dev/gcerrors"
	"google.golang.org/api/googleapi"

	"github.com/ikq-dev/ikq/internal/source"
)

// classify turns an error of a bucket operation into a *source.Error. It is
// the one place that reads the stores' own error types. When ctx has ended it
// returns err as is, for source.Opener to report the caller's ctx.
func classify(ctx context.Context, ref objectRef, err error) error {
	if ctx.Err() != nil {
		return err
	}
	var ce *credentialsError
	if errors.As(err, &ce) {
		return permanent(source.KindForbidden, ce)
	}
	// azidentity marks the failures to get a token that retrying cannot fix.
	var nr interface{ NonRetriable() }
	if errors.As(err, &nr) {
		return permanent(source.KindForbidden, &credentialsError{store: "Azure Blob Storage", err: nr.(error), hint: azureHint})
	}

	status := httpStatus(err)
	code := gcerrors.Code(err)
	detail := describe(err)
	var dnsErr *net.DNSError
	var e *source.Error
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound && ref.scheme == SchemeAzure:
		// The host is the storage account's: gocloud calls this NotFound, but
		// it is the worker's configuration that is wrong, not the object.
		e = permanent(source.KindInvalid, fmt.Errorf("the storage account's host %s does not exist; check AZURE_STORAGE_ACCOUNT", dnsErr.Name))
	case dnsErr != nil:
		e = transient(source.KindUnavailable, withDetail("cannot resolve the store's host", detail))
	case status == http.StatusMovedPermanently:
		// S3 answers a request signed for the wrong region with a redirect;
		// gocloud calls that NotFound.
		msg := "the bucket is in another region; name it with ?region=…"
		if r := s3WrongRegion(err, ""); r != "" {
			msg = "the bucket is in region " + r + "; name it with ?region=" + r + ", or leave the region out"
		}
		e = permanent(source.KindInvalid, errors.New(msg))
	case status == http.StatusUnauthorized || status == http.StatusForbidden || code == gcerrors.PermissionDenied ||
		refusedCredentials(err):
		// Before NotFound: gocloud reports a GCS 403 as NotFound.
		e = permanent(source.KindForbidden, withDetail("access denied", detail))
	case bucketMissing(err):
		e = permanent(source.KindNotFound, errors.New(noSuchBucket(ref.scheme)))
	case code == gcerrors.NotFound:
		e = permanent(source.KindNotFound, errors.New("no such object"))
	case code == gcerrors.InvalidArgument, code == gcerrors.FailedPrecondition,
		code == gcerrors.Unimplemented, code == gcerrors.AlreadyExists:
		e = permanent(source.KindInvalid, withDetail("refused", detail))
	case code == gcerrors.DeadlineExceeded || status == http.StatusRequestTimeout:
		e = transient(source.KindTimeout, withDetail("the store did not answer in time", detail))
	case code == gcerrors.ResourceExhausted || status == http.StatusTooManyRequests || status >= 500:
		e = transient(source.KindUnavailable, withDetail("the store is unavailable", detail))
	case status >= 300 && status < 500:
		e = permanent(source.KindInvalid, withDetail("the store refused the request", detail))
	default:
		// Connection errors, resets, anything unknown: another attempt may do.
		e = transient(source.KindUnavailable, withDetail("cannot read from the store", detail))
	}
	e.Status = status
	return e
}

func noSuchBucket(scheme string) string {
	if scheme == SchemeAzure {
		return "no such container"
	}
	return "no such bucket"
}

func withDetail(msg, detail string) error {
	if detail == "" {
		return errors.New(msg)
	}
	return fmt.Errorf("%s: %s", msg, detail)
}

// refusedCredentials reports whether the store refused the credentials, by
// error codes some S3-compatible servers send with other statuses than 403
// (versitygw answers an unknown access key with 404 XAdminUserNotFound).
func refusedCredentials(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "XAdminUserNotFound",
		"InvalidToken", "ExpiredToken", "TokenRefreshRequired", "AllAccessDisabled", "AccountProblem":
		return true
	}
	return false
}

// bucketMissing reports whether err says the bucket, not the object, is
// missing.
func bucketMissing(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucket" {
		return true
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.ErrorCode == "ContainerNotFound" {
		return true
	}
	return errors.Is(err, storage.ErrBucketNotExist)
}

// httpStatus is the status of the store's response, 0 if there was none.
func httpStatus(err error) int {
	var withStatus interface{ HTTPStatusCode() int } // AWS
	if errors.As(err, &withStatus) {
		return withStatus.HTTPStatusCode()
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

// describe says what the store answered, in one line: its error code and
// message, or the network error. It leaves out request URLs, which may carry
// signatures (Azure SAS tokens) in their query.
func describe(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if m := ae.ErrorMessage(); m != "" && m != ae.ErrorCode() {
			return ae.ErrorCode() + ": " + m
		}
		return ae.ErrorCode()
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		if re.ErrorCode != "" {
			return re.ErrorCode
		}
		return ""
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Message
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	// gocloud's errors say "blob (key …) (code=…): cause": keep the cause.
	if inner := errors.Unwrap(err); inner != nil {
		return inner.Error()
	}
	return err.Error()
}
