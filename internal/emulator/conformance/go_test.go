package conformance_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	imagekit "github.com/imagekit-developer/imagekit-go/v2"
	"github.com/imagekit-developer/imagekit-go/v2/option"
	"github.com/imagekit-developer/imagekit-go/v2/packages/param"
)

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func goClient(base string, opts ...option.RequestOption) imagekit.Client {
	return imagekit.NewClient(append([]option.RequestOption{
		option.WithBaseURL(base + "/"), option.WithPrivateKey(privateKey),
		option.WithWebhookSecret(webhookSecret), option.WithMaxRetries(0),
	}, opts...)...)
}

// TestGoSDK runs imagekit-go/v2 against the emulator: uploads (server-side, v1
// signature, v2 JWT), file details and versions, custom metadata fields, and the
// account webhooks verified with the SDK's Unwrap.
func TestGoSDK(t *testing.T) {
	t.Parallel()
	img := pngBytes(t, 6, 4)
	base, hooks := startEmulator(t, img)
	ctx := t.Context()
	ik := goClient(base)

	up, err := ik.Files.Upload(ctx, imagekit.FileUploadParams{
		File: bytes.NewReader(img), FileName: "go.png", UseUniqueFileName: param.NewOpt(false),
		Folder: param.NewOpt("/conformance"), Tags: []string{"a", "b"},
	})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if up.FileID == "" || up.FilePath != "/conformance/go.png" || up.Width != 6 || up.Height != 4 || up.Size != float64(len(img)) {
		t.Fatalf("upload response %+v", up)
	}

	t.Run("file details and versions", func(t *testing.T) {
		f, err := ik.Files.Get(ctx, up.FileID)
		if err != nil {
			t.Fatal(err)
		}
		if f.FileID != up.FileID || f.Type != "file" || f.Mime != "image/png" || len(f.Tags) != 2 {
			t.Errorf("details %+v", f)
		}
		if f.CreatedAt.IsZero() || f.CreatedAt.Nanosecond()%int(time.Millisecond) != 0 {
			t.Errorf("createdAt %v: want a time with millisecond precision", f.CreatedAt)
		}
		if f.EmbeddedMetadata == nil {
			t.Error("details have no embeddedMetadata")
		}
		// A second version: the list marks the current one "file", the first "file-version".
		if _, err := ik.Files.Upload(ctx, imagekit.FileUploadParams{File: bytes.NewReader(pngBytes(t, 2, 2)), FileName: "go.png",
			UseUniqueFileName: param.NewOpt(false), Folder: param.NewOpt("/conformance")}); err != nil {
			t.Fatal(err)
		}
		vs, err := ik.Files.Versions.List(ctx, up.FileID)
		if err != nil {
			t.Fatal(err)
		}
		if len(*vs) != 2 || (*vs)[0].Type != "file-version" || (*vs)[1].Type != "file" {
			t.Errorf("versions %+v", *vs)
		}
		_, err = ik.Files.Get(ctx, "000000000000000000000000")
		var apiErr *imagekit.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
			t.Errorf("unknown file: %v, want a 404 *imagekit.Error", err)
		}
	})

	t.Run("wrong private key", func(t *testing.T) {
		bad := goClient(base, option.WithPrivateKey("private_wrong"))
		_, err := bad.Files.Get(ctx, up.FileID)
		var apiErr *imagekit.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden {
			t.Errorf("wrong key: %v, want 403", err)
		}
	})

	t.Run("client-side v1 signature", func(t *testing.T) {
		auth, err := ik.Helper.GetAuthenticationParameters("", time.Now().Add(10*time.Minute).Unix())
		if err != nil {
			t.Fatal(err)
		}
		anon := goClient(base, option.WithHeaderDel("Authorization"))
		res, err := anon.Files.Upload(ctx, imagekit.FileUploadParams{
			File: bytes.NewReader(img), FileName: "signed.png", PublicKey: param.NewOpt(publicKey),
			Token: param.NewOpt(auth["token"].(string)), Expire: param.NewOpt(auth["expire"].(int64)),
			Signature: param.NewOpt(auth["signature"].(string)),
		})
		if err != nil || res.FileID == "" {
			t.Fatalf("signed upload: %v %+v", err, res)
		}
	})

	t.Run("client-side v2 JWT", func(t *testing.T) {
		now := time.Now()
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"fileName": "jwt.png", "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()})
		tok.Header["kid"] = publicKey
		signed, err := tok.SignedString([]byte(privateKey))
		if err != nil {
			t.Fatal(err)
		}
		anon := goClient(base, option.WithHeaderDel("Authorization"))
		res, err := anon.Beta.V2.Files.Upload(ctx, imagekit.BetaV2FileUploadParams{
			File: bytes.NewReader(img), FileName: "jwt.png", Token: param.NewOpt(signed),
		})
		if err != nil || res.FileID == "" {
			t.Fatalf("v2 upload: %v %+v", err, res)
		}
	})

	t.Run("custom metadata fields", func(t *testing.T) {
		f, err := ik.CustomMetadataFields.New(ctx, imagekit.CustomMetadataFieldNewParams{
			Name: "brand", Label: "Brand", Description: param.NewOpt("Who made it"),
			Schema: imagekit.CustomMetadataFieldNewParamsSchema{Type: "Text"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if f.ID == "" || f.Description != "Who made it" {
			t.Errorf("created %+v", f)
		}
		list, err := ik.CustomMetadataFields.List(ctx, imagekit.CustomMetadataFieldListParams{})
		if err != nil || len(*list) != 1 {
			t.Fatalf("list: %v %+v", err, list)
		}
		u, err := ik.CustomMetadataFields.Update(ctx, f.ID, imagekit.CustomMetadataFieldUpdateParams{Label: param.NewOpt("Maker")})
		if err != nil || u.Label != "Maker" {
			t.Fatalf("update: %v %+v", err, u)
		}
		if _, err := ik.CustomMetadataFields.Delete(ctx, f.ID); err != nil {
			t.Fatalf("delete: %v", err)
		}
		_, err = ik.CustomMetadataFields.New(ctx, imagekit.CustomMetadataFieldNewParams{
			Name: "brand", Label: "Brand", Schema: imagekit.CustomMetadataFieldNewParamsSchema{Type: "Text"}})
		var apiErr *imagekit.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
			t.Errorf("reusing a deleted field's name: %v, want 400", err)
		}
	})

	t.Run("account webhook verified by Unwrap", func(t *testing.T) {
		uploadWithPostTransform(t, ctx, base, img)
		h := hooks.next(t)
		// A WebhookService of its own: the client's default options include a password
		// option that panics outside a request (imagekit-go v2.10.0).
		wh := imagekit.NewWebhookService(option.WithWebhookSecret(webhookSecret))
		ev, err := wh.Unwrap(h.body, h.header)
		if err != nil {
			t.Fatalf("Unwrap refused the emulator's event: %v\n%s", err, h.body)
		}
		if !strings.HasPrefix(ev.Type, "upload.") {
			t.Errorf("event type %q", ev.Type)
		}
		tampered := append(bytes.Clone(h.body[:len(h.body)-1]), ' ', h.body[len(h.body)-1])
		if _, err := wh.Unwrap(tampered, h.header); err == nil {
			t.Error("Unwrap accepted a tampered body")
		}
	})
}

// uploadWithPostTransform uploads with a post-transformation, which makes the
// emulator send an upload.post-transform account event.
func uploadWithPostTransform(t *testing.T, ctx context.Context, base string, img []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("file", "t.png")
	_, _ = fw.Write(img) // into memory: it cannot fail
	_ = mw.WriteField("fileName", "t.png")
	_ = mw.WriteField("transformation", `{"post":[{"type":"transformation","value":"w-10"}]}`)
	_ = mw.Close()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/files/upload", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.SetBasicAuth(privateKey, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload with a post-transformation: %s", resp.Status)
	}
}

// TestGoSDKFilesSearch: Assets.List with path and a searchQuery returns the one
// matching file, not its neighbours.
func TestGoSDKFilesSearch(t *testing.T) {
	t.Parallel()
	img := pngBytes(t, 2, 2)
	base, _ := startEmulator(t, img)
	ik := goClient(base)
	for _, name := range []string{"go.png", "other.png"} {
		if _, err := ik.Files.Upload(t.Context(), imagekit.FileUploadParams{File: bytes.NewReader(img), FileName: name,
			UseUniqueFileName: param.NewOpt(false), Folder: param.NewOpt("/conformance")}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := ik.Assets.List(t.Context(), imagekit.AssetListParams{Path: param.NewOpt("/conformance"),
		SearchQuery: param.NewOpt(`name = "go.png"`)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range *list {
		names = append(names, f.Name)
	}
	if len(names) != 1 || names[0] != "go.png" {
		t.Errorf("search for go.png found %v", names)
	}
}
