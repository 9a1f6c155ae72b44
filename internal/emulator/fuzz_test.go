package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"
)

const (
	fuzzBoundary  = "fuzz-boundary-7f3a"
	fuzzFileLimit = 4096
)

// fuzzMultipart builds a seed body with the fuzz boundary.
func fuzzMultipart(f *testing.F, parts ...part) []byte {
	f.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if err := mw.SetBoundary(fuzzBoundary); err != nil {
		f.Fatal(err)
	}
	for _, p := range parts {
		if p.filename != "" {
			w, _ := mw.CreateFormFile(p.name, p.filename)
			_, _ = w.Write(p.content) // into memory: it cannot fail
		} else {
			_ = mw.WriteField(p.name, p.value)
		}
	}
	_ = mw.Close()
	return b.Bytes()
}

func FuzzReadForm(f *testing.F) {
	png := pngImage(f, 4, 4, false)
	b64 := base64.StdEncoding.EncodeToString(png)
	for _, seed := range [][]byte{
		fuzzMultipart(f, filePart("a.png", png), field("fileName", "a.png"), field("tags", "x,y")),
		fuzzMultipart(f, field("file", b64), field("fileName", "a.png")),
		fuzzMultipart(f, field("file", "data:image/png;base64,"+b64), field("fileName", "a.png")),
		fuzzMultipart(f, field("file", "data:image/png,notbase64")),
		fuzzMultipart(f, field("file", strings.ReplaceAll(base64.URLEncoding.EncodeToString(png), "=", "")+"\n")),
		fuzzMultipart(f, field("file", "@@@@")),
		fuzzMultipart(f, field("file", "https://example.com/a.png")),
		fuzzMultipart(f, field("file", "")),
		fuzzMultipart(f, filePart("a.png", png), filePart("b.png", png)),
		fuzzMultipart(f, filePart("big.bin", bytes.Repeat([]byte{0xAB}, fuzzFileLimit+1))),
		fuzzMultipart(f, field("fileName", strings.Repeat("n", 300))),
		fuzzMultipart(f),
		[]byte("--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nab"),
		[]byte("--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"x\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3Db\r\n--" + fuzzBoundary + "--\r\n"),
		[]byte("not multipart at all"),
		{},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		mr := multipart.NewReader(bytes.NewReader(body), fuzzBoundary)
		form, err := readForm(mr, newMemBlobs().create, func([]byte) int64 { return fuzzFileLimit })
		if err != nil {
			var fe formError
			var corrupt base64.CorruptInputError
			switch {
			case errors.As(err, &fe):
				if fe.api == nil || fe.api.Status != 400 || fe.api.Message == "" || fe.api.Help != helpText {
					t.Fatalf("formError without a proper 400: %+v", fe.api)
				}
			case errors.Is(err, errTooLarge), errors.As(err, &corrupt):
			default:
				t.Fatalf("readForm error %T %v is neither a formError, errTooLarge nor base64 corruption", err, err)
			}
			if e := formErr(err); e.Status != 400 {
				t.Fatalf("a malformed form becomes a %d: %v", e.Status, err)
			}
			if form != nil {
				t.Fatal("readForm returned a form and an error")
			}
			return
		}

		// Read the body again, plainly, to know what readForm should have found.
		wantFields := map[string]string{}
		var wantFile []byte // a binary file part's bytes
		binary := false
		mr = multipart.NewReader(bytes.NewReader(body), fuzzBoundary)
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("readForm accepted a body that a second read rejects: %v", err)
			}
			b, err := io.ReadAll(p)
			if err != nil {
				t.Fatalf("second read: %v", err)
			}
			switch p.FormName() {
			case "":
			case "file":
				binary = p.FileName() != ""
				wantFile = b
			default:
				wantFields[p.FormName()] = string(b)
			}
		}
		if len(form.fields) > maxFields || !mapsEqual(form.fields, wantFields) {
			t.Fatalf("fields %q, want %q", form.fields, wantFields)
		}
		if !form.hasFile {
			if form.staged != nil || form.fileURL != "" {
				t.Fatal("a file without a file part")
			}
			return
		}
		if (form.staged == nil) == (form.fileURL == "") {
			t.Fatalf("file part gave staged=%v and fileURL=%q; want exactly one", form.staged != nil, form.fileURL)
		}
		if form.fileURL != "" {
			if binary || !strings.HasPrefix(strings.ToLower(form.fileURL), "http") {
				t.Fatalf("fileURL %q from a binary part or not a URL", form.fileURL)
			}
			return
		}
		st := form.staged
		got := st.w.(*memWriter).buf.Bytes()
		if st.size != int64(len(got)) || st.size > fuzzFileLimit || st.size == 0 && !binary {
			t.Fatalf("staged size %d, %d bytes written, limit %d", st.size, len(got), fuzzFileLimit)
		}
		if !bytes.Equal(st.head, got[:min(len(got), sniffBytes)]) {
			t.Fatal("head is not the start of the staged content")
		}
		if binary && !bytes.Equal(got, wantFile) {
			t.Fatalf("staged %d bytes, the file part has %d", len(got), len(wantFile))
		}
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func FuzzParseParams(f *testing.F) {
	f.Add("photo.png", "a,b,c", "/images/products/", "10,10,100,100", "tags,customCoordinates")
	f.Add(" my file (1).JPG ", "t-shirt, round-neck ,men", "a//b///c", "", "")
	f.Add("фото-№1.png", "", "/ünïcødé/文件夹", "0,0,1,1", "isPrivateFile, embeddedMetadata ,")
	f.Add("a.png", "100%", "/", "1,2,3", "nope")
	f.Add("\xff\xfe.png", strings.Repeat("x", 501), strings.Repeat("/a", 51), "-1,0,0,0", "metadata")
	f.Add("   ", "x", "/a b", "1,1,1,1", "tags")
	f.Add("a\u0301.png", strings.Repeat("é,", 250), strings.Repeat("/a", 50), "999999999,1,1,1", "customMetadata,selectedFieldsSchema,isPublished")
	f.Fuzz(func(t *testing.T, fileName, tags, folder, coords, respFields string) {
		fields := map[string]string{
			"fileName": fileName, "tags": tags, "folder": folder,
			"customCoordinates": coords, "responseFields": respFields,
		}
		p, e := parseParams(fields)
		if e != nil {
			if p != nil {
				t.Fatal("parseParams returned params and an error")
			}
			if e.Status != 400 || e.Message == "" || e.Help != helpText {
				t.Fatalf("error %+v is not a proper 400", e)
			}
			return
		}
		if p.FileName == "" {
			t.Fatal("empty file name accepted")
		}
		for _, r := range p.FileName {
			if !(unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) || r == '.' || r == '-' || r == '_') {
				t.Fatalf("file name %q keeps %q", p.FileName, r)
			}
		}
		if !strings.HasPrefix(p.Folder, "/") {
			t.Fatalf("folder %q does not start with /", p.Folder)
		}
		if p.Folder != "/" {
			segs := strings.Split(p.Folder[1:], "/")
			if len(segs) > maxFolderDepth {
				t.Fatalf("folder %q has %d segments", p.Folder, len(segs))
			}
			for _, s := range segs {
				if s == "" {
					t.Fatalf("folder %q has an empty segment", p.Folder)
				}
				for _, r := range s {
					if !(unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) || r == '_' || r == '-') {
						t.Fatalf("folder %q keeps %q", p.Folder, r)
					}
				}
			}
		}
		if !p.TagsSet {
			t.Fatal("tags were sent but TagsSet is false")
		}
		total := 0
		for _, tag := range p.Tags {
			total += len([]rune(tag))
			if tag == "" || tag != strings.TrimSpace(tag) || strings.ContainsAny(tag, "%,") {
				t.Fatalf("tag %q", tag)
			}
		}
		if total > maxTagChars {
			t.Fatalf("tags %q have %d characters", p.Tags, total)
		}
		if p.CustomCoordinates != "" && !coordinatesPattern.MatchString(p.CustomCoordinates) {
			t.Fatalf("customCoordinates %q", p.CustomCoordinates)
		}
		for f := range p.ResponseFields {
			if !responseFieldNames[f] {
				t.Fatalf("responseFields kept %q", f)
			}
		}
		if !p.UseUniqueFileName || !p.IsPublished || p.IsPrivateFile || !p.OverwriteFile {
			t.Fatalf("defaults changed: %+v", p)
		}
		// The path built from them is well formed.
		path := filePath(p.Folder, uniqueName(p.FileName, "ABCDEFGHI"))
		if !strings.HasPrefix(path, "/") || strings.Contains(path, "//") {
			t.Fatalf("file path %q", path)
		}
	})
}

