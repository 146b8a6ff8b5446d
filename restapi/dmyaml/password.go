package dmyaml

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Decrypter opens a password that a DM file holds encrypted (as `dmctl encrypt` printed it).
// *security.Cipher of the cluster satisfies it, and so does DMDecrypter.
type Decrypter interface {
	Decrypt(ciphertext string) (string, error)
}

// DecrypterFunc is a function used as a Decrypter.
type DecrypterFunc func(ciphertext string) (string, error)

// Decrypt calls f.
func (f DecrypterFunc) Decrypt(ciphertext string) (string, error) { return f(ciphertext) }

// dmIVSep follows the IV in DM's ciphertexts.
const dmIVSep = '@'

// DMDecrypter opens passwords as DM's `dmctl encrypt` prints them when DM runs with
// secret-key-path: base64 of a 16-byte IV, '@', and the password under AES-256-CFB with the
// 32-byte key of that file. It has no key of its own: DM's built-in key (used when DM runs
// without secret-key-path) is deliberately not known here, so such passwords must be given in
// clear. CFB has no integrity check, so a result that is not printable UTF-8 counts as a
// failure.
func DMDecrypter(key []byte) (Decrypter, error) {
	block, err := aes.NewCipher(key)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("DM secret key must be 32 bytes (64 hex characters), got %d bytes", len(key))
	}
	return DecrypterFunc(func(ciphertext string) (string, error) {
		raw, err := base64.StdEncoding.DecodeString(ciphertext)
		if err != nil {
			return "", fmt.Errorf("not a DM ciphertext: %w", err)
		}
		bs := block.BlockSize()
		if len(raw) <= bs+1 || raw[bs] != dmIVSep {
			return "", errors.New("not a DM ciphertext")
		}
		plain := make([]byte, len(raw)-bs-1)
		cipher.NewCFBDecrypter(block, raw[:bs]).XORKeyStream(plain, raw[bs+1:]) //nolint:staticcheck // DM's format
		if !printable(plain) {
			return "", errors.New("the key does not open this ciphertext")
		}
		return string(plain), nil
	}), nil
}

func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// password is the password a file gives: opened with the caller's Decrypter when it opens it,
// else as written. The value itself never appears in a warning or problem.
func (o Options) password(r *reader, n *yaml.Node, key, value string) string {
	if value == "" {
		return ""
	}
	if o.Decrypter != nil {
		if plain, err := o.Decrypter.Decrypt(value); err == nil {
			return plain
		}
	}
	if looksDMEncrypted(value) {
		r.warn(n, key, "looks encrypted by `dmctl encrypt`, but no key given opens it: it is used as written")
	}
	return value
}

// looksDMEncrypted: base64 of an IV, '@' and at least one byte, as DM's encrypt prints.
func looksDMEncrypted(s string) bool {
	raw, err := base64.StdEncoding.DecodeString(s)
	return err == nil && len(raw) > aes.BlockSize+1 && raw[aes.BlockSize] == dmIVSep
}
