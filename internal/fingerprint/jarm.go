package fingerprint

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// JARM is Salesforce's active TLS server fingerprint (github.com/salesforce/jarm,
// jarm.py version 1.0): ten crafted ClientHellos, each on a fresh connection; the
// server's answers (selected cipher, version, ALPN, extension types) form a raw
// string that is hashed into 62 characters: 30 from the cipher and version codes of
// each answer, then the first 32 hex digits of the SHA-256 of the ALPN and extension
// parts. This is a byte-for-byte port of jarm.py, quirks included (its ALPN list has
// "spdy/3" and "h2" fused into one entry by a missing comma; it reads the version
// from the ServerHello's legacy field; it parses extensions with its own bounds
// quirks), because the value of JARM is that hashes match the public lists. One
// deliberate difference: jarm.py takes a single recv of up to 1484 bytes, which on a
// real network may hold only part of the ServerHello; JARM here reads until the
// first record is complete (still at most 1484 bytes), so a split reply gives the
// answer jarm.py gives when it arrives whole.

// JARMZero is the hash of a server that answered none of the probes.
const JARMZero = "00000000000000000000000000000000000000000000000000000000000000"

// jarmMaxReply is how much of a reply jarm.py reads (one recv of 1484 bytes).
const jarmMaxReply = 1484

type jarmProbe struct {
	version   string // TLS_1.1, TLS_1.2, TLS_1.3
	ciphers   string // ALL, NO1.3
	order     string // cipher order: FORWARD, REVERSE, TOP_HALF, BOTTOM_HALF, MIDDLE_OUT
	grease    bool
	rareALPN  bool
	support   string // supported_versions: 1.2_SUPPORT, NO_SUPPORT, 1.3_SUPPORT
	extOrder  string // ALPN and supported_versions order: FORWARD, REVERSE
	shortName string
}

// jarmProbes are jarm.py's queue, in order.
var jarmProbes = [10]jarmProbe{
	{"TLS_1.2", "ALL", "FORWARD", false, false, "1.2_SUPPORT", "REVERSE", "tls1_2_forward"},
	{"TLS_1.2", "ALL", "REVERSE", false, false, "1.2_SUPPORT", "FORWARD", "tls1_2_reverse"},
	{"TLS_1.2", "ALL", "TOP_HALF", false, false, "NO_SUPPORT", "FORWARD", "tls1_2_top_half"},
	{"TLS_1.2", "ALL", "BOTTOM_HALF", false, true, "NO_SUPPORT", "FORWARD", "tls1_2_bottom_half"},
	{"TLS_1.2", "ALL", "MIDDLE_OUT", true, true, "NO_SUPPORT", "REVERSE", "tls1_2_middle_out"},
	{"TLS_1.1", "ALL", "FORWARD", false, false, "NO_SUPPORT", "FORWARD", "tls1_1_middle_out"},
	{"TLS_1.3", "ALL", "FORWARD", false, false, "1.3_SUPPORT", "REVERSE", "tls1_3_forward"},
	{"TLS_1.3", "ALL", "REVERSE", false, false, "1.3_SUPPORT", "FORWARD", "tls1_3_reverse"},
	{"TLS_1.3", "NO1.3", "FORWARD", false, false, "1.3_SUPPORT", "FORWARD", "tls1_3_invalid"},
	{"TLS_1.3", "ALL", "MIDDLE_OUT", true, false, "1.3_SUPPORT", "REVERSE", "tls1_3_middle_out"},
}

