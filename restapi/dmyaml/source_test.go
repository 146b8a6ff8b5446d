package dmyaml

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/restapi"
)

// dmEncrypt is DM's `dmctl encrypt` with a secret-key-path key (dm/pkg/encrypt): base64 of
// IV, '@' and the AES-256-CFB ciphertext.
func dmEncrypt(t *testing.T, key []byte, plain string) string {
	t.Helper()
	block, err := aes.NewCipher(key)
	require.NoError(t, err)
	iv := make([]byte, aes.BlockSize)
	_, err = rand.Read(iv)
	require.NoError(t, err)
	out := append(append(iv, '@'), make([]byte, len(plain))...)
	cipher.NewCFBEncrypter(block, iv).XORKeyStream(out[len(iv)+1:], []byte(plain)) //nolint:staticcheck // DM's format
	return base64.StdEncoding.EncodeToString(out)
}

var tlsFiles = map[string]string{"ca.pem": "CA PEM\n", "cert.pem": "CERT PEM\n", "key.pem": "KEY PEM\n"}

func readTLSFile(path string) ([]byte, error) {
	if s, ok := tlsFiles[path]; ok {
		return []byte(s), nil
	}
	return nil, fs.ErrNotExist
}

func TestParseSourceEverySupportedKey(t *testing.T) {
	f, warnings, err := ParseSource(readTestdata(t, "source_full.yaml"), Options{ReadFile: readTLSFile})
	require.NoError(t, err)
	require.Empty(t, warnings)
	gtid := true
	require.Equal(t, SourceFile{
		Source: restapi.Source{
			SourceName: "mysql-replica-01", Host: "127.0.0.1", Port: 3306, User: "root", Password: "Src-Secret-1", EnableGtid: &gtid,
			Security: &restapi.Security{SslCaContent: "CA PEM\n", SslCertContent: "CERT PEM\n", SslKeyContent: "KEY PEM\n", CertAllowedCn: &[]string{"mysql-server"}},
			Purge:    &restapi.Purge{Interval: ptr(int64(1800)), Expires: ptr(int64(48)), RemainSpace: ptr(int64(20))},
		},
		EnableRelay: true, RelayBinlogName: "mysql-bin.000002", RelayBinlogGTID: "e9a1fc22-ec08-11e9-b2ac-0242ac110003:1-7849",
	}, f)

	// Without a way to read files (a server reading a client's file), the paths are refused.
	_, _, err = ParseSource(readTestdata(t, "source_full.yaml"), Options{})
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, "from.security.ssl-ca", e.Problems[0].Key)
	require.Contains(t, e.Problems[0].Message, "ssl-ca-bytes")
}

func TestParseSourceDMTemplateAndEncryptedPassword(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	data := readTestdata(t, "source_dm_template.yaml")
	data = []byte(strings.Replace(string(data), "ENCRYPTED", dmEncrypt(t, key, "Src-Pa55!"), 1))
	dec, err := DMDecrypter(key)
	require.NoError(t, err)

	f, warnings, err := ParseSource(data, Options{Decrypter: dec})
	require.NoError(t, err)
	require.Equal(t, "Src-Pa55!", f.Source.Password)
	require.Equal(t, "relay-dir", f.RelayDir)
	keys := map[string]int{}
	for _, w := range warnings {
		keys[w.Key] = w.Line
		require.NotContains(t, w.String(), "Src-Pa55!")
	}
	for key, marker := range map[string]string{
		"relay-dir": "relay-dir:", "flavor": "flavor:", "server-id": "server-id:", "from.max-allowed-packet": "max-allowed-packet:",
		"checker.check-enable": "check-enable:", "checker.backoff-rollback": "backoff-rollback:", "checker.backoff-max": "backoff-max:",
	} {
		require.Equal(t, lineWith(t, data, marker), keys[key], "warning for %s (got %v)", key, warnings)
	}

	// Another key does not open it: the value is used as written, with a warning that does
	// not show it.
	other, err := DMDecrypter([]byte("fedcba9876543210fedcba9876543210"))
	require.NoError(t, err)
	f, warnings, err = ParseSource(data, Options{Decrypter: other})
	require.NoError(t, err)
	require.NotEqual(t, "Src-Pa55!", f.Source.Password)
	var pw []Warning
	for _, w := range warnings {
		if w.Key == "from.password" {
			pw = append(pw, w)
		}
	}
	require.Len(t, pw, 1)
	require.NotContains(t, pw[0].String(), f.Source.Password)

	// A plain password stays plain, whatever the decrypter.
	plain := strings.Replace(string(readTestdata(t, "source_dm_template.yaml")), "ENCRYPTED", "plain-pass", 1)
	f, _, err = ParseSource([]byte(plain), Options{Decrypter: dec})
	require.NoError(t, err)
	require.Equal(t, "plain-pass", f.Source.Password)
}

