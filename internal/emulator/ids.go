package emulator

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
	"time"
)

var idCounter atomic.Uint32

// processUnique is the random middle of every id, chosen once per process as
// ObjectId's is: a random value per id would order ids of the same second at random.
var processUnique = func() (b [5]byte) {
	_, _ = rand.Read(b[:])
	return b
}()

// newID returns a 24-hex id shaped like ImageKit's (a MongoDB ObjectId: seconds,
// random, counter), so ids sort by creation within one process.
func newID(now time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[0:4], uint32(now.Unix())) //nolint:gosec // G115: an ObjectId-style 32-bit timestamp, truncated on purpose
	copy(b[4:9], processUnique[:])
	c := idCounter.Add(1)
	b[9], b[10], b[11] = byte(c>>16), byte(c>>8), byte(c) //nolint:gosec // G115: the counter's low three bytes, taken on purpose
	return hex.EncodeToString(b[:])
}

const alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// uniqueSuffix is ImageKit's unique file name suffix: 9 letters and digits.
func uniqueSuffix() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphanumerics[int(b[i])%len(alphanumerics)]
	}
	return string(b[:])
}