// jarmCiphersAll is jarm.py's "ALL" cipher list; "NO1.3" is the same without the
// TLS 1.3 suites (0x1301–0x1305).
var jarmCiphersAll = []uint16{
	0x0016, 0x0033, 0x0067, 0xc09e, 0xc0a2, 0x009e, 0x0039, 0x006b, 0xc09f, 0xc0a3, 0x009f, 0x0045, 0x00be, 0x0088,
	0x00c4, 0x009a, 0xc008, 0xc009, 0xc023, 0xc0ac, 0xc0ae, 0xc02b, 0xc00a, 0xc024, 0xc0ad, 0xc0af, 0xc02c, 0xc072,
	0xc073, 0xcca9, 0x1302, 0x1301, 0xcc14, 0xc007, 0xc012, 0xc013, 0xc027, 0xc02f, 0xc014, 0xc028, 0xc030, 0xc060,
	0xc061, 0xc076, 0xc077, 0xcca8, 0x1305, 0x1304, 0x1303, 0xcc13, 0xc011, 0x000a, 0x002f, 0x003c, 0xc09c, 0xc0a0,
	0x009c, 0x0035, 0x003d, 0xc09d, 0xc0a1, 0x009d, 0x0041, 0x00ba, 0x0084, 0x00c0, 0x0007, 0x0004, 0x0005,
}

// jarmCipherCodes is the list whose 1-based index (two hex digits) codes a selected
// cipher in the hash; a cipher not in it codes as 0x46 (one past the end).
var jarmCipherCodes = []uint16{
	0x0004, 0x0005, 0x0007, 0x000a, 0x0016, 0x002f, 0x0033, 0x0035, 0x0039, 0x003c, 0x003d, 0x0041, 0x0045, 0x0067,
	0x006b, 0x0084, 0x0088, 0x009a, 0x009c, 0x009d, 0x009e, 0x009f, 0x00ba, 0x00be, 0x00c0, 0x00c4, 0xc007, 0xc008,
	0xc009, 0xc00a, 0xc011, 0xc012, 0xc013, 0xc014, 0xc023, 0xc024, 0xc027, 0xc028, 0xc02b, 0xc02c, 0xc02f, 0xc030,
	0xc060, 0xc061, 0xc072, 0xc073, 0xc076, 0xc077, 0xc09c, 0xc09d, 0xc09e, 0xc09f, 0xc0a0, 0xc0a1, 0xc0a2, 0xc0a3,
	0xc0ac, 0xc0ad, 0xc0ae, 0xc0af, 0xcc13, 0xcc14, 0xcca8, 0xcca9, 0x1301, 0x1302, 0x1303, 0x1304, 0x1305,
}

// ALPN entries with their length prefixes. The common list fuses spdy/3 and h2 into
// one entry, as jarm.py does (a missing comma concatenates two byte literals): that
// changes how the list is reversed, so it is kept.
var (
	jarmALPN = []string{"\x08http/0.9", "\x08http/1.0", "\x08http/1.1", "\x06spdy/1", "\x06spdy/2",
		"\x06spdy/3\x02h2", "\x03h2c", "\x02hq"}
	jarmRareALPN = []string{"\x08http/0.9", "\x08http/1.0", "\x06spdy/1", "\x06spdy/2", "\x06spdy/3", "\x03h2c", "\x02hq"}
)

// jarmMung reorders a list as jarm.py's cipher_mung does.
func jarmMung[T any](list []T, order string) []T {
	n := len(list)
	var out []T
	switch order {
	case "REVERSE":
		for i := n - 1; i >= 0; i-- {
			out = append(out, list[i])
		}
	case "BOTTOM_HALF":
		if n%2 == 1 {
			out = append(out, list[n/2+1:]...)
		} else {
			out = append(out, list[n/2:]...)
		}
	case "TOP_HALF":
		if n%2 == 1 {
			out = append(out, list[n/2])
		}
		out = append(out, jarmMung(jarmMung(list, "REVERSE"), "BOTTOM_HALF")...)
	case "MIDDLE_OUT":
		mid := n / 2
		if n%2 == 1 {
			out = append(out, list[mid])
			for i := 1; i <= mid; i++ {
				out = append(out, list[mid+i], list[mid-i])
			}
		} else {
			for i := 1; i <= mid; i++ {
				out = append(out, list[mid-1+i], list[mid-i])
			}
		}
	default: // FORWARD
		out = append(out, list...)
	}
	return out
}

