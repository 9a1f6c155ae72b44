package emulator

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ikq-dev/ikq/internal/emulator/probe/probetest"
)

// v1Signature returns client-side v1 auth fields for token, expiring in expireIn.
func v1Signature(token string, expireIn time.Duration, key string) []part {
	expire := strconv.FormatInt(time.Now().Add(expireIn).Unix(), 10)
	mac := hmac.New(sha1.New, []byte(key))
	mac.Write([]byte(token + expire))
	return []part{
		field("publicKey", "public_test"), field("token", token), field("expire", expire),
		field("signature", hex.EncodeToString(mac.Sum(nil))),
	}
}

// v2Token signs a JWT over payload as ImageKit's v2 client-side auth expects.
func v2Token(t testing.TB, payload map[string]string, iat, exp time.Time, kid, key string) string {
	t.Helper()
	claims := jwt.MapClaims{"iat": iat.Unix(), "exp": exp.Unix()}
	for k, v := range payload {
		claims[k] = v
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestUploadAuth(t *testing.T) {
	t.Parallel()
	img := pngImage(t, 4, 4, false)
	base := []part{filePart("a.png", img), field("fileName", "a.png")}
	now := time.Now()
	payload := map[string]string{"fileName": "a.png"}
	cases := []struct {
		name    string
		version int
		user    string
		extra   []part
		status  int
		message string
	}{
		{"basic auth with the private key, any password", 1, testKey, nil, 200, ""},
		{"v2 basic auth", 2, testKey, nil, 200, ""},
		{"no credentials", 1, "", nil, 401, msgNoPrivateKey},
		{"v2 no credentials", 2, "", nil, 401, msgNoPrivateKey},
		{"wrong private key", 1, "private_wrong", nil, 403, msgWrongPrivateKey},
		{"v1 signature", 1, "", v1Signature("tok-ok", 30*time.Minute, testKey), 200, ""},
		{"v1 signature and basic auth", 1, testKey, v1Signature("tok-both", 30*time.Minute, testKey), 400, msgBothSignatureBasic},
		{"v1 expire over an hour ahead", 1, "", v1Signature("tok-far", 61*time.Minute, testKey), 400, msgInvalidExpire},
		{"v1 expire in the past", 1, "", v1Signature("tok-past", -time.Minute, testKey), 400, msgInvalidExpire},
		{"v1 signature with another key", 1, "", v1Signature("tok-key", 30*time.Minute, "private_other"), 400, msgInvalidSignature},
		{"v1 missing signature", 1, "", []part{field("publicKey", "public_test"), field("token", "t"), field("expire", "1")}, 400, "Your request is missing signature parameter."},
		{"v1 wrong public key", 1, "", append(v1Signature("tok-pk", 30*time.Minute, testKey)[1:], field("publicKey", "public_other")), 400, msgWrongPublicKey},
		{"v2 JWT", 2, "", []part{field("token", v2Token(t, payload, now, now.Add(30*time.Minute), "public_test", testKey))}, 200, ""},
		{"v2 JWT and basic auth", 2, testKey, []part{field("token", v2Token(t, payload, now, now.Add(30*time.Minute), "public_test", testKey))}, 400, msgBothTokenBasic},
		{"v2 expired JWT", 2, "", []part{field("token", v2Token(t, payload, now.Add(-time.Hour), now.Add(-time.Minute), "public_test", testKey))}, 400, msgExpiredToken},
		{"v2 JWT living over an hour", 2, "", []part{field("token", v2Token(t, payload, now, now.Add(61*time.Minute), "public_test", testKey))}, 400, msgInvalidToken},
		{"v2 JWT with another kid", 2, "", []part{field("token", v2Token(t, payload, now, now.Add(time.Minute), "public_other", testKey))}, 400, msgInvalidToken},
		{"v2 JWT signed with another key", 2, "", []part{field("token", v2Token(t, payload, now, now.Add(time.Minute), "public_test", "private_other"))}, 400, msgInvalidToken},
		{"v2 JWT garbage", 2, "", []part{field("token", "not.a.jwt")}, 400, msgInvalidToken},
		{"v2 payload differs from the request", 2, "", []part{field("tags", "x"), field("token", v2Token(t, payload, now, now.Add(time.Minute), "public_test", testKey))}, 400, msgInvalidPayload},
		{"v2 payload value differs", 2, "", []part{field("token", v2Token(t, map[string]string{"fileName": "b.png"}, now, now.Add(time.Minute), "public_test", testKey))}, 400, msgInvalidPayload},
		{"v2 client-side without token", 2, "", []part{field("publicKey", "public_test")}, 400, msgMissingToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEmulator(t, nil)
			r := e.uploadAs(t, c.version, c.user, append(append([]part{}, base...), c.extra...)...)
			if c.status == 200 {
				wantOK(t, r)
				return
			}
			wantError(t, r, c.status, c.message)
		})
	}
}

func TestUploadTokensAreSingleUse(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	img := pngImage(t, 4, 4, false)
	sig := v1Signature("tok-once", 30*time.Minute, testKey)
	wantOK(t, e.uploadAs(t, 1, "", append([]part{filePart("a.png", img), field("fileName", "a.png")}, sig...)...))
	r := e.uploadAs(t, 1, "", append([]part{filePart("a.png", img), field("fileName", "a.png")}, sig...)...)
	wantError(t, r, 400, msgReusedToken)

	// A token is used up even when the upload it came with fails afterwards.
	sig = v1Signature("tok-failed", 30*time.Minute, testKey)
	wantError(t, e.uploadAs(t, 1, "", append([]part{filePart("a.png", img), field("fileName", "a.png"), field("tags", "100%")}, sig...)...), 400, "Your request contains invalid value for tags parameter. % is not allowed in tags.")
	wantError(t, e.uploadAs(t, 1, "", append([]part{filePart("a.png", img), field("fileName", "a.png")}, sig...)...), 400, msgReusedToken)

	now := time.Now()
	tok := v2Token(t, map[string]string{"fileName": "a.png"}, now, now.Add(time.Minute), "public_test", testKey)
	wantOK(t, e.uploadAs(t, 2, "", filePart("a.png", img), field("fileName", "a.png"), field("token", tok)))
	wantError(t, e.uploadAs(t, 2, "", filePart("a.png", img), field("fileName", "a.png"), field("token", tok)), 400, msgReusedToken)
}

// sourceServer serves content at /file, 404 at /missing, and at /slow never
// answers until the test ends.
func sourceServer(t *testing.T, content []byte) *httptest.Server {
	t.Helper()
	done := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/file":
			w.Write(content)
		case "/slow":
			select {
			case <-done:
			case <-r.Context().Done():
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(func() { close(done); ts.Close() })
	return ts
}

func TestUploadFileForms(t *testing.T) {
	t.Parallel()
	img := pngImage(t, 30, 20, false)
	src := sourceServer(t, img)
	b64 := base64.StdEncoding.EncodeToString(img)
	cases := []struct {
		name    string
		file    part
		message string // "" for success
	}{
		{"binary part", filePart("x.png", img), ""},
		{"base64", field("file", b64), ""},
		{"base64 with line breaks", field("file", b64[:40]+"\r\n"+b64[40:]), ""},
		{"base64 url-safe without padding", field("file", strings.TrimRight(base64.URLEncoding.EncodeToString(img), "=")), ""},
		{"data URI", field("file", "data:image/png;base64,"+b64), ""},
		{"URL", field("file", src.URL+"/file"), ""},
		{"not base64", field("file", "this is *not* base64!"), msgInvalidBase64},
		{"data URI without base64", field("file", "data:text/plain,hello"), msgInvalidBase64},
		{"URL answering 404", field("file", src.URL+"/missing"), msgURLDownload},
		{"URL without headers in time", field("file", src.URL+"/slow"), msgURLTimeout},
		{"URL that refuses connections", field("file", "http://127.0.0.1:1/x.png"), msgURLDownload},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEmulator(t, func(c *Config) { c.URLHeaderTimeout = 300 * time.Millisecond })
			r := e.upload(t, c.file, field("fileName", "x.png"))
			if c.message != "" {
				wantError(t, r, 400, c.message)
				return
			}
			wantOK(t, r)
			if r.Body["size"] != float64(len(img)) || r.Body["width"] != 30.0 || r.Body["height"] != 20.0 {
				t.Fatalf("size/width/height = %v/%v/%v, want %d/30/20", r.Body["size"], r.Body["width"], r.Body["height"], len(img))
			}
			// The stored bytes are the file's, whatever form it came in.
			got := e.do(t, http.MethodGet, strings.TrimPrefix(r.str("url"), e.URL), "", nil, "")
			if !bytes.Equal(got.Raw, img) {
				t.Fatalf("served %d bytes, want the %d uploaded", len(got.Raw), len(img))
			}
		})
	}
}

