package tasks

import (
	"crypto/sha256"
	"math/big"
	"strings"
)

const suffixAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// SuffixedName inserts a suffix in ImageKit's own unique-name shape (_ and 9 letters
// and digits, before the extension) derived from seed: the same seed always gives
// the same name, so a re-run lands on the same path.
func SuffixedName(name, seed string) string {
	sum := sha256.Sum256([]byte(seed))
	n := new(big.Int).SetBytes(sum[:])
	base := big.NewInt(int64(len(suffixAlphabet)))
	var b strings.Builder
	mod := new(big.Int)
	for range 9 {
		n.DivMod(n, base, mod)
		b.WriteByte(suffixAlphabet[mod.Int64()])
	}
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		return name[:i] + "_" + b.String() + name[i:]
	}
	return name + "_" + b.String()
}
