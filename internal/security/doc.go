// Package security holds the key material handling that masters and workers share: the
// AES-256-GCM Cipher that keeps upstream and target secrets (passwords, TLS private keys)
// encrypted in the Raft state, DM's secret-key-path file (ReadSecretKey), and the TLS
// configurations built from DM's ssl-ca / ssl-cert / ssl-key settings (LoadTLS).
//
// It is a Go internal package at the module root because both master/ and worker/ (and
// worker/settings, which decrypts what a subtask connects with) use it, and no top-level folder
// is shared by them: restapi/peer is the members' HTTP protocol, which neither encrypts nor
// loads certificates, and fsm/ and binlog/ are libraries that must not hold a project secret.
// Being internal, it is no part of the API that fsm and binlog offer to other Go tools.
package security