// jarmRand draws the random parts of a probe.
type jarmRand struct {
	r   io.Reader
	err error
}

func (j *jarmRand) bytes(n int) []byte {
	b := make([]byte, n)
	if j.err == nil {
		_, j.err = io.ReadFull(j.r, b)
	}
	return b
}

// grease picks one of the 16 GREASE values (0x0a0a … 0xfafa).
func (j *jarmRand) grease() []byte {
	v := byte(j.bytes(1)[0]%16)<<4 | 0x0a
	return []byte{v, v}
}

// JARMProbe builds the TLS record of JARM probe i (0–9), for server name host (jarm.py
// sends the scanned IP or name as SNI), drawing the random, session id, key share and
// GREASE values from rnd (crypto/rand.Reader when nil).
func JARMProbe(i int, host string, rnd io.Reader) ([]byte, error) {
	if i < 0 || i >= len(jarmProbes) {
		return nil, fmt.Errorf("JARM probe %d does not exist (0–9)", i)
	}
	if len(host) > 0xff00 {
		return nil, errors.New("JARM server name is too long")
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	p := jarmProbes[i]
	r := &jarmRand{r: rnd}
	var recVer, helloVer []byte
	switch p.version {
	case "TLS_1.3":
		recVer, helloVer = []byte{3, 1}, []byte{3, 3}
	case "TLS_1.1":
		recVer, helloVer = []byte{3, 2}, []byte{3, 2}
	default:
		recVer, helloVer = []byte{3, 3}, []byte{3, 3}
	}
	hello := append([]byte(nil), helloVer...)
	hello = append(hello, r.bytes(32)...)
	hello = append(hello, 32)
	hello = append(hello, r.bytes(32)...)

	suites := jarmCiphersAll
	if p.ciphers == "NO1.3" {
		suites = nil
		for _, s := range jarmCiphersAll {
			if s>>8 != 0x13 {
				suites = append(suites, s)
			}
		}
	}
	if p.order != "FORWARD" {
		suites = jarmMung(suites, p.order)
	}
	var cs []byte
	if p.grease {
		cs = append(cs, r.grease()...)
	}
	for _, s := range suites {
		cs = binary.BigEndian.AppendUint16(cs, s)
	}
	hello = binary.BigEndian.AppendUint16(hello, uint16(len(cs)))
	hello = append(hello, cs...)
	hello = append(hello, 1, 0) // one compression method: null

	exts := jarmExtensions(p, host, r)
	hello = binary.BigEndian.AppendUint16(hello, uint16(len(exts)))
	hello = append(hello, exts...)
	if r.err != nil {
		return nil, fmt.Errorf("JARM probe: cannot draw random bytes: %w", r.err)
	}

	hs := []byte{HandshakeClientHello, byte(len(hello) >> 16), byte(len(hello) >> 8), byte(len(hello))}
	hs = append(hs, hello...)
	rec := append([]byte{recordHandshake}, recVer...)
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(hs)))
	return append(rec, hs...), nil
}

