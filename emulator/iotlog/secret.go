package iotlog

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"unicode/utf8"
)

// Redact stands in for a secret (a token, a password) in the log: a short hash that tells
// whether two connections used the same secret, and its length, never the secret itself.
// AWS never logs tokens, signatures or passwords.
//
//	Redact("allow") == "<redacted sha256:41008373, 5 bytes>"
func Redact(secret string) string {
	if secret == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(secret))
	return "<redacted sha256:" + hex.EncodeToString(sum[:4]) + ", " + strconv.Itoa(len(secret)) + " bytes>"
}

// signatureEnds is how many characters of each end of a signature ShortSignature shows.
const signatureEnds = 4

// ShortSignature shows a signature in the log as its first and last characters, enough to
// recognise it beside the one a device printed, never enough to reuse it. A signature too
// short to cut is redacted whole.
//
//	ShortSignature("gQ0xM3fA...9bKw==") == "gQ0x…Kw=="
func ShortSignature(sig string) string {
	if utf8.RuneCountInString(sig) < 4*signatureEnds {
		return Redact(sig)
	}
	if !utf8.ValidString(sig) { // each invalid byte shows as U+FFFD, as a rune conversion makes it
		r := []rune(sig)
		return string(r[:signatureEnds]) + "…" + string(r[len(r)-signatureEnds:])
	}
	head, tail := 0, len(sig)
	for range signatureEnds {
		_, n := utf8.DecodeRuneInString(sig[head:])
		head += n
		_, n = utf8.DecodeLastRuneInString(sig[:tail])
		tail -= n
	}
	return sig[:head] + "…" + sig[tail:]
}
