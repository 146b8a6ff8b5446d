package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dm-oss/dm/internal/security"
)

// noKeyHelp explains why encrypt and decrypt need the cluster's key, unlike DM's.
const noKeyHelp = "give the cluster's secret key file with --secret-key-path (the file the masters' " +
	"secret-key-path names). dm has no built-in key: DM's dmctl encrypted with a key published in its " +
	"source code, so anyone could decrypt what it printed; dm's ciphertexts open only with the cluster's key. " +
	"A cluster without secret-key-path keeps its key to itself: give it passwords in plain text (they are " +
	"stored encrypted)"

// The secrets dmctl encrypts are read by the masters with the same cipher (AES-256-GCM,
// base64 of nonce and sealed text) and the same key, so a password printed here can go where
// DM accepts an encrypted one.
func (a *app) encryptCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "encrypt <plain-text>",
		Short: "Encrypt a password with the cluster's secret key (--secret-key-path)",
		Args:  args(1, 1, "the text to encrypt"),
		RunE: verb(func(_ *cobra.Command, args []string) error {
			c, err := a.cipher("encrypt")
			if err != nil {
				return err
			}
			enc, err := c.Encrypt(args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, enc)
			return err
		}),
	}
}

func (a *app) decryptCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "decrypt <cipher-text>",
		Short: "Decrypt what encrypt printed, with the cluster's secret key (--secret-key-path)",
		Args:  args(1, 1, "the text to decrypt"),
		RunE: verb(func(_ *cobra.Command, args []string) error {
			c, err := a.cipher("decrypt")
			if err != nil {
				return err
			}
			plain, err := c.Decrypt(args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, plain)
			return err
		}),
	}
}

// cipher is the cipher of the key in --secret-key-path (or the config file's).
func (a *app) cipher(verbName string) (*security.Cipher, error) {
	if a.opts.secretKeyPath == "" {
		return nil, usagef("%s needs the cluster's key: %s", verbName, noKeyHelp)
	}
	key, err := security.ReadSecretKey(a.opts.secretKeyPath)
	if err != nil {
		return nil, err
	}
	return security.NewCipher(key)
}
