package dmyaml

import (
	"encoding/base64"
	"unicode/utf8"

	"github.com/dm-oss/dm/restapi"
)

// Options says how to read the secrets a DM file refers to.
type Options struct {
	// Decrypter opens passwords written encrypted; nil keeps every password as written. A
	// password it cannot open is taken as written (it was in clear), as DM does.
	Decrypter Decrypter
	// ReadFile reads the TLS files named by ssl-ca, ssl-cert and ssl-key (paths as written,
	// relative to the caller's working directory); nil refuses file paths, so that a server
	// never reads its own files on a client's behalf. ssl-*-bytes and ssl-*-base64 need no
	// file.
	ReadFile func(path string) ([]byte, error)
}

// tlsItem is one of DM's three ways to give a piece of TLS material.
type tlsItem struct{ path, bytes, base64 string }

// security reads DM's security block (ssl-ca, ssl-cert, ssl-key as files; ssl-*-bytes as PEM
// text; ssl-*-base64; cert-allowed-cn) into the API's form, which carries the PEM text. nil
// when the block gives no certificate.
func (o Options) security(m *mapping) *restapi.Security {
	if m == nil {
		return nil
	}
	items := map[string]tlsItem{}
	for _, what := range []string{"ca", "cert", "key"} {
		k := "ssl-" + what
		path, _ := m.str(k)
		text, _ := m.str(k + "-bytes")
		b64, _ := m.str(k + "-base64")
		items[what] = tlsItem{path: path, bytes: text, base64: b64}
	}
	cns, hasCN := m.list("cert-allowed-cn")
	content := map[string]string{}
	for _, what := range []string{"ca", "cert", "key"} {
		content[what] = o.tlsContent(m, "ssl-"+what, items[what])
	}
	if content["ca"] == "" && content["cert"] == "" && content["key"] == "" {
		if hasCN {
			m.r.warn(m.keyNode("cert-allowed-cn"), m.sub("cert-allowed-cn"), "has no effect without a certificate")
		}
		return nil
	}
	sec := &restapi.Security{SslCaContent: content["ca"], SslCertContent: content["cert"], SslKeyContent: content["key"]}
	if hasCN {
		sec.CertAllowedCn = &cns
	}
	return sec
}

// tlsContent is the PEM text of one item, DM's precedence: bytes, then base64, then the file.
func (o Options) tlsContent(m *mapping, key string, it tlsItem) string {
	switch {
	case it.bytes != "":
		return it.bytes
	case it.base64 != "":
		b, err := base64.StdEncoding.DecodeString(it.base64)
		if err != nil {
			m.r.fail(m.keyNode(key+"-base64"), m.sub(key+"-base64"), "is not base64: %v", err)
			return ""
		}
		return pemText(m, key+"-base64", b)
	case it.path != "":
		if o.ReadFile == nil {
			m.r.fail(m.keyNode(key), m.sub(key), "names a file, which is not read here: give the PEM text in %s-bytes", key)
			return ""
		}
		b, err := o.ReadFile(it.path)
		if err != nil {
			m.r.fail(m.keyNode(key), m.sub(key), "cannot read %q: %v", it.path, err)
			return ""
		}
		return pemText(m, key, b)
	}
	return ""
}

// pemText refuses material that is not text: the API carries PEM in JSON strings, where
// bytes that are not UTF-8 would not survive (a DER file, a key base64-encoded twice wrong).
func pemText(m *mapping, key string, b []byte) string {
	if !utf8.Valid(b) {
		m.r.fail(m.keyNode(key), m.sub(key), "is not PEM text (it holds bytes that are not UTF-8): give the certificate or key in PEM form")
		return ""
	}
	return string(b)
}
