package postgres

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"decnet/internal/services/scram"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"decnet/internal/event"
	"decnet/internal/service"
)

// authTimeout is PostgreSQL's default authentication_timeout: a client that has
// not finished authenticating by then is disconnected.
const authTimeout = 60 * time.Second

// Limits PostgreSQL itself applies before authentication.
const (
	maxStartupPacket = 10000 // MAX_STARTUP_PACKET_LENGTH
	maxAuthMessage   = 65535 // PG_MAX_AUTH_TOKEN_LENGTH
)

// Startup request codes (pqcomm.h).
const (
	codeCancel = 80877102
	codeSSL    = 80877103
	codeGSSEnc = 80877104
)

type server struct {
	prof profile
	auth string
	seed []byte
}

func newServer(rt *service.Runtime) *server {
	version := rt.Persona(KeyVersion)
	if version == "" {
		version = defaultVersion(rt.Distro)
	}
	s := &server{prof: profileFor(version), auth: rt.Persona(KeyAuth)}
	if s.auth == "" {
		s.auth = s.prof.defaultAuth()
	}
	if s.auth == AuthSCRAM && !s.prof.hasSCRAM() {
		rt.Log.Warn("PostgreSQL before 10 has no SCRAM; using md5", "version", version)
		s.auth = AuthMD5
	}
	if seed, err := hex.DecodeString(rt.Secret(SecretSCRAMSeed)); err == nil && len(seed) >= 16 {
		s.seed = seed
	} else {
		// Without a deploy-time secret the salts still stay stable per decky.
		sum := sha256.Sum256([]byte("decnet-postgres-scram:" + rt.Config.Decky))
		s.seed = sum[:]
	}
	return s
}

func run(ctx context.Context, rt *service.Runtime) error {
	s := newServer(rt)
	rt.Log.Info("database persona", "version", s.prof.version, "auth", s.auth)
	return rt.ServeTCP(ctx, Port, func(ctx context.Context, c *service.Conn) {
		s.serve(c, c.Emit, func() { c.Conn.Close() })
	})
}

// emitFunc records an event from the connection's peer.
type emitFunc func(typ string, fields map[string]string, msg string)

var errBadLength = errors.New("invalid length of startup packet")

// readStartup reads one startup-phase packet: a 4-byte length (itself
// included) and a body that starts with the request code. The framing is read
// here rather than by pgproto3.Backend.ReceiveStartupMessage because the server
// must answer codes pgproto3 rejects (an unsupported protocol version is how
// scanners fingerprint PostgreSQL) and must tell them apart.
func readStartup(r io.Reader) (hdr [4]byte, body []byte, err error) {
	if _, err = io.ReadFull(r, hdr[:]); err != nil {
		return hdr, nil, err
	}
	n := int(int32(binary.BigEndian.Uint32(hdr[:])))
	if n < 8 || n > maxStartupPacket {
		return hdr, nil, errBadLength
	}
	body = make([]byte, n-4)
	if _, err = io.ReadFull(r, body); err != nil {
		return hdr, nil, err
	}
	return hdr, body, nil
}

// fatal builds the ErrorResponse PostgreSQL sends for a FATAL report.
func (s *server) fatal(code, msg, file string, line int32, routine string) *pgproto3.ErrorResponse {
	e := &pgproto3.ErrorResponse{Severity: "FATAL", Code: code, Message: msg, File: file, Line: line, Routine: routine}
	if s.prof.hasV() {
		e.SeverityUnlocalized = "FATAL"
	}
	return e
}

func send(w io.Writer, msgs ...pgproto3.BackendMessage) error {
	var buf []byte
	for _, m := range msgs {
		var err error
		if buf, err = m.Encode(buf); err != nil {
			return fmt.Errorf("encode %T: %w", m, err)
		}
	}
	_, err := w.Write(buf)
	return err
}

