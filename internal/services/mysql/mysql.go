package mysql

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
)

// connectTimeout is MySQL's and MariaDB's default connect_timeout: a client that
// has not finished authenticating by then is disconnected.
const connectTimeout = 10 * time.Second

// maxErrMsg is MYSQL_ERRMSG_SIZE less the terminating NUL.
const maxErrMsg = 511

type server struct {
	p        persona
	threadID atomic.Uint32
}

func newServer(rt *service.Runtime) *server {
	version := rt.Persona(KeyVersion)
	if version == "" {
		version = defaultVersion(rt.Distro)
	}
	s := &server{p: newPersona(version, rt.Persona(KeyAuthPlugin))}
	// Connection ids count up from the server's start; start where a server that
	// has been up a while would be.
	n, _ := rand.Int(rand.Reader, big.NewInt(5000))
	s.threadID.Store(uint32(n.Int64()) + 8)
	return s
}

func run(ctx context.Context, rt *service.Runtime) error {
	s := newServer(rt)
	rt.Log.Info("database persona", "version", s.p.wireVersion, "plugin", s.p.plugin)
	return rt.ServeTCP(ctx, Port, func(ctx context.Context, c *service.Conn) {
		s.serve(c, c.Emit, c.Peer, func() { c.Conn.Close() })
	})
}

// conn is what serve needs of a connection (a *service.Conn in production).
type conn interface {
	Read([]byte) (int, error)
	Write([]byte) (int, error)
}

// serve runs one connection: greeting, the client's answer, an optional switch to
// mysql_native_password, the auth event and the "Access denied" error.
func (s *server) serve(c conn, emit func(string, map[string]string, string), peer netip.AddrPort, closeConn func()) {
	timer := time.AfterFunc(connectTimeout, closeConn)
	defer timer.Stop()

	salt := newSalt(s.p.mariaDB)
	if _, err := c.Write(packet(0, greeting(s.p, s.threadID.Add(1), salt))); err != nil {
		return
	}
	seq, payload, err := readPacket(c)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			emit(event.Error, map[string]string{"error": "handshake response larger than 16 KiB"}, "")
		}
		return
	}
	h, err := parseHandshakeResponse(payload)
	if err != nil || h.ssl {
		f := map[string]string{"error": "bad handshake", "raw_b64": base64.StdEncoding.EncodeToString(clip(payload, 512))}
		if h != nil && h.ssl {
			f["error"] = "TLS requested but not offered"
		}
		emit(event.Error, f, "")
		c.Write(packet(seq+1, errPacket(1043, "08S01", "Bad handshake")))
		return
	}

	fields := map[string]string{
		"username":    string(h.user),
		"outcome":     "failure",
		"auth_plugin": h.plugin,
	}
	if h.db != nil {
		fields["database"] = string(h.db)
	}
	addAttrs(fields, h.attrs)

	auth, usedSalt, plugin := h.auth, salt, h.plugin
	if plugin == "" && !h.old {
		plugin = pluginNative
	}
	if !h.old && len(auth) > 0 && (plugin != pluginNative || len(auth) != sha1.Size) {
		// The client answered with another plugin (MySQL 8's caching_sha2_password,
		// sha256_password, MariaDB's client_ed25519 …). A real server whose account
		// uses mysql_native_password asks it to switch; the switched answer is the
		// crackable one. The first answer is kept too.
		fields["first_plugin"] = plugin
		fields["first_response_b64"] = base64.StdEncoding.EncodeToString(auth)
		usedSalt = newSalt(s.p.mariaDB)
		if _, err := c.Write(packet(seq+1, authSwitch(pluginNative, usedSalt))); err != nil {
			return
		}
		var resp []byte
		seq, resp, err = readPacket(c)
		if err != nil {
			// The client gave up (it would not switch): keep what it sent.
			fields["secret_kind"] = plugin
			fields["secret_b64"] = fields["first_response_b64"]
			fields["salt_hex"] = hex.EncodeToString(salt)
			fields["switched"] = "refused"
			emit(event.Auth, fields, "")
			return
		}
		fields["switched"] = "yes"
		auth, plugin = resp, pluginNative
	}

	usingPassword := "NO"
	if len(auth) > 0 {
		usingPassword = "YES"
		fields["secret_b64"] = base64.StdEncoding.EncodeToString(auth)
		fields["salt_hex"] = hex.EncodeToString(usedSalt)
		switch {
		case h.old:
			fields["secret_kind"] = "mysql323"
		case plugin == pluginNative && len(auth) == sha1.Size:
			fields["secret_kind"] = pluginNative
			fields["hash"] = NativeHash(usedSalt, auth)
		default:
			fields["secret_kind"] = plugin
		}
	}
	fields["password_used"] = strings.ToLower(usingPassword)
	emit(event.Auth, fields, "")

	msg := fmt.Sprintf("Access denied for user '%s'@'%s' (using password: %s)", h.user, hostOf(peer), usingPassword)
	if len(msg) > maxErrMsg {
		msg = msg[:maxErrMsg]
	}
	c.Write(packet(seq+1, errPacket(1045, "28000", msg)))
}

// hostOf is how the server names the client in errors: a loopback client is
// 'localhost' (the server resolves it), others by address.
func hostOf(peer netip.AddrPort) string {
	a := peer.Addr().Unmap()
	if a.IsLoopback() {
		return "localhost"
	}
	return a.String()
}

// addAttrs copies the client's connection attributes (libmysqlclient and
// libmariadb send _client_name, _client_version, _os, program_name …).
func addAttrs(f map[string]string, attrs [][2]string) {
	if len(attrs) == 0 {
		return
	}
	var all []string
	m := map[string]string{}
	for _, kv := range attrs {
		m[kv[0]] = kv[1]
		all = append(all, kv[0]+"="+kv[1])
	}
	f["client_attrs"] = strings.Join(all, ", ")
	if v := strings.TrimSpace(m["_client_name"] + " " + m["_client_version"]); v != "" {
		f["client_version"] = v
	}
	if v := m["program_name"]; v != "" {
		f["program_name"] = v
	}
}

// newSalt makes a 20-byte scramble the way each server does: MySQL takes random
// bytes masked to 7 bits with NUL and '$' bumped by one (generate_user_salt);
// MariaDB draws printable characters 33..126 (my_rnd).
func newSalt(mariaDB bool) []byte {
	b := make([]byte, 20)
	rand.Read(b)
	for i := range b {
		if mariaDB {
			b[i] = 33 + b[i]%94
			continue
		}
		b[i] &= 0x7f
		if b[i] == 0 || b[i] == '$' {
			b[i]++
		}
	}
	return b
}

// NativeHash renders a mysql_native_password exchange in hashcat mode 11200
// (MySQL CRAM (SHA1)) form, which John the Ripper's "mysqlna" reads too.
func NativeHash(salt, response []byte) string {
	return "$mysqlna$" + hex.EncodeToString(salt) + "*" + hex.EncodeToString(response)
}

// NativeScramble is what a client answers to salt for password under
// mysql_native_password: SHA1(pw) XOR SHA1(salt + SHA1(SHA1(pw))).
func NativeScramble(password string, salt []byte) []byte {
	h1 := sha1.Sum([]byte(password))
	h2 := sha1.Sum(h1[:])
	m := sha1.New()
	m.Write(salt)
	m.Write(h2[:])
	h3 := m.Sum(nil)
	for i := range h3 {
		h3[i] ^= h1[i]
	}
	return h3
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
