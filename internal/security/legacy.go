package security

import "encoding/hex"

// legacyKeyHex is the key that dm used for the secrets of every cluster without
// secret-key-path before clusters had keys of their own. It was in the source code, so
// whatever it sealed is as good as plain text to anyone. It is kept only so that a cluster
// upgraded from such a build can read its secrets once: its leader re-encrypts them with the
// cluster's key (see Cipher.Current), and nothing is ever encrypted with it.
const legacyKeyHex = "a529b7665997f043a30ac8fadcb51d6aa032c226ab5b7750530b12b8c1a16a48"

// LegacyKey returns the built-in key of earlier builds, to be given to NewCipher as an older
// key (decryption only).
func LegacyKey() []byte {
	k, err := hex.DecodeString(legacyKeyHex)
	if err != nil {
		panic("security: legacy key constant is not hex: " + err.Error())
	}
	return k
}
