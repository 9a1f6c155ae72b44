package imagekit_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"net/http/httptest"
	"strings"

	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/imagekit"
)

func ExampleClient_Upload() {
	srv, _ := emulator.New(emulator.Config{PrivateKey: "private_example"})
	defer func() { _ = srv.Close() }()
	ts := httptest.NewServer(srv)
	defer ts.Close()

	var img bytes.Buffer
	_ = png.Encode(&img, image.NewGray(image.Rect(0, 0, 64, 48)))

	c := &imagekit.Client{
		UploadURL:  ts.URL + "/api/v1/files/upload",
		APIBase:    ts.URL,
		PrivateKey: "private_example",
	}
	res, err := c.Upload(context.Background(), imagekit.UploadRequest{
		File:        &img,
		ContentType: "image/png",
		Params:      imagekit.Params{FileName: "gray.png", Folder: "/examples", Tags: []string{"demo"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Status, res.FileType, res.Width, res.Height, strings.HasPrefix(res.FilePath, "/examples/gray_"))

	f, _ := c.FileDetails(context.Background(), res.FileID)
	fmt.Println(f.Mime, f.Tags)

	_, err = c.FileDetails(context.Background(), "5f0000000000000000000000") // well formed, never issued
	fmt.Println(err)
	// Output:
	// 200 image 64 48 true
	// image/png [demo]
	// imagekit: 404 Not Found: The requested file does not exist.
}
