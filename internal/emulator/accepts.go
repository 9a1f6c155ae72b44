package emulator

// AcceptsType reports the media type the emulator, like ImageKit, gives content
// starting with head and named name, and whether it accepts that type at all. ikq
// bulk --dry-run uses it to say which files ImageKit would refuse.
func AcceptsType(head []byte, name string) (mime string, ok bool) {
	return detectType(head, name)
}

// IsVideo reports whether mime is a video type, which has its own size limit.
func IsVideo(mime string) bool { return isVideoMime(mime) }
