package objstore

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/ikq-dev/ikq/internal/source"
)

// objectRef is a parsed scheme://bucket/key reference.
type objectRef struct {
	scheme string
	bucket string
	key    string
	region string // s3 only: ?region=, "" for the default
}

// parseRef reads scheme://bucket/path/to/key. The bucket is the host, the key
// the whole path after it, unescaped. Only s3 takes a query: ?region=.
func parseRef(u *url.URL) (objectRef, error) {
	ref := objectRef{scheme: strings.ToLower(u.Scheme), bucket: u.Host}
	invalid := func(format string, args ...any) (objectRef, error) {
		return objectRef{}, permanent(source.KindInvalid, fmt.Errorf(format, args...))
	}
	example := ref.scheme + "://bucket/path/to/photo.jpg"
	switch {
	case u.Opaque != "":
		return invalid("not of the form %s", example)
	case u.User != nil:
		return invalid("%s:// references carry no credentials; they come from the worker's environment", ref.scheme)
	case strings.Contains(u.Host, ":"):
		return invalid("%s:// references name a bucket, not a host and port; write %s", ref.scheme, example)
	case u.Fragment != "" || u.RawFragment != "":
		return invalid("%s:// references take no #fragment", ref.scheme)
	}
	if err := checkBucket(ref.scheme, ref.bucket); err != nil {
		return objectRef{}, permanent(source.KindInvalid, err)
	}
	ref.key = strings.TrimPrefix(u.Path, "/")
	switch {
	case ref.key == "":
		return invalid("no object key; write %s", example)
	case strings.HasSuffix(ref.key, "/"):
		return invalid("the key names a folder, not an object")
	case !utf8.ValidString(ref.key):
		return invalid("the key is not valid UTF-8")
	case len(ref.key) > 1024:
		return invalid("the key is longer than 1024 bytes")
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return invalid("the query is malformed")
		}
		for name, vals := range q {
			if ref.scheme != SchemeS3 || name != "region" {
				// Endpoints and credentials come from the worker's configuration,
				// never from a job: a job must not point a worker elsewhere.
				return invalid("unsupported parameter %q (only s3:// takes one, region)", name)
			}
			if len(vals) != 1 {
				return invalid("parameter \"region\" is given %d times; give it once", len(vals))
			}
			if err := CheckRegion(vals[0]); err != nil {
				return invalid("parameter \"region\": %v", err)
			}
			ref.region = vals[0]
		}
	}
	return ref, nil
}

// checkBucket applies each store's naming rules, so a bucket no store could
// have fails here, with a reason, rather than as a confusing remote error.
func checkBucket(scheme, name string) error {
	if name == "" {
		return fmt.Errorf("no bucket; write %s://bucket/path/to/photo.jpg", scheme)
	}
	switch scheme {
	case SchemeS3:
		// Today's rules are lowercase, 3 to 63 characters; buckets made before
		// 2018 in us-east-1 may have capitals and underscores, and up to 255.
		return checkName(name, 3, 255, "letters, digits, dots, hyphens and underscores", func(c byte) bool {
			return isAlnum(c) || c == '.' || c == '-' || c == '_'
		})
	case SchemeGCS:
		if err := checkName(name, 3, 222, "lowercase letters, digits, dots, hyphens and underscores", func(c byte) bool {
			return isLowerAlnum(c) || c == '.' || c == '-' || c == '_'
		}); err != nil {
			return err
		}
		if !strings.Contains(name, ".") && len(name) > 63 {
			return fmt.Errorf("bucket name %q: longer than 63 characters (only names with dots may be longer)", name)
		}
		for part := range strings.SplitSeq(name, ".") {
			if len(part) == 0 || len(part) > 63 {
				return fmt.Errorf("bucket name %q: each dot-separated part must be 1 to 63 characters", name)
			}
		}
	case SchemeAzure:
		switch name {
		case "$root", "$web", "$logs":
			return nil
		}
		if err := checkName(name, 3, 63, "lowercase letters, digits and hyphens", func(c byte) bool {
			return isLowerAlnum(c) || c == '-'
		}); err != nil {
			return err
		}
		if strings.Contains(name, "--") {
			return fmt.Errorf("container name %q: two hyphens in a row", name)
		}
	}
	return nil
}

func checkName(name string, minLen, maxLen int, allowed string, ok func(byte) bool) error {
	if len(name) < minLen || len(name) > maxLen {
		return fmt.Errorf("bucket name %q: must be %d to %d characters", name, minLen, maxLen)
	}
	for i := 0; i < len(name); i++ {
		if !ok(name[i]) {
			return fmt.Errorf("bucket name %q: only %s", name, allowed)
		}
	}
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return fmt.Errorf("bucket name %q: must begin and end with a letter or digit", name)
	}
	return nil
}

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

func isAlnum(c byte) bool { return isLowerAlnum(c) || 'A' <= c && c <= 'Z' }

// CheckRegion accepts what S3 region names look like (us-east-1,
// cn-northwest-1, us-gov-west-1, eu-isoe-west-1; S3-compatible servers' own):
// 1 to 32 lowercase letters, digits and hyphens, beginning and ending with a
// letter or digit. Its error does not repeat the name, which may be anything.
func CheckRegion(r string) error {
	if len(r) < 1 || len(r) > 32 {
		return fmt.Errorf("not an S3 region name: %d characters, want 1 to 32, like eu-west-1", len(r))
	}
	for i := 0; i < len(r); i++ {
		if !isLowerAlnum(r[i]) && r[i] != '-' {
			return errors.New("not an S3 region name: only lowercase letters, digits and hyphens, like eu-west-1")
		}
	}
	if !isLowerAlnum(r[0]) || !isLowerAlnum(r[len(r)-1]) {
		return errors.New("not an S3 region name: it must begin and end with a letter or digit, like eu-west-1")
	}
	return nil
}
