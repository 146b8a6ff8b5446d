// Package security is the one place where dm handles key material and proves who is a member,
// for masters and workers alike, on every port:
//
//   - Members (members.go) is the authentication layer. In TLS mode (DM's ssl-ca, ssl-cert,
//     ssl-key, cert-allowed-cn) every port requires a certificate from the CA with an allowed
//     Common Name, both ways. In secret-key mode (DM's secret-key-path only) internal HTTP
//     requests are signed (sign.go: HMAC-SHA256 over method, path, member, time, nonce and body,
//     refused when stale or replayed), the Raft port speaks TLS with a key pair derived from the
//     secret (peertls.go), and gossip is encrypted with a derived key. All keys are derived from
//     the secret with HKDF, one per use (keys.go). In open mode (neither) everyone passes and
//     the processes warn. Identity (identity.go) is who a request comes from and what records it
//     may write.
//   - Cipher (cipher.go) keeps upstream and target secrets encrypted with AES-256-GCM in the Raft
//     state: with secret-key-path's key, or without it the cluster key that the first leader
//     generates. There is no built-in key; the one earlier builds had is kept (legacy.go) only to
//     read an upgraded cluster's secrets once, so that they are re-encrypted.
//
// The HTTP middleware that applies Members to the internal routes is restapi/peer.RequireMember;
// the Raft stream layer is in master/store; the gossip keyring in membership.
//
// It is a Go internal package at the module root because master/, worker/ and restapi/peer use
// it, and no top-level folder is shared by them; fsm/ and binlog/ are libraries that must not
// hold a project secret. Being internal, it is no part of the API that fsm and binlog offer to
// other Go tools.
package security
