package security

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCipherRoundTripAndKeys(t *testing.T) {
	_, err := NewCipher(nil)
	require.Error(t, err, "there is no built-in key any more")
	_, err = NewCipher([]byte("short"))
	require.Error(t, err)

	old, err := NewCipher(bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	enc, err := old.Encrypt("s3cret-pass")
	require.NoError(t, err)
	require.NotContains(t, enc, "s3cret")
	enc2, err := old.Encrypt("s3cret-pass")
	require.NoError(t, err)
	require.NotEqual(t, enc, enc2, "a fresh nonce each time")
	require.True(t, old.Current(enc))

	// A cipher with a new key reads what the old key sealed, and says it is not current.
	cur, err := NewCipher(bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	plain, err := cur.Decrypt(enc)
	require.NoError(t, err)
	require.Equal(t, "s3cret-pass", plain)
	require.False(t, cur.Current(enc))
	fresh, err := cur.Encrypt(plain)
	require.NoError(t, err)
	require.True(t, cur.Current(fresh))
	_, err = old.Decrypt(fresh)
	require.ErrorIs(t, err, ErrWrongKey, "the old key does not read the new")

	other, err := NewCipher(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	_, err = other.Decrypt(enc)
	require.ErrorIs(t, err, ErrWrongKey)
	require.False(t, other.Current(enc), "a secret no key opens is not current")

	empty, err := cur.Encrypt("")
	require.NoError(t, err)
	require.Empty(t, empty)
	require.True(t, cur.Current(""))
	_, err = cur.Decrypt("!!!not base64")
	require.Error(t, err)
	_, err = cur.Decrypt(strings.Repeat("A", 8))
	require.ErrorIs(t, err, ErrWrongKey)
}

// TestLegacyKeyReadsOldSecrets: a secret sealed by the built-in key of earlier builds (taken from
// the Raft log fixture those builds wrote) is read through LegacyKey as an older key.
func TestLegacyKeyReadsOldSecrets(t *testing.T) {
	const sealed = "eksAfs3XhHp6o/HJ6ssX5MHWrxasQ8tJsfKNHptIwjXPyg4cV1c3d1FDb4rpAg==" // master/testdata/builtin-key-log.jsonl
	c, err := NewCipher(bytes.Repeat([]byte{3}, 32), LegacyKey())
	require.NoError(t, err)
	plain, err := c.Decrypt(sealed)
	require.NoError(t, err)
	require.Equal(t, "Fixture-Src-Pass-1", plain)
	require.False(t, c.Current(sealed))
}

func TestSecretsHolder(t *testing.T) {
	var s Secrets
	_, err := s.Cipher()
	require.ErrorIs(t, err, ErrKeyUnknown)
	c, err := NewCipher(bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	s.Set(c)
	got, err := s.Cipher()
	require.NoError(t, err)
	require.Same(t, c, got)
}

func TestReadSecretKey(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	require.NoError(t, os.WriteFile(good, []byte(strings.Repeat("ab", 32)+"\n"), 0o600))
	k, err := ReadSecretKey(good)
	require.NoError(t, err)
	require.Equal(t, bytes.Repeat([]byte{0xab}, 32), k)
	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.WriteFile(bad, []byte("abcd"), 0o600))
	_, err = ReadSecretKey(bad)
	require.Error(t, err)
	_, err = ReadSecretKey(filepath.Join(dir, "missing"))
	require.Error(t, err)
	k1, err := NewKey()
	require.NoError(t, err)
	k2, err := NewKey()
	require.NoError(t, err)
	require.Len(t, k1, 32)
	require.NotEqual(t, k1, k2)
}