func jarmExtensions(p jarmProbe, host string, r *jarmRand) []byte {
	var b []byte
	if p.grease {
		b = append(b, r.grease()...)
		b = append(b, 0, 0)
	}
	// server_name
	b = append(b, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(host)+5))
	b = binary.BigEndian.AppendUint16(b, uint16(len(host)+3))
	b = append(b, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(host)))
	b = append(b, host...)
	b = append(b, 0x00, 0x17, 0x00, 0x00)       // extended_master_secret
	b = append(b, 0x00, 0x01, 0x00, 0x01, 0x01) // max_fragment_length
	b = append(b, 0xff, 0x01, 0x00, 0x01, 0x00) // renegotiation_info
	b = append(b, 0x00, 0x0a, 0x00, 0x0a, 0x00, 0x08, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18, 0x00, 0x19)
	b = append(b, 0x00, 0x0b, 0x00, 0x02, 0x01, 0x00) // ec_point_formats
	b = append(b, 0x00, 0x23, 0x00, 0x00)             // session_ticket
	// ALPN
	alpns := jarmALPN
	if p.rareALPN {
		alpns = jarmRareALPN
	}
	if p.extOrder != "FORWARD" {
		alpns = jarmMung(alpns, p.extOrder)
	}
	all := strings.Join(alpns, "")
	b = append(b, 0x00, 0x10)
	b = binary.BigEndian.AppendUint16(b, uint16(len(all)+2))
	b = binary.BigEndian.AppendUint16(b, uint16(len(all)))
	b = append(b, all...)
	b = append(b, 0x00, 0x0d, 0x00, 0x14, 0x00, 0x12, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03,
		0x08, 0x05, 0x05, 0x01, 0x08, 0x06, 0x06, 0x01, 0x02, 0x01) // signature_algorithms
	// key_share
	var share []byte
	if p.grease {
		share = append(share, r.grease()...)
		share = append(share, 0x00, 0x01, 0x00)
	}
	share = append(share, 0x00, 0x1d, 0x00, 0x20)
	share = append(share, r.bytes(32)...)
	b = append(b, 0x00, 0x33)
	b = binary.BigEndian.AppendUint16(b, uint16(len(share)+2))
	b = binary.BigEndian.AppendUint16(b, uint16(len(share)))
	b = append(b, share...)
	b = append(b, 0x00, 0x2d, 0x00, 0x02, 0x01, 0x01) // psk_key_exchange_modes
	if p.version == "TLS_1.3" || p.support == "1.2_SUPPORT" {
		vers := [][]byte{{3, 1}, {3, 2}, {3, 3}}
		if p.support != "1.2_SUPPORT" {
			vers = append(vers, []byte{3, 4})
		}
		if p.extOrder != "FORWARD" {
			vers = jarmMung(vers, p.extOrder)
		}
		var v []byte
		if p.grease {
			v = append(v, r.grease()...)
		}
		for _, x := range vers {
			v = append(v, x...)
		}
		b = append(b, 0x00, 0x2b)
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)+1))
		b = append(b, byte(len(v)))
		b = append(b, v...)
	}
	return b
}

// pySlice is Python's b[lo:hi] (clamped, never panics).
func pySlice(b []byte, lo, hi int) []byte {
	lo, hi = min(max(lo, 0), len(b)), min(max(hi, 0), len(b))
	if lo >= hi {
		return nil
	}
	return b[lo:hi]
}

// pyInt is jarm.py's int(codecs.encode(b, 'hex'), 16): false for no bytes (Python
// raises ValueError).
func pyInt(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		n = n<<8 | int(c)
	}
	return n, true
}

// ParseJARMReply turns the first bytes a server answered to a JARM probe (at most
// 1484 are used) into that probe's component: "cipher|version|alpn|extension-types",
// or "|||" when there was no ServerHello. It reproduces jarm.py's read_packet
// exactly, including its answers for truncated or odd replies.
func ParseJARMReply(data []byte) string {
	if len(data) > jarmMaxReply {
		data = data[:jarmMaxReply]
	}
	if len(data) == 0 || data[0] == 21 {
		return "|||"
	}
	if data[0] != 22 || len(data) < 6 || data[5] != 2 || len(data) < 44 {
		return "|||"
	}
	counter := int(data[43])
	s := hex.EncodeToString(pySlice(data, counter+44, counter+46)) + "|" + hex.EncodeToString(pySlice(data, 9, 11)) + "|"
	ext, ok := jarmServerExtensions(data, counter)
	if !ok {
		return "|||"
	}
	return s + ext
}