// serve runs one connection through the startup and authentication phases.
func (s *server) serve(c io.ReadWriter, emit emitFunc, closeConn func()) {
	timer := time.AfterFunc(authTimeout, closeConn)
	defer timer.Stop()

	var sslRequested, gssRequested bool
	var startup pgproto3.StartupMessage
	var minor uint32
	for {
		hdr, body, err := readStartup(c)
		if err != nil {
			if errors.Is(err, errBadLength) {
				// PostgreSQL logs this and closes without a word.
				emit(event.Scan, map[string]string{"error": "invalid length of startup packet", "raw_b64": base64.StdEncoding.EncodeToString(hdr[:])}, "")
			}
			return
		}
		code := binary.BigEndian.Uint32(body)
		switch {
		case code == codeCancel:
			emit(event.Request, map[string]string{"request": "cancel"}, "")
			return
		case code == codeSSL && !sslRequested:
			sslRequested = true
			if _, err := c.Write([]byte{'N'}); err != nil {
				return
			}
			continue
		case code == codeGSSEnc && !gssRequested:
			gssRequested = true
			if _, err := c.Write([]byte{'N'}); err != nil {
				return
			}
			continue
		}
		major := code >> 16
		minor = code & 0xffff
		if major != 3 {
			msg := fmt.Sprintf("unsupported frontend protocol %d.%d: server supports %s to 3.0", major, minor, s.prof.earliest)
			emit(event.Scan, map[string]string{"error": msg, "raw_b64": base64.StdEncoding.EncodeToString(clip(body, 256))}, "")
			if major < 3 {
				// A version 2 client gets the error in the version 2 format.
				c.Write(append(append([]byte("EFATAL:  "), msg...), '\n', 0))
				return
			}
			send(c, s.fatal("0A000", msg, "postmaster.c", s.prof.startupLine, "ProcessStartupPacket"))
			return
		}
		fixed := append([]byte(nil), body...)
		binary.BigEndian.PutUint32(fixed, pgproto3.ProtocolVersion30)
		// PostgreSQL reads name/value pairs up to the last byte and never looks at
		// that byte; pgproto3 wants it to be the terminator.
		fixed[len(fixed)-1] = 0
		if len(fixed) == 5 && fixed[4] == 0 {
			startup.Parameters = map[string]string{}
		} else if err := startup.Decode(fixed); err != nil {
			emit(event.Scan, map[string]string{"error": "invalid startup packet layout", "raw_b64": base64.StdEncoding.EncodeToString(clip(body, 256))}, "")
			send(c, s.fatal("08P01", "invalid startup packet layout: expected terminator as last byte", "postmaster.c", s.prof.noUserLine-20, "ProcessStartupPacket"))
			return
		}
		break
	}

	user := startup.Parameters["user"]
	if user == "" {
		emit(event.Scan, map[string]string{"error": "no PostgreSQL user name specified in startup packet"}, "")
		send(c, s.fatal("28000", "no PostgreSQL user name specified in startup packet", "postmaster.c", s.prof.noUserLine, "ProcessStartupPacket"))
		return
	}
	db := startup.Parameters["database"]
	if db == "" {
		db = user
	}
	fields := map[string]string{
		"username":      user,
		"database":      db,
		"auth_method":   s.auth,
		"outcome":       "failure",
		"client_params": paramString(startup.Parameters),
		"ssl_requested": strconv.FormatBool(sslRequested),
	}
	if v := startup.Parameters["application_name"]; v != "" {
		fields["application_name"] = v
	}
	// A newer minor protocol or _pq_ options are answered with the versions and
	// options this server knows, as PostgreSQL 11 and later do.
	var unknown []string
	for k := range startup.Parameters {
		if strings.HasPrefix(k, "_pq_.") {
			unknown = append(unknown, k)
		}
	}
	if (minor > 0 || len(unknown) > 0) && s.prof.major >= 11 {
		sort.Strings(unknown)
		if send(c, &pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0, UnrecognizedOptions: unknown}) != nil {
			return
		}
	}

	be := pgproto3.NewBackend(c, c)
	be.SetMaxBodyLen(maxAuthMessage)
	var ok bool
	switch s.auth {
	case AuthSCRAM:
		ok = s.scram(c, be, user, fields, emit)
	default:
		ok = s.password(c, be, user, fields, emit)
	}
	if !ok {
		return
	}
	emit(event.Auth, fields, "")
	send(c, s.fatal("28P01", "password authentication failed for user \""+user+"\"", "auth.c", s.prof.authLine, "auth_failed"))
}

