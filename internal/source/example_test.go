package source_test

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ikq-dev/ikq/internal/source"
)

func ExampleOpener_Open() {
	o := source.New(source.Config{})
	src, err := o.Open(context.Background(), "data:text/plain;base64,aGVsbG8sIHdvcmxk")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = src.Body.Close() }()
	b, _ := io.ReadAll(src.Body)
	fmt.Println(src.ContentType, src.Size, string(b))
	// Output: text/plain 12 hello, world
}

func ExampleError() {
	o := source.New(source.Config{})
	_, err := o.Open(context.Background(), "ftp://user:secret@example.com/a.png?sig=abc")
	var e *source.Error
	if errors.As(err, &e) {
		fmt.Println(e.Kind, e.Retryable)
		fmt.Println(err)
	}
	// Output:
	// invalid false
	// source "ftp://example.com/a.png?sig=REDACTED": invalid: unsupported source scheme "ftp"
}

func ExampleRedact() {
	fmt.Println(source.Redact("https://user:secret@bucket.s3.amazonaws.com/a.png?X-Amz-Signature=abc"))
	fmt.Println(source.Redact("data:image/png;base64,iVBORw0KGgo="))
	// Output:
	// https://bucket.s3.amazonaws.com/a.png?X-Amz-Signature=REDACTED
	// inline content (34 bytes)
}