var postTypes = []string{"transformation", "gif-to-video", "thumbnail", "abs"}

func FuzzParseTransformation(f *testing.F) {
	for _, s := range []string{
		`{"pre":"rt-90","post":[{"type":"transformation","value":"bg-red"}]}`,
		`{"pre":"w-100"}`,
		`{"post":[{"type":"abs","value":"sr-240_360","protocol":"hls"},{"type":"thumbnail"},{"type":"gif-to-video"}]}`,
		`{"post":[{"type":"abs","value":"x"}]}`,
		`{"post":[{"type":"transformation","value":"w-1","protocol":"dash"}]}`,
		`{"pre":""}`, `{}`, `{"post":[]}`, `{"post":null}`, `[]`, `null`, `{"pre":1}`,
		`{"pre":"a","extra":true}`, `{"pre":"a"} {"pre":"b"}`, `{"pre":"a"}}`, `{"pre":"a"}]`,
		`{"post":[{"type":"transformation","value":"a","extra":1}]}`,
		`{"post":` + strings.Repeat(`{"type":"thumbnail"},`, 21) + `]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tr, e := parseTransformation(v)
		if e != nil {
			if tr != nil || e.Status != 400 || e.Message != msgTransformation {
				t.Fatalf("error %+v with %v", e, tr)
			}
			return
		}
		if !json.Valid([]byte(v)) {
			t.Fatalf("accepted invalid JSON %q", v)
		}
		if tr.Pre != "" && strings.TrimSpace(tr.Pre) == "" {
			t.Fatalf("blank pre %q", tr.Pre)
		}
		if len(tr.Post) > maxPostTransforms {
			t.Fatalf("%d post-transformations", len(tr.Post))
		}
		for _, p := range tr.Post {
			if !slices.Contains(postTypes, p.Type) {
				t.Fatalf("post type %q", p.Type)
			}
			if (p.Type == "transformation" || p.Type == "abs") && strings.TrimSpace(p.Value) == "" {
				t.Fatalf("post %+v without a value", p)
			}
			if (p.Type == "abs") != (p.Protocol != "") || (p.Protocol != "" && p.Protocol != "hls" && p.Protocol != "dash") {
				t.Fatalf("post %+v protocol", p)
			}
		}
		// Re-encoding the result parses to the same thing.
		b, err := json.Marshal(tr)
		if err != nil {
			t.Fatal(err)
		}
		if again, e := parseTransformation(string(b)); e == nil && (again.Pre != tr.Pre || !slices.Equal(again.Post, tr.Post)) {
			t.Fatalf("%s parsed to %+v, then %+v", b, tr, again)
		}
		for _, mime := range []string{"image/png", "image/gif", "video/mp4", "application/pdf", ""} {
			if e := tr.checkFileType(mime); e != nil && e.Status != 400 {
				t.Fatalf("checkFileType(%q): %+v", mime, e)
			}
		}
	})
}

func FuzzParseExtensions(f *testing.F) {
	for _, s := range []string{
		`[{"name":"remove-bg","options":{"add_shadow":true,"bg_colour":"green"}},{"name":"google-auto-tagging","maxTags":5,"minConfidence":95}]`,
		`[{"name":"aws-auto-tagging","minConfidence":0,"maxTags":30},{"name":"ai-auto-description"}]`,
		`[{"name":"google-auto-tagging","minConfidence":100,"maxTags":0}]`,
		`[{"name":"google-auto-tagging","minConfidence":99.80000000000001,"maxTags":30}]`,
		`[{"name":"aws-auto-tagging","minConfidence":94.70000000000002,"maxTags":30}]`,
		`[{"name":"google-auto-tagging","minConfidence":50,"maxTags":2.5}]`,
		`[{"name":"remove-bg","options":{"bg_color":"fff","bg_image_url":"u"}}]`,
		`[{"name":"remove-bg","options":[]}]`,
		`[{"name":"remove-bg"},{"name":"remove-bg"}]`,
		`[{"name":"x"}]`, `[]`, `null`, `[null]`, `{}`, `[1]`, `[{"name":1}]`,
		`[` + strings.Repeat(`{"name":"ai-auto-description"},`, 10) + `{"name":"remove-bg"}]`,
		`[{"name":"ai-tasks","tasks":[{"type":"select_tags","instruction":"q","vocabulary":["a"],"min_selections":0,"max_selections":1},{"type":"select_metadata","field":"f","instruction":"q","vocabulary":[1,true,"x"]},{"type":"yes_no","instruction":"q","on_yes":{"add_tags":["t"],"set_metadata":[{"field":"f","value":1}],"unset_metadata":[{"field":"g"}]}}]}]`,
		`[{"name":"ai-tasks","tasks":[]}]`, `[{"name":"ai-tasks","tasks":[{"type":"yes_no","instruction":"q","on_no":{"set_metadata":[{}]}}]}]`,
		`[{"name":"saved-extension","id":"ext_1"}]`, `[{"name":"saved-extension","id":""}]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		exts, e := parseExtensions(v)
		if e != nil {
			if exts != nil || e.Status != 400 || !strings.HasPrefix(e.Message, "Your request contains invalid value for extensions parameter. ") {
				t.Fatalf("error %+v with %v", e, exts)
			}
			return
		}
		if len(exts) > maxExtensions {
			t.Fatalf("%d extensions", len(exts))
		}
		seen := map[string]bool{}
		for _, x := range exts {
			if seen[x.Name] {
				t.Fatalf("%s twice", x.Name)
			}
			seen[x.Name] = true
			switch x.Name {
			case extRemoveBG:
				_, c1 := x.Options["bg_color"]
				_, c2 := x.Options["bg_colour"]
				if _, img := x.Options["bg_image_url"]; img && (c1 || c2) {
					t.Fatalf("remove-bg with a colour and an image: %v", x.Options)
				}
				for k := range x.Options {
					if _, ok := removeBGOptions[k]; !ok {
						t.Fatalf("remove-bg option %q", k)
					}
				}
			case extGoogleTagging, extAWSTagging:
				if x.MinConfidence < 0 || x.MinConfidence > 100 || x.MaxTags < 0 || x.MaxTags > maxAutoTags {
					t.Fatalf("%+v out of range", x)
				}
				for i := range 20 {
					tags := autoTags(x, "content-"+strconv.Itoa(i))
					if len(tags) > x.MaxTags {
						t.Fatalf("%d tags for maxTags %d", len(tags), x.MaxTags)
					}
					for _, tag := range tags {
						if tag.Confidence < x.MinConfidence || tag.Confidence > 100 || tag.Source != x.Name {
							t.Fatalf("tag %+v for %+v", tag, x)
						}
					}
				}
			case extAutoDescribe, extAITasks, extSaved:
			default:
				t.Fatalf("unknown extension %q accepted", x.Name)
			}
		}
	})
}