// jarmServerExtensions is jarm.py's extract_extension_info. ok is false where
// Python raises an exception read_packet catches (the whole answer becomes "|||").
func jarmServerExtensions(data []byte, counter int) (string, bool) {
	if counter+47 >= len(data) {
		return "|||", true // IndexError, caught here
	}
	if data[counter+47] == 11 {
		return "|||", true
	}
	if string(pySlice(data, counter+50, counter+53)) == "\x0e\xac\x0b" || string(pySlice(data, 82, 85)) == "\x0f\xf0\x0b" {
		return "|||", true
	}
	count := 49 + counter
	length, _ := pyInt(pySlice(data, counter+47, counter+49))
	maximum := length + count - 1
	var types, values [][]byte
	var empty []bool
	for count < maximum {
		types = append(types, pySlice(data, count, count+2))
		extLen, ok := pyInt(pySlice(data, count+2, count+4))
		if !ok {
			return "", false // ValueError
		}
		if extLen == 0 {
			count += 4
			values = append(values, nil)
			empty = append(empty, true)
		} else {
			values = append(values, pySlice(data, count+4, count+4+extLen))
			empty = append(empty, false)
			count += extLen + 4
		}
	}
	alpn := ""
	for i, t := range types {
		if string(t) == "\x00\x10" {
			if empty[i] {
				return "", false // "".decode(): AttributeError
			}
			v := pySlice(values[i], 3, len(values[i]))
			if !utf8.Valid(v) {
				return "", false // UnicodeDecodeError
			}
			alpn = string(v)
			break
		}
	}
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = hex.EncodeToString(t)
	}
	return alpn + "|" + strings.Join(parts, "-"), true
}

// JARMHash is jarm.py's jarm_hash: the 62-character JARM of the raw string (the ten
// components joined by commas). Where jarm.py would crash on a malformed version
// field, the version code is "0".
func JARMHash(raw string) string {
	if raw == strings.Repeat("|||,", 9)+"|||" {
		return JARMZero
	}
	var fuzzy, rest strings.Builder
	for _, hs := range strings.Split(raw, ",") {
		c := strings.Split(hs, "|")
		for len(c) < 4 {
			c = append(c, "")
		}
		fuzzy.WriteString(jarmCipherCode(c[0]))
		fuzzy.WriteString(jarmVersionCode(c[1]))
		rest.WriteString(c[2])
		rest.WriteString(c[3])
	}
	sum := sha256.Sum256([]byte(rest.String()))
	return fuzzy.String() + hex.EncodeToString(sum[:])[:32]
}

// jarmCipherIndex maps a cipher's hex form to its code.
var jarmCipherIndex = func() map[string]string {
	m := make(map[string]string, len(jarmCipherCodes))
	for i, s := range jarmCipherCodes {
		m[fmt.Sprintf("%04x", s)] = fmt.Sprintf("%02x", i+1)
	}
	return m
}()

func jarmCipherCode(c string) string {
	if c == "" {
		return "00"
	}
	if code, ok := jarmCipherIndex[c]; ok {
		return code
	}
	return fmt.Sprintf("%02x", len(jarmCipherCodes)+1)
}

func jarmVersionCode(v string) string {
	if v == "" {
		return "0"
	}
	if len(v) < 4 {
		return "0"
	}
	d, err := strconv.Atoi(v[3:4])
	if err != nil || d < 0 || d > 5 {
		return "0"
	}
	return "abcdef"[d : d+1]
}

// JARMResult is one JARM scan.
type JARMResult struct {
	Hash string // the 62-character JARM
	Raw  string // the ten components, comma-separated (jarm.py -v)
}

// Zero reports whether the server answered no probe with a ServerHello.
func (r JARMResult) Zero() bool { return r.Hash == JARMZero }

// errJARMTimeout marks a probe that got no answer in time: like jarm.py, the whole
// scan then counts as unanswered.
var errJARMTimeout = errors.New("JARM probe timed out")

// JARMScan configures a JARM scan.
type JARMScan struct {
	// Host is the server name sent in every probe. jarm.py sends what it scans: the
	// IP address as text, or the domain name.
	Host string
	// Dial opens a fresh TCP connection to the server (one per probe).
	Dial func(context.Context) (net.Conn, error)
	// ProbeTimeout bounds each probe (connect, send, read); 0 means
	// DefaultJARMProbeTimeout. jarm.py waits 20 s.
	ProbeTimeout time.Duration
}

