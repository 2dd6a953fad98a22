package ssh

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	gossh "golang.org/x/crypto/ssh"

	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "ssh",
		Summary: "OpenSSH server: logins, shell, exec, SFTP/SCP uploads, client HASSH",
		Ports:   []fleet.Port{{Number: 22, Proto: "tcp"}},
		Keys:    Keys,
		Secrets: Secrets,
		Run:     run,
	})
}

// Persona keys.
const (
	KeyVersion      = "version"
	KeyUsers        = "users"
	KeyMaxAuthTries = "max_auth_tries"
)

// DefaultUsers are the weak credentials that "work" unless the persona sets users:
// the top entries of every SSH brute-force list, so bots get in and show what they do.
const DefaultUsers = "root:123456,root:password,admin:admin"

// Keys are the ssh service's persona keys.
var Keys = []service.Key{
	{Name: KeyVersion, Kind: service.String, Help: "identification string sent to clients (default: the distro's OpenSSH banner)", Check: checkVersion},
	{Name: KeyUsers, Kind: service.List, Default: DefaultUsers, Help: "user:password pairs whose login succeeds", Check: service.CheckUsers},
	{Name: KeyMaxAuthTries, Kind: service.Int, Default: "6", Help: "authentication attempts per connection before disconnect (OpenSSH MaxAuthTries)", Check: service.IntRange(1, 100)},
}

func checkVersion(v string) error {
	if !strings.HasPrefix(v, "SSH-2.0-") {
		return fmt.Errorf("%q does not start with SSH-2.0-", v)
	}
	if len(v) > 253 {
		return fmt.Errorf("is %d bytes long; an SSH identification string has at most 253", len(v))
	}
	for _, c := range []byte(v) {
		if c < 0x20 || c > 0x7e {
			return fmt.Errorf("%q holds a byte that is not printable ASCII", v)
		}
	}
	return nil
}

// Secret names: the decky's host keys, OpenSSH private key format, as in /etc/ssh.
const (
	SecretHostKeyRSA     = "ssh_host_rsa_key"
	SecretHostKeyECDSA   = "ssh_host_ecdsa_key"
	SecretHostKeyEd25519 = "ssh_host_ed25519_key"
)

// hostKeyOrder is sshd's default HostKey order, which is also the order of the
// host key algorithms it offers.
var hostKeyOrder = []string{SecretHostKeyRSA, SecretHostKeyECDSA, SecretHostKeyEd25519}

// Secrets generates a decky's host keys (RSA 3072, ECDSA P-256, Ed25519) at deploy
// time. Each call makes new keys; deploy stores them so a decky keeps its keys.
func Secrets(id service.Identity) (map[string]string, error) {
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 host key for %s: %w", id.Decky, err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ecdsa host key for %s: %w", id.Decky, err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		return nil, fmt.Errorf("generate rsa host key for %s: %w", id.Decky, err)
	}
	comment := "root@" + id.Hostname
	out := map[string]string{}
	for name, key := range map[string]any{SecretHostKeyEd25519: edKey, SecretHostKeyECDSA: ecKey, SecretHostKeyRSA: rsaKey} {
		block, err := gossh.MarshalPrivateKey(key, comment)
		if err != nil {
			return nil, fmt.Errorf("encode %s for %s: %w", name, id.Decky, err)
		}
		out[name] = string(pem.EncodeToMemory(block))
	}
	return out, nil
}

// loadHostKeys parses the deploy-time host keys in sshd's order, offering the RSA
// key with the signature algorithms of the profile. A missing or bad key is an
// error: generating one here would change the decky's host key on every restart.
func loadHostKeys(secrets map[string]string, p profile) ([]gossh.Signer, error) {
	var out []gossh.Signer
	for _, name := range hostKeyOrder {
		pemText, ok := secrets[name]
		if !ok || pemText == "" {
			return nil, fmt.Errorf("ssh host key %s is missing from the service secrets (redeploy the decky to generate it)", name)
		}
		s, err := gossh.ParsePrivateKey([]byte(pemText))
		if err != nil {
			return nil, fmt.Errorf("ssh host key %s cannot be parsed: %w", name, err)
		}
		if name == SecretHostKeyRSA {
			as, ok := s.(gossh.AlgorithmSigner)
			if !ok {
				return nil, errors.New("ssh host key ssh_host_rsa_key cannot sign with chosen algorithms")
			}
			if s, err = gossh.NewSignerWithAlgorithms(as, p.rsa); err != nil {
				return nil, fmt.Errorf("ssh host key %s: %w", name, err)
			}
		}
		out = append(out, s)
	}
	return out, nil
}