// fuzzJWTNow is the fixed clock of FuzzJWT, so that its seed token stays valid.
var fuzzJWTNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func fuzzToken(f *testing.F, method jwt.SigningMethod, claims jwt.MapClaims, kid string, key any) string {
	f.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		f.Fatal(err)
	}
	return s
}

func FuzzJWT(f *testing.F) {
	iat, exp := fuzzJWTNow.Unix(), fuzzJWTNow.Add(10*time.Minute).Unix()
	valid := fuzzToken(f, jwt.SigningMethodHS256, jwt.MapClaims{"fileName": "a.jpg", "iat": iat, "exp": exp}, "public_test", []byte(testKey))
	dot := strings.LastIndexByte(valid, '.')
	last := valid[len(valid)-1]
	for _, s := range []string{
		valid,
		// The same signature spelt differently: a line break inside it, and
		// another value of the last character's unused bits.
		valid[:dot+5] + "\n" + valid[dot+5:],
		valid[:len(valid)-1] + string(last^1),
		valid + "x", valid[:len(valid)-1], strings.Replace(valid, ".", "..", 1),
		fuzzToken(f, jwt.SigningMethodHS256, jwt.MapClaims{"fileName": "a.jpg", "iat": iat, "exp": exp}, "public_other", []byte(testKey)),
		fuzzToken(f, jwt.SigningMethodHS256, jwt.MapClaims{"fileName": "a.jpg", "iat": iat, "exp": exp}, "public_test", []byte("wrong")),
		fuzzToken(f, jwt.SigningMethodHS512, jwt.MapClaims{"fileName": "a.jpg", "iat": iat, "exp": exp}, "public_test", []byte(testKey)),
		fuzzToken(f, jwt.SigningMethodHS256, jwt.MapClaims{"fileName": "b.jpg", "iat": iat, "exp": exp}, "public_test", []byte(testKey)),
		fuzzToken(f, jwt.SigningMethodHS256, jwt.MapClaims{"fileName": "a.jpg", "iat": iat - 7200, "exp": iat - 3600}, "public_test", []byte(testKey)),
		fuzzToken(f, jwt.SigningMethodHS256, jwt.MapClaims{"fileName": "a.jpg", "iat": iat, "exp": iat + 7200}, "public_test", []byte(testKey)),
		fuzzToken(f, jwt.SigningMethodHS256, jwt.MapClaims{"fileName": "a.jpg", "exp": exp}, "public_test", []byte(testKey)),
		fuzzToken(f, jwt.SigningMethodNone, jwt.MapClaims{"fileName": "a.jpg", "iat": iat, "exp": exp}, "public_test", jwt.UnsafeAllowNoneSignatureType),
		"", ".", "..", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.", "\x00",
	} {
		f.Add(s)
	}
	allowed := []string{msgInvalidToken, msgExpiredToken, msgInvalidPayload, msgReusedToken}
	f.Fuzz(func(t *testing.T, s string) {
		srv, err := New(Config{PrivateKey: testKey, Now: func() time.Time { return fuzzJWTNow }})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = srv.Close() }()
		// The seed token is accepted once ...
		if e := srv.checkJWT(map[string]string{"token": valid, "fileName": "a.jpg"}); e != nil {
			t.Fatalf("valid token refused: %+v", e)
		}
		// ... and nothing is accepted after it: not the token again, not any other string.
		e := srv.checkJWT(map[string]string{"token": s, "fileName": "a.jpg"})
		if e == nil {
			t.Fatalf("accepted token %q", s)
		}
		if e.Status != 400 || !slices.Contains(allowed, e.Message) {
			t.Fatalf("token %q: %+v", s, e)
		}
		if s == valid && e.Message != msgReusedToken {
			t.Fatalf("reused token: %q, want %q", e.Message, msgReusedToken)
		}
	})
}
