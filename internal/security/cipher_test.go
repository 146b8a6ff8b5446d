package security

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCipherRoundTripAndKeyMismatch(t *testing.T) {
	def, err := NewCipher(nil)
	require.NoError(t, err)
	enc, err := def.Encrypt("s3cret-pass")
	require.NoError(t, err)
	require.NotContains(t, enc, "s3cret")
	enc2, err := def.Encrypt("s3cret-pass")
	require.NoError(t, err)
	require.NotEqual(t, enc, enc2, "a fresh nonce each time")
	plain, err := def.Decrypt(enc)
	require.NoError(t, err)
	require.Equal(t, "s3cret-pass", plain)

	own, err := NewCipher(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	_, err = own.Decrypt(enc)
	require.True(t, errors.Is(err, ErrWrongKey), "got %v", err)

	_, err = NewCipher([]byte("short"))
	require.Error(t, err)
	_, err = def.Decrypt("!!!not base64")
	require.Error(t, err)
	empty, err := def.Encrypt("")
	require.NoError(t, err)
	require.Empty(t, empty)
	_, err = def.Decrypt(strings.Repeat("A", 8))
	require.Error(t, err)
}
