package ssh

import (
	"regexp"
	"strconv"

	gossh "golang.org/x/crypto/ssh"
)

// profile is the algorithm offer of one OpenSSH release, restricted to what
// golang.org/x/crypto/ssh implements (no sntrup761, umac, hmac-sha1-etm, CBC ciphers
// beyond aes128-cbc/3des-cbc, zlib), in OpenSSH's order.
type profile struct {
	name    string
	kex     []string
	ciphers []string
	macs    []string
	// rsa lists the signature algorithms offered for the RSA host key.
	rsa []string
}

var (
	kex74RHEL = []string{
		"curve25519-sha256", "curve25519-sha256@libssh.org",
		"ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
		"diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512",
		"diffie-hellman-group-exchange-sha1", "diffie-hellman-group14-sha256",
		"diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1",
	}
	kexModern = []string{
		"curve25519-sha256", "curve25519-sha256@libssh.org",
		"ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
		"diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512",
		"diffie-hellman-group14-sha256",
	}
	kexOld = []string{ // OpenSSH 7.x/8.0 upstream server default
		"curve25519-sha256", "curve25519-sha256@libssh.org",
		"ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
		"diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512",
		"diffie-hellman-group14-sha256", "diffie-hellman-group14-sha1",
	}
	// OpenSSH 9.9 puts the ML-KEM hybrid first.
	kexMLKEM = append([]string{"mlkem768x25519-sha256"}, kexModern...)
	// Red Hat's crypto-policies DEFAULT (Rocky 9, Fedora).
	kexCryptoPolicies = []string{
		"curve25519-sha256", "curve25519-sha256@libssh.org",
		"ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
		"diffie-hellman-group-exchange-sha256", "diffie-hellman-group14-sha256",
		"diffie-hellman-group16-sha512",
	}

	ciphersUpstream = []string{
		"chacha20-poly1305@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr",
		"aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
	}
	ciphersRHEL7          = append(append([]string(nil), ciphersUpstream...), "aes128-cbc", "3des-cbc")
	ciphersCryptoPolicies = []string{
		"aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes256-ctr",
		"aes128-gcm@openssh.com", "aes128-ctr",
	}

	macsUpstream = []string{
		"hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com",
		"hmac-sha2-256", "hmac-sha2-512", "hmac-sha1",
	}
	macsCryptoPolicies = []string{
		"hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com",
		"hmac-sha2-256", "hmac-sha1", "hmac-sha2-512",
	}

	rsaWithSHA1 = []string{gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256, gossh.KeyAlgoRSA}
	rsaSHA2     = []string{gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256}
)

var openSSHVersion = regexp.MustCompile(`OpenSSH_(?:for_Windows_)?(\d+)\.(\d+)`)

// profileFor picks the algorithm offer matching a banner (and, for Red Hat
// derivatives that apply system-wide crypto policies, the distro).
func profileFor(banner, distro string) profile {
	major, minor := 9, 2 // not OpenSSH (or unparsable): a current default
	if m := openSSHVersion.FindStringSubmatch(banner); m != nil {
		major, _ = strconv.Atoi(m[1])
		minor, _ = strconv.Atoi(m[2])
	}
	v := major*100 + minor
	switch {
	case distro == "centos7" && v < 800:
		return profile{name: "openssh-7.4-rhel7", kex: kex74RHEL, ciphers: ciphersRHEL7, macs: macsUpstream, rsa: rsaWithSHA1}
	case (distro == "rocky9" || distro == "fedora") && v >= 800:
		return profile{name: "openssh-crypto-policies", kex: kexCryptoPolicies, ciphers: ciphersCryptoPolicies, macs: macsCryptoPolicies, rsa: rsaSHA2}
	case v < 802:
		return profile{name: "openssh-7", kex: kexOld, ciphers: ciphersUpstream, macs: macsUpstream, rsa: rsaWithSHA1}
	case v < 808: // ssh-rsa (SHA-1) signatures were disabled in 8.8
		return profile{name: "openssh-8", kex: kexModern, ciphers: ciphersUpstream, macs: macsUpstream, rsa: rsaWithSHA1}
	case v < 909:
		return profile{name: "openssh-8.8", kex: kexModern, ciphers: ciphersUpstream, macs: macsUpstream, rsa: rsaSHA2}
	default:
		return profile{name: "openssh-9.9", kex: kexMLKEM, ciphers: ciphersUpstream, macs: macsUpstream, rsa: rsaSHA2}
	}
}