func TestUploadRequiredFields(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	img := pngImage(t, 4, 4, false)
	wantError(t, e.upload(t, field("fileName", "a.png")), 400, msgMissingFile)
	wantError(t, e.upload(t, filePart("a.png", img)), 400, msgMissingFileName)
	wantError(t, e.upload(t, filePart("a.png", img), field("fileName", "  ")), 400, msgMissingFileName)
	wantError(t, e.upload(t, field("file", ""), field("fileName", "a.png")), 400, msgMissingFile)
	r := e.do(t, http.MethodPost, "/api/v1/files/upload", testKey, strings.NewReader(`{"file":"x"}`), "application/json")
	wantError(t, r, 400, msgNotMultipart)
}

// TestUploadParameters has a case per rule the Upload API documents on the upload's
// parameters (https://imagekit.io/docs/api-reference/upload-file/upload-file).
func TestUploadParameters(t *testing.T) {
	t.Parallel()
	img := pngImage(t, 8, 8, false)
	longTags := strings.Repeat("abcde,", 100) // 100 tags of 5 characters: exactly 500
	deep := strings.Repeat("a/", 50)
	cases := []struct {
		name    string
		fields  []part
		message string                         // the 400 expected, or "" for success
		check   func(t *testing.T, r response) // for success
	}{
		{"fileName keeps letters, digits, . and -", []part{field("fileName", "Summer-2024.v2.png"), field("useUniqueFileName", "false")}, "",
			func(t *testing.T, r response) { wantField(t, r, "name", "Summer-2024.v2.png") }},
		{"fileName replaces space and others with _", []part{field("fileName", "my file@name (1)+.png"), field("useUniqueFileName", "false")}, "",
			func(t *testing.T, r response) { wantField(t, r, "name", "my_file_name__1__.png") }},
		{"fileName keeps unicode letters, marks and numerals", []part{field("fileName", "ファイル-é\u0301٣.png"), field("useUniqueFileName", "false")}, "",
			func(t *testing.T, r response) { wantField(t, r, "name", "ファイル-é\u0301٣.png") }},
		{"useUniqueFileName adds _ and 9 alphanumerics before the extension", []part{field("fileName", "shirt.png")}, "",
			func(t *testing.T, r response) { wantMatch(t, r, "name", `^shirt_[A-Za-z0-9]{9}\.png$`) }},
		{"useUniqueFileName without an extension", []part{field("fileName", "shirt")}, "",
			func(t *testing.T, r response) { wantMatch(t, r, "name", `^shirt_[A-Za-z0-9]{9}$`) }},
		{"useUniqueFileName=false keeps the name", []part{field("fileName", "shirt.png"), field("useUniqueFileName", "false")}, "",
			func(t *testing.T, r response) { wantField(t, r, "filePath", "/shirt.png") }},
		{"useUniqueFileName not a boolean", []part{field("fileName", "a.png"), field("useUniqueFileName", "yes")}, "Your request contains invalid value for useUniqueFileName parameter. It accepts true or false.", nil},
		{"tags are comma-separated", []part{field("fileName", "a.png"), field("tags", "t-shirt, round-neck,,men"), field("responseFields", "tags")}, "",
			func(t *testing.T, r response) { wantJSON(t, r, "tags", `["t-shirt","round-neck","men"]`) }},
		{"tags of 500 characters", []part{field("fileName", "a.png"), field("tags", longTags)}, "", nil},
		{"tags over 500 characters", []part{field("fileName", "a.png"), field("tags", longTags+"x")}, "Your request contains invalid value for tags parameter. Combined length of all tags should be less than or equal to 500.", nil},
		{"tags with %", []part{field("fileName", "a.png"), field("tags", "sale,50%")}, "Your request contains invalid value for tags parameter. % is not allowed in tags.", nil},
		{"folder is created", []part{field("fileName", "a.png"), field("useUniqueFileName", "false"), field("folder", "/images/folder/")}, "",
			func(t *testing.T, r response) { wantField(t, r, "filePath", "/images/folder/a.png") }},
		{"folder with repeated slashes nests", []part{field("fileName", "a.png"), field("useUniqueFileName", "false"), field("folder", "x//y_z/-w")}, "",
			func(t *testing.T, r response) { wantField(t, r, "filePath", "/x/y_z/-w/a.png") }},
		{"folder with unicode letters", []part{field("fileName", "a.png"), field("useUniqueFileName", "false"), field("folder", "фото/日本")}, "",
			func(t *testing.T, r response) { wantField(t, r, "filePath", "/фото/日本/a.png") }},
		{"folder 50 levels deep", []part{field("fileName", "a.png"), field("folder", deep)}, "", nil},
		{"folder 51 levels deep", []part{field("fileName", "a.png"), field("folder", deep+"b")}, "Your request contains invalid value for folder parameter. Folders can be nested at most 50 levels deep.", nil},
		{"folder with a space", []part{field("fileName", "a.png"), field("folder", "my folder")}, "Your request contains invalid value for folder parameter. A folder name can contain letters, digits, / _ and - only.", nil},
		{"folder with a dot", []part{field("fileName", "a.png"), field("folder", "a/../b")}, "Your request contains invalid value for folder parameter. A folder name can contain letters, digits, / _ and - only.", nil},
		{"isPrivateFile", []part{field("fileName", "a.png"), field("isPrivateFile", "true"), field("responseFields", "isPrivateFile")}, "",
			func(t *testing.T, r response) { wantJSON(t, r, "isPrivateFile", `true`) }},
		{"isPrivateFile defaults to false", []part{field("fileName", "a.png"), field("responseFields", "isPrivateFile")}, "",
			func(t *testing.T, r response) { wantJSON(t, r, "isPrivateFile", `false`) }},
		{"isPrivateFile not a boolean", []part{field("fileName", "a.png"), field("isPrivateFile", "1")}, "Your request contains invalid value for isPrivateFile parameter. It accepts true or false.", nil},
		{"isPublished=false", []part{field("fileName", "a.png"), field("isPublished", "false"), field("responseFields", "isPublished")}, "",
			func(t *testing.T, r response) { wantJSON(t, r, "isPublished", `false`) }},
		{"isPublished defaults to true", []part{field("fileName", "a.png"), field("responseFields", "isPublished")}, "",
			func(t *testing.T, r response) { wantJSON(t, r, "isPublished", `true`) }},
		{"customCoordinates", []part{field("fileName", "a.png"), field("customCoordinates", "10,10,100,100"), field("responseFields", "customCoordinates")}, "",
			func(t *testing.T, r response) { wantField(t, r, "customCoordinates", "10,10,100,100") }},
		{"customCoordinates unset is null", []part{field("fileName", "a.png"), field("responseFields", "customCoordinates")}, "",
			func(t *testing.T, r response) { wantJSON(t, r, "customCoordinates", `null`) }},
		{"customCoordinates with three numbers", []part{field("fileName", "a.png"), field("customCoordinates", "10,10,100")}, "Your request contains invalid value for customCoordinates parameter. Use the format x,y,width,height with non-negative integers, for example 10,10,100,100.", nil},
		{"customCoordinates negative", []part{field("fileName", "a.png"), field("customCoordinates", "-1,0,10,10")}, "Your request contains invalid value for customCoordinates parameter. Use the format x,y,width,height with non-negative integers, for example 10,10,100,100.", nil},
		{"responseFields absent: optional fields absent", []part{field("fileName", "a.png"), field("tags", "a")}, "",
			func(t *testing.T, r response) {
				for _, k := range []string{"tags", "isPrivateFile", "isPublished", "customCoordinates", "customMetadata", "embeddedMetadata", "metadata", "extensionStatus"} {
					if _, ok := r.Body[k]; ok {
						t.Errorf("response has %s without asking for it", k)
					}
				}
			}},
		{"responseFields lists every optional field", []part{field("fileName", "a.png"), field("responseFields", "tags,customCoordinates,isPrivateFile,embeddedMetadata,isPublished,customMetadata,metadata")}, "",
			func(t *testing.T, r response) {
				wantJSON(t, r, "tags", `null`)
				wantJSON(t, r, "customMetadata", `{}`)
				wantJSON(t, r, "embeddedMetadata", `{"FileSize":`+strconv.Itoa(len(img))+`,"ImageHeight":8,"ImageWidth":8,"MIMEType":"image/png"}`)
				if m, _ := r.Body["metadata"].(map[string]any); m["format"] != "png" || m["width"] != 8.0 {
					t.Errorf("metadata = %v", r.Body["metadata"])
				}
			}},
		{"responseFields with an unknown field", []part{field("fileName", "a.png"), field("responseFields", "tags,secrets")}, "Your request contains invalid value for responseFields parameter. secrets is not a field the response can include.", nil},
		{"webhookUrl must be a URL", []part{field("fileName", "a.png"), field("webhookUrl", "ftp://x")}, "Your request contains invalid value for webhookUrl parameter. It must be an absolute http or https URL.", nil},
		{"description", []part{field("fileName", "a.png"), field("description", "A red shirt")}, "",
			func(t *testing.T, r response) { wantField(t, r, "description", "A red shirt") }},
		{"extensions must be a JSON array", []part{field("fileName", "a.png"), field("extensions", `{"name":"remove-bg"}`)}, "Your request contains invalid value for extensions parameter. It must be a JSON array of extension objects.", nil},
		{"extensionStatus when extensions are requested", []part{field("fileName", "a.png"), field("extensions", `[{"name":"remove-bg"},{"name":"aws-auto-tagging","minConfidence":10,"maxTags":3}]`)}, "",
			func(t *testing.T, r response) {
				wantJSON(t, r, "extensionStatus", `{"aws-auto-tagging":"success","remove-bg":"pending"}`)
				tags, _ := r.Body["AITags"].([]any)
				if len(tags) == 0 || len(tags) > 3 {
					t.Fatalf("AITags = %v, want 1 to 3 tags", r.Body["AITags"])
				}
			}},
		{"customMetadata must be a JSON object", []part{field("fileName", "a.png"), field("customMetadata", `["x"]`)}, "Your request contains invalid value for customMetadata parameter. It must be a JSON object of field names and values.", nil},
		{"customMetadata field must exist", []part{field("fileName", "a.png"), field("customMetadata", `{"nope":1}`)}, msgInvalidCustomMeta, nil},
		{"checks passing", []part{field("fileName", "a.png"), field("checks", `"file.size" < "1mb"`)}, "", nil},
		{"checks with single quotes", []part{field("fileName", "a.png"), field("folder", "/marketing"), field("checks", `'request.folder' : 'marketing/'`)}, "", nil},
		{"checks failing", []part{field("fileName", "a.png"), field("checks", `"file.size" > "1mb"`)}, msgChecksFailed, nil},
		{"checks on dimensions", []part{field("fileName", "a.png"), field("checks", `"file.width" >= 8 AND "file.mime" : "image/png"`)}, "", nil},
		{"checks with bad syntax", []part{field("fileName", "a.png"), field("checks", `file.size < 1mb`)}, msgChecksSyntax, nil},
		{"transformation pre and post", []part{field("fileName", "a.png"), field("transformation", `{"pre":"rt-90", "post": [{"type": "transformation", "value": "bg-red"}]}`)}, "", nil},
		{"transformation is not JSON", []part{field("fileName", "a.png"), field("transformation", `rt-90`)}, msgTransformation, nil},
		{"transformation without pre or post", []part{field("fileName", "a.png"), field("transformation", `{}`)}, msgTransformation, nil},
		{"transformation with empty pre", []part{field("fileName", "a.png"), field("transformation", `{"pre":""}`)}, msgTransformation, nil},
		{"post type unknown", []part{field("fileName", "a.png"), field("transformation", `{"post":[{"type":"resize","value":"w-10"}]}`)}, msgTransformation, nil},
		{"post transformation needs value", []part{field("fileName", "a.png"), field("transformation", `{"post":[{"type":"transformation"}]}`)}, msgTransformation, nil},
		{"post abs needs protocol", []part{field("fileName", "a.png"), field("transformation", `{"post":[{"type":"abs","value":"sr-240_360"}]}`)}, msgTransformation, nil},
		{"post protocol only for abs", []part{field("fileName", "a.png"), field("transformation", `{"post":[{"type":"thumbnail","protocol":"hls"}]}`)}, msgTransformation, nil},
		{"post gif-to-video needs a gif", []part{field("fileName", "a.png"), field("transformation", `{"post":[{"type":"gif-to-video"}]}`)}, msgTransformMismatch, nil},
		{"post thumbnail needs a video", []part{field("fileName", "a.png"), field("transformation", `{"post":[{"type":"thumbnail"}]}`)}, msgTransformMismatch, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEmulator(t, nil)
			r := e.upload(t, append([]part{filePart("upload.png", img)}, c.fields...)...)
			if c.message != "" {
				wantError(t, r, 400, c.message)
				return
			}
			wantOK(t, r)
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

func wantField(t *testing.T, r response, key, want string) {
	t.Helper()
	if got := r.str(key); got != want {
		t.Fatalf("%s = %q, want %q (body %s)", key, got, want, r.Raw)
	}
}

func wantMatch(t *testing.T, r response, key, pattern string) {
	t.Helper()
	if got := r.str(key); !regexp.MustCompile(pattern).MatchString(got) {
		t.Fatalf("%s = %q, want a match of %s", key, got, pattern)
	}
}

// wantJSON compares r.Body[key], re-encoded, with want.
func wantJSON(t *testing.T, r response, key, want string) {
	t.Helper()
	v, ok := r.Body[key]
	if !ok {
		t.Fatalf("response has no %s: %s", key, r.Raw)
	}
	if got := mustJSON(t, v); got != want {
		t.Fatalf("%s = %s, want %s", key, got, want)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUploadFileTypes(t *testing.T) {
	t.Parallel()
	mp4 := probetest.SampleMP4(320, 240, 3, 2048)
	pdf := []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>`)
	cases := []struct {
		name, fileName string
		content        []byte
		mime, fileType string // mime "" means refused
	}{
		{"png by magic number", "photo.jpg", pngImage(t, 3, 3, false), "image/png", "image"},
		{"jpeg", "a.jpeg", sample, "image/jpeg", "image"},
		{"pdf", "doc.pdf", pdf, "application/pdf", "non-image"},
		{"mp4 video is non-image", "clip.mp4", mp4, "video/mp4", "non-image"},
		{"svg by extension", "logo.svg", svg, "image/svg+xml", "image"},
		{"css by extension", "site.css", []byte("body { color: red }"), "text/css", "non-image"},
		{"javascript by extension", "app.js", []byte("console.log(1)"), "application/javascript", "non-image"},
		{"json by extension", "data.json", []byte(`{"a":1}`), "application/json", "non-image"},
		{"text without extension", "README", []byte("hello"), "application/octet-stream", "non-image"},
		{"text named like an unlisted type", "notes.exe", []byte("hello"), "", ""},
		{"unknown binary", "blob.bin", []byte{0x00, 0x01, 0xfe, 0xff, 0x00, 0x10, 0x80, 0x81}, "", ""},
		{"zip archive", "a.zip", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEmulator(t, nil)
			r := e.upload(t, filePart(c.fileName, c.content), field("fileName", c.fileName))
			if c.mime == "" {
				wantError(t, r, 400, msgUnsupportedType)
				return
			}
			wantOK(t, r)
			wantField(t, r, "fileType", c.fileType)
			d := e.getJSON(t, "/v1/files/"+r.str("fileId")+"/details")
			wantField(t, d, "mime", c.mime)
			if _, has := r.Body["thumbnailUrl"]; has != (c.fileType == "image") {
				t.Errorf("thumbnailUrl present = %v for fileType %s", has, c.fileType)
			}
		})
	}
}

func TestUploadVideoFields(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	mp4 := probetest.SampleMP4(640, 360, 7, 4096)
	r := e.upload(t, filePart("clip.mp4", mp4), field("fileName", "clip.mp4"))
	wantOK(t, r)
	for k, want := range map[string]any{"width": 640.0, "height": 360.0, "duration": 7.0, "videoCodec": "h264", "audioCodec": "aac", "fileType": "non-image"} {
		if r.Body[k] != want {
			t.Errorf("%s = %v, want %v", k, r.Body[k], want)
		}
	}
	if br, _ := r.Body["bitRate"].(float64); br <= 0 {
		t.Errorf("bitRate = %v, want a positive number", r.Body["bitRate"])
	}
}

func TestUploadSizeLimits(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, func(c *Config) { c.MaxFileSize = 2000; c.MaxVideoSize = 6000 })
	small := pngImage(t, 2, 2, false)
	wantOK(t, e.upload(t, filePart("a.png", small), field("fileName", "a.png")))
	big := append(pngImage(t, 2, 2, false), make([]byte, 2500)...)
	wantError(t, e.upload(t, filePart("a.png", big), field("fileName", "a.png")), 400, msgTooLarge)
	wantError(t, e.upload(t, field("file", base64.StdEncoding.EncodeToString(big)), field("fileName", "a.png")), 400, msgTooLarge)
	// Videos have their own, larger limit.
	wantOK(t, e.upload(t, filePart("v.mp4", probetest.SampleMP4(16, 16, 1, 4000)), field("fileName", "v.mp4")))
	wantError(t, e.upload(t, filePart("v.mp4", probetest.SampleMP4(16, 16, 1, 7000)), field("fileName", "v.mp4")), 400, msgTooLarge)
	if st := e.srv.Stats(); st.Uploads != 2 || st.Rejected != 3 {
		t.Fatalf("stats uploads=%d rejected=%d, want 2 and 3", st.Uploads, st.Rejected)
	}
}

func TestUploadResponseShape(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	r := e.upload(t, filePart("a.png", pngImage(t, 200, 300, false)), field("fileName", "file1.png"), field("folder", "/images/products"))
	wantOK(t, r)
	if r.Header.Get("x-ik-requestId") == "" {
		t.Fatal("no x-ik-requestId header")
	}
	wantMatch(t, r, "fileId", `^[0-9a-f]{24}$`)
	wantMatch(t, r, "name", `^file1_[A-Za-z0-9]{9}\.png$`)
	wantField(t, r, "filePath", "/images/products/"+r.str("name"))
	wantField(t, r, "url", e.URL+"/emulator/images/products/"+r.str("name"))
	wantField(t, r, "thumbnailUrl", e.URL+"/emulator/tr:n-ik_ml_thumbnail/images/products/"+r.str("name"))
	wantJSON(t, r, "versionInfo", fmt.Sprintf(`{"id":"%s","name":"Version 1"}`, r.str("fileId")))
	wantJSON(t, r, "AITags", `null`)
	wantJSON(t, r, "width", `200`)
	wantJSON(t, r, "height", `300`)
	wantField(t, r, "fileType", "image")

	bad := e.upload(t, field("fileName", "a.png"))
	if bad.Header.Get("x-ik-requestId") == "" || bad.Header.Get("x-ik-requestId") == r.Header.Get("x-ik-requestId") {
		t.Fatalf("error response request id %q: want its own id", bad.Header.Get("x-ik-requestId"))
	}
}

func TestUploadOverwrite(t *testing.T) {
	t.Parallel()
	img := pngImage(t, 4, 4, false)
	up := func(t *testing.T, e *testEmulator, extra ...part) response {
		t.Helper()
		parts := append([]part{filePart("a.png", img), field("fileName", "a.png"), field("useUniqueFileName", "false"),
			field("responseFields", "tags,customMetadata,customCoordinates")}, extra...)
		return e.upload(t, parts...)
	}
	ext := field("extensions", `[{"name":"google-auto-tagging","minConfidence":50,"maxTags":2}]`)
	cases := []struct {
		name   string
		first  []part
		second []part
		check  func(t *testing.T, first, second response)
	}{
		{"a second upload to one path is version 2 of the same file", nil, nil, func(t *testing.T, first, second response) {
			wantField(t, second, "fileId", first.str("fileId"))
			wantJSON(t, second, "versionInfo", fmt.Sprintf(`{"id":"%s","name":"Version 2"}`, second.Body["versionInfo"].(map[string]any)["id"]))
			if second.Body["versionInfo"].(map[string]any)["id"] == first.str("fileId") {
				t.Fatal("version 2 kept version 1's id")
			}
		}},
		{"overwriteFile=false refuses", nil, []part{field("overwriteFile", "false")}, func(t *testing.T, _, second response) {
			wantError(t, second, 400, msgConflict)
		}},
		{"tags removed when the overwrite has none", []part{field("tags", "a,b")}, nil, func(t *testing.T, _, second response) {
			wantJSON(t, second, "tags", `null`)
		}},
		{"tags kept with overwriteTags=false", []part{field("tags", "a,b")}, []part{field("overwriteTags", "false")}, func(t *testing.T, _, second response) {
			wantJSON(t, second, "tags", `["a","b"]`)
		}},
		{"request tags win over overwriteTags=false", []part{field("tags", "a,b")}, []part{field("overwriteTags", "false"), field("tags", "c")}, func(t *testing.T, _, second response) {
			wantJSON(t, second, "tags", `["c"]`)
		}},
		{"customMetadata removed when the overwrite has none", []part{field("customMetadata", `{"brand":"Nike"}`)}, nil, func(t *testing.T, _, second response) {
			wantJSON(t, second, "customMetadata", `{}`)
		}},
		{"customMetadata kept with overwriteCustomMetadata=false", []part{field("customMetadata", `{"brand":"Nike"}`)}, []part{field("overwriteCustomMetadata", "false")}, func(t *testing.T, _, second response) {
			wantJSON(t, second, "customMetadata", `{"brand":"Nike"}`)
		}},
		{"request customMetadata wins over overwriteCustomMetadata=false", []part{field("customMetadata", `{"brand":"Nike"}`)}, []part{field("overwriteCustomMetadata", "false"), field("customMetadata", `{"brand":"Puma"}`)}, func(t *testing.T, _, second response) {
			wantJSON(t, second, "customMetadata", `{"brand":"Puma"}`)
		}},
		{"AITags removed by default", []part{ext}, nil, func(t *testing.T, first, second response) {
			if first.Body["AITags"] == nil {
				t.Fatal("first upload has no AITags")
			}
			wantJSON(t, second, "AITags", `null`)
		}},
		{"AITags kept with overwriteAITags=false", []part{ext}, []part{field("overwriteAITags", "false")}, func(t *testing.T, first, second response) {
			wantJSON(t, second, "AITags", mustJSON(t, first.Body["AITags"]))
		}},
		{"customCoordinates removed when the overwrite has none", []part{field("customCoordinates", "1,2,3,4")}, nil, func(t *testing.T, _, second response) {
			wantJSON(t, second, "customCoordinates", `null`)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEmulator(t, nil)
			e.postJSON(t, "/v1/customMetadataFields", map[string]any{"name": "brand", "label": "Brand", "schema": map[string]any{"type": "Text"}})
			first := up(t, e, c.first...)
			wantOK(t, first)
			c.check(t, first, up(t, e, c.second...))
		})
	}
}

func TestUploadVersionLimit(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	img := pngImage(t, 2, 2, false)
	var last response
	for range maxVersions {
		last = e.upload(t, filePart("a.png", img), field("fileName", "a.png"), field("useUniqueFileName", "false"))
		wantOK(t, last)
	}
	wantJSON(t, last, "versionInfo", fmt.Sprintf(`{"id":"%s","name":"Version 100"}`, last.Body["versionInfo"].(map[string]any)["id"]))
	wantError(t, e.upload(t, filePart("a.png", img), field("fileName", "a.png"), field("useUniqueFileName", "false")), 400, msgVersionLimit)
}

func TestUploadCustomMetadataSchema(t *testing.T) {
	t.Parallel()
	e := newTestEmulator(t, nil)
	fields := []map[string]any{
		{"name": "brand", "label": "Brand", "schema": map[string]any{"type": "Text", "minLength": 2, "maxLength": 10}},
		{"name": "price", "label": "Price", "schema": map[string]any{"type": "Number", "minValue": 1, "maxValue": 1000}},
		{"name": "launch", "label": "Launch", "schema": map[string]any{"type": "Date", "minValue": "2020-01-01", "maxValue": "2030-12-31"}},
		{"name": "sale", "label": "Sale", "schema": map[string]any{"type": "Boolean"}},
		{"name": "color", "label": "Color", "schema": map[string]any{"type": "SingleSelect", "selectOptions": []any{"red", "green"}}},
		{"name": "sizes", "label": "Sizes", "schema": map[string]any{"type": "MultiSelect", "selectOptions": []any{"S", "M", "L"}}},
		{"name": "region", "label": "Region", "schema": map[string]any{"type": "Text", "isValueRequired": true, "defaultValue": "EU"}},
	}
	for _, f := range fields {
		if r := e.postJSON(t, "/v1/customMetadataFields", f); r.Status != http.StatusCreated {
			t.Fatalf("creating %v: %d %s", f["name"], r.Status, r.Raw)
		}
	}
	img := pngImage(t, 2, 2, false)
	cases := []struct {
		value   string
		problem string // the field reported, or "" for success
		want    string // stored customMetadata on success
	}{
		{`{"brand":"Nike","price":99.5,"launch":"2024-05-01","sale":true,"color":"red","sizes":["S","L"]}`, "",
			`{"brand":"Nike","color":"red","launch":"2024-05-01","price":99.5,"region":"EU","sale":true,"sizes":["S","L"]}`},
		{`{"region":"US"}`, "", `{"region":"US"}`},
		{`{"brand":"N"}`, "brand", ""},
		{`{"brand":"NikeNikeNike"}`, "brand", ""},
		{`{"brand":5}`, "brand", ""},
		{`{"price":"99"}`, "price", ""},
		{`{"price":1001}`, "price", ""},
		{`{"launch":"yesterday"}`, "launch", ""},
		{`{"launch":"2019-12-31"}`, "launch", ""},
		{`{"sale":"yes"}`, "sale", ""},
		{`{"color":"blue"}`, "color", ""},
		{`{"color":{"x":1}}`, "color", ""},
		{`{"sizes":"S"}`, "sizes", ""},
		{`{"sizes":["S","XL"]}`, "sizes", ""},
		{`{"unknown":"x"}`, "unknown", ""},
	}
	for _, c := range cases {
		r := e.upload(t, filePart("a.png", img), field("fileName", "a.png"), field("customMetadata", c.value), field("responseFields", "customMetadata"))
		if c.problem == "" {
			wantOK(t, r)
			wantJSON(t, r, "customMetadata", c.want)
			continue
		}
		wantError(t, r, 400, msgInvalidCustomMeta)
		errs, _ := r.Body["errors"].(map[string]any)
		if _, ok := errs[c.problem]; !ok || len(errs) != 1 {
			t.Errorf("%s: errors = %v, want exactly one for %s", c.value, errs, c.problem)
		}
	}
}