// DefaultJARMProbeTimeout bounds one probe when JARMScan.ProbeTimeout is 0.
const DefaultJARMProbeTimeout = 10 * time.Second

// JARM runs the ten JARM probes against a server: host is the server name (see
// JARMScan.Host), dial opens each probe's fresh connection.
func JARM(ctx context.Context, host string, dial func(context.Context) (net.Conn, error)) (JARMResult, error) {
	return JARMScan{Host: host, Dial: dial}.Run(ctx)
}

// Run runs the ten probes in jarm.py's order, each on a fresh connection, and
// returns the hash. Each probe reads at most 1484 bytes. As in jarm.py, a probe that
// times out makes the whole result zero (Zero reports it), and a probe whose
// connection fails or is answered with anything but a ServerHello counts as
// unanswered. err is non-nil only when ctx ends.
func (s JARMScan) Run(ctx context.Context) (JARMResult, error) {
	if s.Dial == nil {
		return JARMResult{}, errors.New("JARM scan has no dial function")
	}
	timeout := s.ProbeTimeout
	if timeout <= 0 {
		timeout = DefaultJARMProbeTimeout
	}
	comps := make([]string, 0, len(jarmProbes))
	for i := range jarmProbes {
		if err := ctx.Err(); err != nil {
			return JARMResult{}, fmt.Errorf("JARM scan of %s stopped: %w", s.Host, err)
		}
		reply, err := jarmExchange(ctx, i, s.Host, s.Dial, timeout)
		if ctx.Err() != nil {
			return JARMResult{}, fmt.Errorf("JARM scan of %s stopped: %w", s.Host, ctx.Err())
		}
		if errors.Is(err, errJARMTimeout) {
			raw := strings.Repeat("|||,", 9) + "|||"
			return JARMResult{Hash: JARMZero, Raw: raw}, nil
		}
		if err != nil {
			comps = append(comps, "|||")
			continue
		}
		comps = append(comps, ParseJARMReply(reply))
	}
	raw := strings.Join(comps, ",")
	return JARMResult{Hash: JARMHash(raw), Raw: raw}, nil
}

// jarmExchange sends probe i on a new connection and reads the reply: until the
// first record is complete, an alert or anything not a handshake arrives, 1484
// bytes are read, or the peer closes.
func jarmExchange(ctx context.Context, i int, host string, dial func(context.Context) (net.Conn, error), timeout time.Duration) ([]byte, error) {
	pkt, err := JARMProbe(i, host, nil)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := dial(pctx)
	if err != nil {
		if isTimeout(err) || errors.Is(err, context.DeadlineExceeded) {
			return nil, errJARMTimeout
		}
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(pctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := pctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := c.Write(pkt); err != nil {
		if isTimeout(err) {
			return nil, errJARMTimeout
		}
		return nil, err
	}
	buf := make([]byte, 0, jarmMaxReply)
	for len(buf) < jarmMaxReply {
		n, err := c.Read(buf[len(buf):jarmMaxReply])
		buf = buf[:len(buf)+n]
		if replyDone(buf) {
			break
		}
		if err != nil {
			if len(buf) > 0 {
				break // what arrived is what jarm.py's recv would have returned
			}
			if isTimeout(err) {
				return nil, errJARMTimeout
			}
			if errors.Is(err, io.EOF) {
				return buf, nil
			}
			return nil, err
		}
	}
	return buf, nil
}

// replyDone reports whether the reply holds enough to decide: a complete first
// record, or a first byte that is not a handshake record.
func replyDone(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if b[0] != recordHandshake {
		return true
	}
	if len(b) < recordHeaderLen {
		return false
	}
	return len(b) >= recordHeaderLen+int(binary.BigEndian.Uint16(b[3:]))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