// abandoned records a client that left (or spoke out of turn) before answering
// the password request: psql does so when it has no password to give.
func abandoned(fields map[string]string, emit emitFunc, err error) {
	fields["outcome"] = "abandoned"
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		fields["error"] = err.Error()
	}
	emit(event.Auth, fields, "")
}

// password runs the md5 or cleartext exchange and fills in the capture.
func (s *server) password(c io.Writer, be *pgproto3.Backend, user string, fields map[string]string, emit emitFunc) bool {
	var salt [4]byte
	if s.auth == AuthMD5 {
		rand.Read(salt[:])
		if send(c, &pgproto3.AuthenticationMD5Password{Salt: salt}) != nil {
			return false
		}
		be.SetAuthType(pgproto3.AuthTypeMD5Password)
	} else {
		if send(c, &pgproto3.AuthenticationCleartextPassword{}) != nil {
			return false
		}
		be.SetAuthType(pgproto3.AuthTypeCleartextPassword)
	}
	msg, err := be.Receive()
	pm, ok := msg.(*pgproto3.PasswordMessage)
	if err != nil || !ok {
		abandoned(fields, emit, err)
		if err == nil {
			send(c, s.fatal("08P01", fmt.Sprintf("expected password response, got message type %d", msgType(msg)), "auth.c", s.prof.authLine+388, "recv_password_packet"))
		}
		return false
	}
	pw := pm.Password
	fields["secret_b64"] = base64.StdEncoding.EncodeToString([]byte(pw))
	if s.auth == AuthMD5 && len(pw) == 35 && strings.HasPrefix(pw, "md5") && isHex(pw[3:]) {
		fields["secret_kind"] = "postgres_md5"
		fields["salt_hex"] = hex.EncodeToString(salt[:])
		fields["hash"] = MD5Hash(user, salt[:], pw[3:])
	} else {
		// The cleartext method, or a client that sent its password as is.
		fields["secret_kind"] = "plaintext"
		fields["password"] = pw
	}
	return true
}

// scram runs the SCRAM-SHA-256 exchange up to the client's proof.
func (s *server) scram(c io.Writer, be *pgproto3.Backend, user string, fields map[string]string, emit emitFunc) bool {
	if send(c, &pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256"}}) != nil {
		return false
	}
	be.SetAuthType(pgproto3.AuthTypeSASL)
	msg, err := be.Receive()
	init, ok := msg.(*pgproto3.SASLInitialResponse)
	if err != nil || !ok {
		abandoned(fields, emit, err)
		if err == nil {
			s.unexpected(c, msg)
		}
		return false
	}
	if init.AuthMechanism != "SCRAM-SHA-256" {
		fields["error"] = "invalid SASL mechanism"
		fields["mechanism"] = init.AuthMechanism
		emit(event.Auth, fields, "")
		send(c, s.fatal("08P01", "client selected an invalid SASL authentication mechanism", "auth-scram.c", 256, "scram_init"))
		return false
	}
	first, err := scram.ParseClientFirst(string(init.Data))
	if err != nil {
		s.malformedSCRAM(c, fields, emit, init.Data, cbindDetail(init.Data), 1025, "read_client_first_message")
		return false
	}
	nonceRaw := make([]byte, 18) // SCRAM_RAW_NONCE_LEN
	rand.Read(nonceRaw)
	nonce := first.Nonce + base64.StdEncoding.EncodeToString(nonceRaw)
	salt := s.saltFor(user)
	serverFirst := "r=" + nonce + ",s=" + base64.StdEncoding.EncodeToString(salt) + ",i=" + strconv.Itoa(scramIterations)
	if send(c, &pgproto3.AuthenticationSASLContinue{Data: []byte(serverFirst)}) != nil {
		return false
	}
	be.SetAuthType(pgproto3.AuthTypeSASLContinue)
	msg, err = be.Receive()
	resp, ok := msg.(*pgproto3.SASLResponse)
	if err != nil || !ok {
		abandoned(fields, emit, err)
		if err == nil {
			s.unexpected(c, msg)
		}
		return false
	}
	final, err := scram.ParseClientFinal(string(resp.Data), sha256.Size)
	if err != nil {
		s.malformedSCRAM(c, fields, emit, resp.Data, "", 1213, "read_client_final_message")
		return false
	}
	if final.Nonce != nonce {
		s.malformedSCRAM(c, fields, emit, resp.Data, "Nonce does not match.", 1298, "read_client_final_message")
		return false
	}
	capture := SCRAMCapture{
		Iterations:  scramIterations,
		Salt:        salt,
		AuthMessage: first.Bare + "," + serverFirst + "," + final.WithoutProof,
		Proof:       final.Proof,
	}
	fields["secret_kind"] = "postgres_scram_sha256"
	fields["secret_b64"] = base64.StdEncoding.EncodeToString(final.Proof)
	fields["hash"] = capture.String()
	return true
}