func TestParseSourceErrors(t *testing.T) {
	base := "source-id: s1\nfrom:\n  host: 127.0.0.1\n  port: 3306\n  user: root\n  password: \"\"\n"
	for name, tc := range map[string]struct{ data, key, msg string }{
		"filters":     {base + "filters:\n  - schema-pattern: db\n    events: [\"all dml\"]\n    action: Ignore\n", "filters", "move them into the filters of each task"},
		"misspelt":    {base + "enable-gtdi: true\n", "enable-gtdi", `did you mean "enable-gtid"`},
		"nested":      {base + "purge:\n  interval: 60\n  expire: 2\n", "purge.expire", `did you mean "expires"`},
		"port":        {strings.Replace(base, "3306", "70000", 1), "from.port", "between 1 and 65535"},
		"no from":     {"source-id: s1\n", "from", "is required"},
		"bad id":      {strings.Replace(base, "s1", "-bad", 1), "source-id", "must be"},
		"flavor":      {base + "flavor: oracle\n", "flavor", "mysql or mariadb"},
		"not boolean": {base + "enable-relay: maybe\n", "enable-relay", "true or false"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := ParseSource([]byte(tc.data), Options{})
			var e *Error
			require.True(t, errors.As(err, &e), "%v", err)
			var got *Problem
			for i, p := range e.Problems {
				if p.Key == tc.key {
					got = &e.Problems[i]
				}
			}
			require.NotNil(t, got, "a problem for %s in %v", tc.key, e.Problems)
			require.Contains(t, got.Message, tc.msg)
			if tc.key != "from" {
				require.Greater(t, got.Line, 0)
			}
		})
	}
}

func TestSourceRoundTrip(t *testing.T) {
	first, _, err := ParseSource(readTestdata(t, "source_full.yaml"), Options{ReadFile: readTLSFile})
	require.NoError(t, err)
	out, err := SourceYAML(first)
	require.NoError(t, err)
	second, warnings, err := ParseSource(out, Options{})
	require.NoError(t, err, "%s", out)
	require.Empty(t, warnings)
	require.Equal(t, first, second, "%s", out)
}

func TestDMDecrypterRefusesWhatItCannotOpen(t *testing.T) {
	_, err := DMDecrypter([]byte("short"))
	require.Error(t, err)
	dec, err := DMDecrypter([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	for _, s := range []string{"", "not base64!", base64.StdEncoding.EncodeToString([]byte("0123456789abcdef#payload"))} {
		_, err := dec.Decrypt(s)
		require.Error(t, err, "%q", s)
	}
}

// TLS material reaches the API as JSON text, so bytes that are not UTF-8 (a DER file, a base64
// of something else) are refused naming the key, and PEM given as base64 is taken.
func TestTLSMaterialMustBeText(t *testing.T) {
	file := func(sec string) []byte {
		return []byte("source-id: s\nfrom: {host: h, port: 3306, user: u, password: p, security: {" + sec + "}}\n")
	}
	notText := base64.StdEncoding.EncodeToString([]byte("-----BEGIN PRIVATE KEY-----\nMIIB\xa3\n-----END PRIVATE KEY-----\n"))
	der := func(string) ([]byte, error) { return []byte{0x30, 0x82, 0xff, 0xfe}, nil }
	for _, c := range []struct {
		sec  string
		opts Options
		key  string
	}{
		{"ssl-key-base64: " + notText, Options{}, "from.security.ssl-key-base64"},
		{"ssl-ca: ca.der", Options{ReadFile: der}, "from.security.ssl-ca"},
	} {
		_, _, err := ParseSource(file(c.sec), c.opts)
		var e *Error
		require.ErrorAs(t, err, &e, c.sec)
		require.Equal(t, c.key, e.Problems[0].Key)
		require.Contains(t, e.Problems[0].Message, "not PEM text")
	}

	pem := "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
	f, _, err := ParseSource(file("ssl-key-base64: "+base64.StdEncoding.EncodeToString([]byte(pem))), Options{})
	require.NoError(t, err)
	require.Equal(t, pem, f.Source.Security.SslKeyContent)
}
