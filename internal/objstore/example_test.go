package objstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ikq-dev/ikq/internal/objstore"
	"github.com/ikq-dev/ikq/internal/source"
)

func Example() {
	ctx := context.Background()
	o := source.New(source.Config{})
	stores, err := objstore.Register(o, objstore.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = stores.Close() }()

	// A test writes its objects to a memory bucket, and jobs read them.
	if err := stores.MemBucket("photos").WriteAll(ctx, "2024/notes.txt", []byte("hello"), nil); err != nil {
		fmt.Println(err)
		return
	}
	src, err := o.Open(ctx, "mem://photos/2024/notes.txt")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = src.Body.Close() }()
	b, _ := io.ReadAll(src.Body)
	fmt.Println(src.Name, src.Size, src.ContentType, string(b))

	_, err = o.Open(ctx, "mem://photos/2024/missing.txt")
	var e *source.Error
	if errors.As(err, &e) {
		fmt.Println(e.Kind, e.Retryable)
		fmt.Println(err)
	}
	// Output:
	// notes.txt 5 text/plain hello
	// not found false
	// source "mem://photos/2024/missing.txt": not found: no such object
}
