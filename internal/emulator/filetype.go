package emulator

import (
	"path"
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// Allowed file types follow the Upload API's list
// (https://imagekit.io/docs/api-reference/upload-file/upload-file). Binary files are identified by magic
// number, text files by extension, as the documentation says, and a text file
// without an extension is application/octet-stream.

// textTypes are the text formats ImageKit accepts, by extension.
var textTypes = map[string]string{
	".txt":  "text/plain",
	".js":   "application/javascript",
	".mjs":  "application/javascript",
	".css":  "text/css",
	".php":  "application/x-httpd-php",
	".py":   "text/x-python",
	".yml":  "application/x-yaml",
	".yaml": "application/x-yaml",
	".json": "application/json",
	".xml":  "application/xml",
	".rss":  "application/rss+xml",
	".html": "text/html",
	".svg":  "image/svg+xml",
	".rtf":  "application/rtf",
	".gltf": "model/gltf+json",
	".obj":  "model/obj",
	".dxf":  "image/vnd.dxf",
	".m3u8": "application/vnd.apple.mpegurl",
	".ps":   "application/postscript",
	".eps":  "application/postscript",
	".eps3": "application/postscript",
	".ai":   "application/postscript",
	".ply":  "model/ply",
	".stl":  "model/stl",
}

// binaryTypes are the magic-number types ImageKit accepts.
var binaryTypes = map[string]bool{
	"image/jpeg": true, "image/png": true, "image/webp": true, "image/gif": true,
	"image/heic": true, "image/heic-sequence": true, "image/heif": true, "image/heif-sequence": true,
	"image/bmp": true, "image/tiff": true, "image/vnd.adobe.photoshop": true, "image/vnd.djvu": true,
	"image/vnd.dxf":   true,
	"application/pdf": true, "application/postscript": true,
	"font/woff2": true, "font/woff": true, "font/ttf": true, "font/otf": true,
	"application/vnd.ms-fontobject": true,
	"video/mp4":                     true, "video/webm": true, "video/quicktime": true,
	"application/x-shockwave-flash": true,
	"application/vnd.apple.mpegurl": true,
	"audio/mpeg":                    true, "audio/x-m4a": true, "audio/mp4": true, "audio/wav": true,
	"application/msword": true, "application/vnd.ms-powerpoint": true, "application/vnd.ms-excel": true,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   true,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": true,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         true,
	"model/gltf-binary": true,
}

// appImageMIME is an AppImage's type. Other ELF binaries (executables, libraries,
// core dumps) are not among ImageKit's allowed types and are refused.
const appImageMIME = "application/vnd.appimage"

// isAppImage: an AppImage is an ELF file with its own magic, "AI" and the type
// byte 1 or 2, at offset 8 (the AppImage specification).
func isAppImage(head []byte) bool {
	return len(head) >= 11 && string(head[:4]) == "\x7fELF" && head[8] == 'A' && head[9] == 'I' && (head[10] == 1 || head[10] == 2)
}

// weakMagic are accepted binary formats whose magic number the detector does not
// know; they are taken by extension when the content is not recognised.
var weakMagic = map[string]string{
	".ts":   "video/mp2t",
	".flif": "image/flif",
	".arw":  "image/x-sony-arw",
	".dng":  "image/x-adobe-dng",
	".indd": "application/x-indesign",
	".bw":   "image/x-sgi-bw",
	".ept":  "application/postscript",
	".3ds":  "application/x-3ds",
	".fbx":  "application/octet-stream",
	".stl":  "model/stl",
	".ply":  "model/ply",
	".eps3": "application/postscript",
}

// detectType returns the MIME type of content starting with head and named name, or
// ok=false when ImageKit would not accept it.
func detectType(head []byte, name string) (mime string, ok bool) {
	ext := strings.ToLower(path.Ext(name))
	if isAppImage(head) {
		return appImageMIME, true
	}
	m := mimetype.Detect(head)
	if isText(m) {
		if ext == "" {
			return "application/octet-stream", true
		}
		t, ok := textTypes[ext]
		return t, ok
	}
	for x := m; x != nil; x = x.Parent() {
		if binaryTypes[x.String()] {
			return x.String(), true
		}
	}
	if m.Is("application/octet-stream") {
		if t, ok := weakMagic[ext]; ok {
			return t, true
		}
	}
	return "", false
}

func isText(m *mimetype.MIME) bool {
	for x := m; x != nil; x = x.Parent() {
		if x.Is("text/plain") {
			return true
		}
	}
	return false
}

// fileTypeOf is the response's fileType: "image" or "non-image" (video is non-image).
func fileTypeOf(mime string) string {
	if strings.HasPrefix(mime, "image/") && mime != "image/vnd.dxf" {
		return "image"
	}
	return "non-image"
}

func isVideoMime(mime string) bool {
	return strings.HasPrefix(mime, "video/")
}
