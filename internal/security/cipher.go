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
	"sync/atomic"
)

// KeySize is the size of every key here: AES-256 keys, the cluster key, derived keys.
const KeySize = 32

// Cipher encrypts secrets (upstream passwords, TLS keys) with AES-256-GCM before they are
// stored in the Raft state, and decrypts them where they are used. It encrypts with one key and
// decrypts with that key or any older key it was given: the keys a cluster used before, whose
// secrets the leader re-encrypts (see Current).
type Cipher struct {
	current cipher.AEAD
	older   []cipher.AEAD
}

// NewCipher builds a cipher that encrypts with key and also decrypts what older keys sealed.
// Every key is 32 bytes.
func NewCipher(key []byte, older ...[]byte) (*Cipher, error) {
	cur, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	c := &Cipher{current: cur}
	for _, k := range older {
		a, err := newAEAD(k)
		if err != nil {
			return nil, fmt.Errorf("older key: %w", err)
		}
		c.older = append(c.older, a)
	}
	return c, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key must be %d bytes (64 hex characters), got %d bytes", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return aead, nil
}

// Encrypt returns base64(nonce || ciphertext) under the current key. The empty string stays
// empty.
func (c *Cipher) Encrypt(plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	nonce := make([]byte, c.current.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("encrypt: nonce: %w", err)
	}
	sealed := c.current.Seal(nonce, nonce, []byte(plain), nil)
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// ErrWrongKey means a secret was encrypted with another key than this process has.
var ErrWrongKey = errors.New("secret cannot be decrypted with this key: use the same secret-key-path file on every master and worker")

// Decrypt reverses Encrypt, with the current key or an older one.
func (c *Cipher) Decrypt(enc string) (string, error) {
	plain, _, err := c.open(enc)
	return plain, err
}

// Current reports whether enc is empty or sealed under the current key, so that it needs no
// re-encryption. A secret that no key of this cipher opens is not current either.
func (c *Cipher) Current(enc string) bool {
	_, older, err := c.open(enc)
	return err == nil && !older
}

// open decrypts enc and says whether an older key was needed.
func (c *Cipher) open(enc string) (plain string, older bool, err error) {
	if enc == "" {
		return "", false, nil
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", false, fmt.Errorf("decrypt: %w", err)
	}
	for i, aead := range append([]cipher.AEAD{c.current}, c.older...) {
		ns := aead.NonceSize()
		if len(raw) < ns {
			break
		}
		if p, err := aead.Open(nil, raw[:ns], raw[ns:], nil); err == nil {
			return string(p), i > 0, nil
		}
	}
	return "", false, fmt.Errorf("decrypt: %w", ErrWrongKey)
}

// ErrKeyUnknown says that the process does not know the key of the cluster's secrets yet (a
// worker without secret-key-path before the masters handed it the cluster key).
var ErrKeyUnknown = errors.New("the key of the cluster's secrets is not known yet: the masters hand it to members once the cluster has elected a leader")

// Secrets holds a process's Cipher, which may be set after start (when the key comes from the
// masters) and replaced (when the masters' key set changes). It is safe for concurrent use.
type Secrets struct{ c atomic.Pointer[Cipher] }

// Set makes c the cipher in use.
func (s *Secrets) Set(c *Cipher) { s.c.Store(c) }

// Cipher is the cipher in use, or ErrKeyUnknown before the first Set.
func (s *Secrets) Cipher() (*Cipher, error) {
	if c := s.c.Load(); c != nil {
		return c, nil
	}
	return nil, ErrKeyUnknown
}

// ReadSecretKey reads DM's secret-key-path file: 64 hexadecimal characters, an AES-256 key.
func ReadSecretKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret-key-path: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("secret-key-path %s: want 64 hexadecimal characters (an AES-256 key)", path)
	}
	return key, nil
}

// NewKey returns a fresh random 32-byte key (the cluster key a leader proposes at bootstrap).
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("new key: %w", err)
	}
	return k, nil
}
