package security

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// The purposes keys are derived for. Each use of a secret gets a key of its own, so that what
// one use reveals (an HMAC tag, gossip ciphertext) tells nothing about another's key. Changing
// a label changes the key: they are part of the wire protocol.
const (
	purposeHTTP       = "dm/v1 member http signature"
	purposePeerTLS    = "dm/v1 member peer tls"
	purposeGossip     = "dm/v1 gossip encryption"
	purposeClusterKey = "dm/v1 gossip encryption from cluster key"
)

// deriveKey derives a 32-byte key for purpose from secret with HKDF-SHA256.
func deriveKey(secret []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, purpose, KeySize)
	if err != nil {
		// HKDF-SHA256 fails only for lengths over 255*32 bytes.
		panic(fmt.Sprintf("security: derive %q: %v", purpose, err))
	}
	return k
}

// GossipKeyFromClusterKey is the gossip encryption key of a cluster with certificates but no
// secret-key-path: derived from the random cluster key kept in the Raft state, which only
// members that passed the certificate check obtain.
func GossipKeyFromClusterKey(clusterKey []byte) []byte {
	return deriveKey(clusterKey, purposeClusterKey)
}
