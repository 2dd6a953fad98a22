package prober

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"decnet/internal/fingerprint"
)

// ClientIdent is the identification line the SSH probe sends: Debian 12's OpenSSH
// client, the most common thing to see on a LAN.
const ClientIdent = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"

// probeKex is the KEXINIT the SSH probe sends: OpenSSH 9.2's client defaults.
var probeKex = fingerprint.KexInit{
	KexAlgos: "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256," +
		"ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512," +
		"diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,ext-info-c",
	ServerHostKeyAlgos: "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com," +
		"ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com," +
		"sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com," +
		"rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256," +
		"ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com," +
		"rsa-sha2-512,rsa-sha2-256",
	CiphersC2S: "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
	CiphersS2C: "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
	MACsC2S: "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com," +
		"hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
	MACsS2C: "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com," +
		"hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
	CompressionC2S: "none,zlib@openssh.com",
	CompressionS2C: "none,zlib@openssh.com",
}

// maxSSHRead bounds what the SSH probe reads from the server.
const maxSSHRead = 64 << 10

// SSHResult is what an SSH server told the probe.
type SSHResult struct {
	ServerVersion string // identification line, without CR LF
	KexInit       fingerprint.KexInit
	HasKexInit    bool
}

// ProbeSSH connects with dial, reads the server's identification line, sends a
// client identification line and KEXINIT, and reads the server's KEXINIT; then it
// hangs up (no key exchange, no authentication). The whole exchange is bounded by
// timeout and reads at most 64 KiB. When the server sent its identification line
// but no KEXINIT, the result holds the line and err says what went wrong.
func ProbeSSH(ctx context.Context, dial func(context.Context) (net.Conn, error), timeout time.Duration) (SSHResult, error) {
	var res SSHResult
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := dial(ctx)
	if err != nil {
		return res, fmt.Errorf("SSH probe: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	buf := make([]byte, 0, 4096)
	read := func() error {
		if len(buf) >= maxSSHRead {
			return fmt.Errorf("SSH probe: the server sent %d bytes without completing its KEXINIT", len(buf))
		}
		buf = slices.Grow(buf, 4096)
		n, err := c.Read(buf[len(buf):min(cap(buf), maxSSHRead)])
		buf = buf[:len(buf)+n]
		if n > 0 {
			return nil
		}
		if err == nil {
			err = errors.New("empty read")
		}
		return fmt.Errorf("SSH probe: read from the server: %w", err)
	}
	var n int
	for {
		res.ServerVersion, n, err = fingerprint.ParseSSHServerIdent(buf)
		if err == nil {
			break
		}
		if !errors.Is(err, fingerprint.ErrIncomplete) {
			return res, fmt.Errorf("SSH probe: %w", err)
		}
		if err := read(); err != nil {
			return res, err
		}
	}
	kex := probeKex
	if _, err := rand.Read(kex.Cookie[:]); err != nil {
		return res, fmt.Errorf("SSH probe: %w", err)
	}
	hello := append([]byte(ClientIdent+"\r\n"), fingerprint.SSHPacket(kex.Marshal())...)
	if _, err := c.Write(hello); err != nil {
		return res, fmt.Errorf("SSH probe: send the client KEXINIT: %w", err)
	}
	for {
		k, _, err := fingerprint.ParseKexinitPacket(buf[n:])
		if err == nil {
			res.KexInit, res.HasKexInit = k, true
			return res, nil
		}
		if !errors.Is(err, fingerprint.ErrIncomplete) {
			return res, fmt.Errorf("SSH probe: the server's first packet: %w", err)
		}
		if err := read(); err != nil {
			return res, err
		}
	}
}