// malformedSCRAM reports a SCRAM message that does not parse, as auth-scram.c
// does (the lines are those of PostgreSQL 15).
func (s *server) malformedSCRAM(c io.Writer, fields map[string]string, emit emitFunc, data []byte, detail string, line int32, routine string) {
	fields["error"] = "malformed SCRAM message"
	fields["raw_b64"] = base64.StdEncoding.EncodeToString(clip(data, 512))
	emit(event.Auth, fields, "")
	e := s.fatal("08P01", "malformed SCRAM message", "auth-scram.c", line, routine)
	e.Detail = detail
	send(c, e)
}

// unexpected answers a message other than the SASL response the server waits for.
func (s *server) unexpected(c io.Writer, msg pgproto3.FrontendMessage) {
	send(c, s.fatal("08P01", fmt.Sprintf("expected SASL response, got message type %d", msgType(msg)), "auth-sasl.c", 95, "CheckSASLAuth"))
}

// msgType is the type byte of a frontend message.
func msgType(m pgproto3.FrontendMessage) int {
	b, err := m.Encode(nil)
	if err != nil || len(b) == 0 {
		return 0
	}
	return int(b[0])
}

// cbindDetail is PostgreSQL's detail for a client-first message whose
// channel-binding flag is not n, y or p.
func cbindDetail(data []byte) string {
	if len(data) == 0 {
		return "Expected channel-binding flag but found end of string."
	}
	switch data[0] {
	case 'n', 'y', 'p':
		return ""
	}
	return fmt.Sprintf("Unexpected channel-binding flag \"%s\".", sanitizeChar(data[0]))
}

// sanitizeChar renders a byte as PostgreSQL's sanitize_char does.
func sanitizeChar(c byte) string {
	if c >= 0x21 && c <= 0x7e {
		return "'" + string(c) + "'"
	}
	return fmt.Sprintf("0x%02x", c)
}

// saltFor is the user's SCRAM salt: 16 bytes (SCRAM_DEFAULT_SALT_LEN), stable per
// user and decky, as a real server's stored (or, for unknown roles, mock) salt.
func (s *server) saltFor(user string) []byte {
	m := hmac.New(sha256.New, s.seed)
	m.Write([]byte("salt\x00" + user))
	return m.Sum(nil)[:16]
}

// MD5Hash renders a PostgreSQL md5 exchange in hashcat mode 11100 (PostgreSQL
// CRAM (MD5)) form: $postgres$<user>*<salt hex>*<md5 hex>, where the client sent
// "md5" + md5(md5(password + user) + salt).
func MD5Hash(user string, salt []byte, response string) string {
	return "$postgres$" + user + "*" + hex.EncodeToString(salt) + "*" + response
}

func paramString(p map[string]string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + "=" + p[k])
	}
	return b.String()
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
