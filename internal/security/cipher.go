package security

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// defaultKeyHex is used when no secret-key-path is configured, as DM does: it keeps
// passwords out of plain sight on disk and in the Raft log, but anyone with this source code
// can decrypt them, which is why masters and workers warn at start-up without their own key.
const defaultKeyHex = "a529b7665997f043a30ac8fadcb51d6aa032c226ab5b7750530b12b8c1a16a48"

// Cipher encrypts secrets (upstream passwords, TLS keys) with AES-256-GCM before they are
// stored in the Raft state, and decrypts them where they are used.
type Cipher struct {
	aead cipher.AEAD
}

// NewCipher builds a cipher from a 32-byte key; nil selects the built-in default key.
func NewCipher(key []byte) (*Cipher, error) {
	if key == nil {
		k, err := hex.DecodeString(defaultKeyHex)
		if err != nil {
			return nil, fmt.Errorf("default key: %w", err)
		}
		key = k
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key must be 32 bytes (64 hex characters), got %d bytes", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &Cipher{aead: aead}, nil
}

// Encrypt returns base64(nonce || ciphertext). The empty string stays empty.
func (c *Cipher) Encrypt(plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("encrypt: nonce: %w", err)
	}
	sealed := c.aead.Seal(nonce, nonce, []byte(plain), nil)
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// ErrWrongKey means a secret was encrypted with another key than this process has.
var ErrWrongKey = errors.New("secret cannot be decrypted with this key: use the same secret-key-path file on every master and worker")

// Decrypt reverses Encrypt.
func (c *Cipher) Decrypt(enc string) (string, error) {
	if enc == "" {
		return "", nil
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", fmt.Errorf("decrypt: %w", err)
	}
	ns := c.aead.NonceSize()
	if len(raw) < ns {
		return "", fmt.Errorf("decrypt: %w", ErrWrongKey)
	}
	plain, err := c.aead.Open(nil, raw[:ns], raw[ns:], nil)
	if err != nil {
		return "", fmt.Errorf("decrypt: %w", ErrWrongKey)
	}
	return string(plain), nil
}

// ReadSecretKey reads DM's secret-key-path file: 64 hexadecimal characters, an AES-256 key.
func ReadSecretKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret-key-path: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("secret-key-path %s: want 64 hexadecimal characters (an AES-256 key)", path)
	}
	return key, nil
}
