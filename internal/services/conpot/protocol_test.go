package conpot

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service/servicetest"
)

// TestModbusPDU checks answers and exceptions against the specification.
func TestModbusPDU(t *testing.T) {
	p := newPLCFor(t, "decky-x", "plc")
	cases := []struct {
		name, req, want string // hex
		exception       string
	}{
		{"read coils", "0100000008", "0101", ""},
		{"read coils zero quantity", "0100000000", "8103", "ILLEGAL DATA VALUE"},
		{"read coils too many", "01000007d1", "8103", "ILLEGAL DATA VALUE"},
		{"read coils past the end", "0103ff0002", "8102", "ILLEGAL DATA ADDRESS"},
		{"read holding past the end", "0307ff0002", "8302", "ILLEGAL DATA ADDRESS"},
		{"read holding 126", "030000007e", "8303", "ILLEGAL DATA VALUE"},
		{"read input short", "040000", "8403", "ILLEGAL DATA VALUE"},
		{"write coil bad value", "0500010001", "8503", "ILLEGAL DATA VALUE"},
		{"write coil on", "050001ff00", "050001ff00", ""},
		{"write register", "0600020304", "0600020304", ""},
		{"write register past the end", "0608000001", "8602", "ILLEGAL DATA ADDRESS"},
		{"write coils bad byte count", "0f0000000a0103", "8f03", "ILLEGAL DATA VALUE"},
		{"write coils", "0f0000000a020301", "0f0000000a", ""},
		{"write registers", "1000000002040001ffff", "1000000002", ""},
		{"write registers count mismatch", "1000000002020001", "9003", "ILLEGAL DATA VALUE"},
		{"unknown function", "41", "c101", "ILLEGAL FUNCTION"},
		{"diagnostics unsupported", "0800000000", "8801", "ILLEGAL FUNCTION"},
		{"device id bad code", "2b0e0500", "ab03", "ILLEGAL DATA VALUE"},
		{"device id bad object", "2b0e0420", "ab02", "ILLEGAL DATA ADDRESS"},
		{"mei other", "2b0d", "ab01", "ILLEGAL FUNCTION"},
		{"device id object 2", "2b0e0402", "2b0e04820000010204" + hex.EncodeToString([]byte("v2.7")), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := hex.DecodeString(tc.req)
			f := map[string]string{}
			got := hex.EncodeToString(p.modbusPDU(req, f))
			if tc.want != "" && !bytes.HasPrefix([]byte(got), []byte(tc.want)) {
				t.Errorf("got %s, want %s…", got, tc.want)
			}
			if f["exception"] != tc.exception {
				t.Errorf("exception %q, want %q", f["exception"], tc.exception)
			}
		})
	}
	// Basic device identification: objects 0 to 2 in one answer.
	f := map[string]string{}
	got := p.modbusPDU([]byte{0x2b, 0x0e, 0x01, 0x00}, f)
	want := []byte{0x2b, 0x0e, 0x01, 0x82, 0x00, 0x00, 0x03, 0x00, 18}
	want = append(want, "Schneider Electric"...)
	if !bytes.HasPrefix(got, want) || !bytes.HasSuffix(got, []byte("\x02\x04v2.7")) {
		t.Errorf("basic device identification %q", got)
	}
}

// TestModbusNotModbus: an HTTP request gets the echo-and-exception a PLC's stack
// gives (what nmap's Modbus fingerprints expect), then the connection closes.
func TestModbusNotModbus(t *testing.T) {
	p := newPLCFor(t, "decky-x", "plc")
	var out bytes.Buffer
	var fields []map[string]string
	p.serveModbus(context.Background(), struct {
		io.Reader
		io.Writer
	}{bytes.NewReader([]byte("GET / HTTP/1.0\r\n\r\n")), &out}, func(_ string, f map[string]string, _ string) { fields = append(fields, f) })
	if out.String() != "GET \x00\x03H\xd4\x01" {
		t.Errorf("answer %q", out.String())
	}
	if len(fields) != 1 || fields[0]["error"] != "bad MBAP length 12064" {
		t.Errorf("events %v", fields)
	}
}

func tpkt(payload []byte) []byte {
	b := []byte{3, 0, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(4+len(payload)))
	return append(b, payload...)
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// encodeS7Password obfuscates a password as S7 clients (Step 7, snap7) send it.
func encodeS7Password(pw string) []byte {
	p := []byte((pw + "        ")[:8])
	e := make([]byte, 8)
	e[0], e[1] = p[0]^0x55, p[1]^0x55
	for i := 2; i < 8; i++ {
		e[i] = p[i] ^ 0x55 ^ e[i-2]
	}
	return e
}

// TestS7WireClient speaks S7comm as snap7 does: connect, set up, read the CPU
// state, read flags and a data block, write, send the CPU password.
func TestS7WireClient(t *testing.T) {
	h := start(t, nil)
	c, err := net.DialTimeout("tcp", h.Addr(102), wait)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	exchange := func(payload []byte) []byte {
		t.Helper()
		if _, err := c.Write(tpkt(payload)); err != nil {
			t.Fatal(err)
		}
		hdr := make([]byte, 4)
		if _, err := io.ReadFull(c, hdr); err != nil {
			t.Fatalf("read: %v", err)
		}
		body := make([]byte, int(binary.BigEndian.Uint16(hdr[2:]))-4)
		if _, err := io.ReadFull(c, body); err != nil {
			t.Fatalf("read: %v", err)
		}
		return body
	}
	cc := exchange(mustHex("11e00000000100c0010ac1020100c2020102"))
	if cc[1] != 0xD0 || !bytes.Contains(cc, mustHex("c2020102")) {
		t.Fatalf("connection confirm %x", cc)
	}
	setup := exchange(mustHex("02f080320100000c0000080000f0000001000103c0"))
	if !bytes.Equal(setup[3:], mustHex("320300000c00000800000000f0000001000100f0")) {
		t.Fatalf("setup answer %x", setup)
	}
	state := exchange(mustHex("02f080320700000d00000800080001120411440100ff09000404240000"))
	if len(state) < 44 || state[3+10+12+12+3] != 0x08 {
		t.Fatalf("CPU state answer %x (want RUN)", state)
	}
	// read var: MB0 (4 bytes) and DB1.DBB0 (2 bytes)
	rd := exchange(mustHex("02f08032010000000e001a00000402" + "120a10020004000083000000" + "120a10020002000184000000"))
	d := rd[3+12+2:]
	if d[0] != 0xFF || d[1] != 0x04 || binary.BigEndian.Uint16(d[2:]) != 32 || d[8] != 0x0A {
		t.Fatalf("read var answer %x", rd)
	}
	wr := exchange(mustHex("02f08032010000000f000e00060501" + "120a10020002000083000010" + "00040010cafe"))
	if wr[len(wr)-1] != 0xFF {
		t.Fatalf("write var answer %x", wr)
	}
	pw := exchange(append(mustHex("02f080320700001000000800"+"0c"+"0001120411450100"+"ff090008"), encodeS7Password("S3cr]t")...))
	if !bytes.Contains(pw, []byte{0xD6, 0x02}) {
		t.Fatalf("password answer %x", pw)
	}
	h.Wait(t, wait, "read var", servicetest.Type(event.Command, "function_name=read_var", "address=M0.0*4,DB1.0.0*2"))
	h.Wait(t, wait, "write var", servicetest.Type(event.Command, "function_name=write_var", "address=M2.0*2", "values_hex=cafe"))
	e := h.Wait(t, wait, "password", servicetest.Type(event.Auth, "protocol=s7comm", "secret_kind=s7_password"))
	if e.Fields["password"] != "S3cr]t" || !e.IsCredential() || e.Fields["outcome"] != "failure" {
		t.Errorf("password event %+v", e.Fields)
	}
}

// TestS7SZLUnknown: an SZL the CPU lacks is refused with 0xD401 in the
// parameters and return code 0x0A, as an S7-300 does.
func TestS7SZLUnknown(t *testing.T) {
	p := newPLCFor(t, "decky-x", "plc")
	st := &s7State{connected: true, setup: true, pdu: 240}
	reply, f, hangup := p.cotp(st, mustHex("02f080320700000100000800080001120411440100ff09000407770000"))
	if hangup || f["szl_id"] != "0x0777" || !bytes.Contains(reply, []byte{0xD4, 0x01, 0x0A, 0x00, 0x00, 0x00}) {
		t.Errorf("reply %x fields %v", reply, f)
	}
	stop := mustHex("02f08032010000060000100000" + "29000000000009505f50524f4752414d")
	reply, f, _ = p.cotp(st, stop)
	if f["function_name"] != "plc_stop" || f["service"] != "P_PROGRAM" || !bytes.Equal(reply[3+10:3+12], []byte{0xD2, 0x41}) {
		t.Errorf("PLC stop: reply %x fields %v", reply, f)
	}
	start := mustHex("02f080" + "32010000000700140000" + "28000000000000fd" + "0000" + "09505f50524f4752414d")
	reply, f, _ = p.cotp(st, start)
	if f["function_name"] != "plc_control" || f["service"] != "P_PROGRAM" || !bytes.Equal(reply[3+10:3+12], []byte{0xD2, 0x41}) {
		t.Errorf("PLC start: reply %x fields %v", reply, f)
	}
	if _, f, hangup := p.cotp(&s7State{}, mustHex("02f08032010000010000080000f0000001000101e0")); !hangup || f["error"] == "" {
		t.Errorf("data before a connection was not refused: %v", f)
	}
}

func fuzzEmit(t *testing.T, count *int) emitFunc {
	return func(typ string, f map[string]string, _ string) {
		*count++
		for k, v := range f {
			if len(v) > 8<<10 {
				t.Fatalf("%s field %s is %d bytes", typ, k, len(v))
			}
		}
	}
}

type boundedWriter struct {
	t *testing.T
	n int
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	if len(p) > maxTPKT {
		w.t.Fatalf("one answer of %d bytes", len(p))
	}
	w.n += len(p)
	return len(p), nil
}

// FuzzModbus feeds arbitrary bytes to the Modbus/TCP server: no panic, bounded
// answers and events.
func FuzzModbus(f *testing.F) {
	for _, s := range []string{
		"000100000006010300000010",
		"0001000000060101000007d0",
		"00010000000b011000640002040539beef",
		"000200000005012b0e0100",
		"0003000000020111",
		"474554202f20485454502f312e300d0a0d0a",
		"0d0a0d0a",
		"0001000000ff01",
	} {
		f.Add(mustHex(s))
	}
	p := newPLCFor(f, "decky-fuzz", "plc")
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		w := &boundedWriter{t: t}
		p.serveModbus(context.Background(), struct {
			io.Reader
			io.Writer
		}{servicetest.Pieces(data), w}, fuzzEmit(t, &n))
		if n > len(data)/7+2 {
			t.Fatalf("%d events from %d bytes", n, len(data))
		}
		if w.n > (len(data)/7+1)*maxADU {
			t.Fatalf("%d bytes answered to %d", w.n, len(data))
		}
	})
}

// FuzzS7 feeds arbitrary bytes to the S7comm server: no panic, bounded answers
// and events.
func FuzzS7(f *testing.F) {
	conn := tpkt(mustHex("11e00000001400c1020100c2020102c0010a"))
	setup := tpkt(mustHex("02f08032010000000000080000f0000001000101e0"))
	for _, rest := range [][]byte{
		tpkt(mustHex("02f080320700000000000800080001120411440100ff09000400110001")),
		tpkt(mustHex("02f080320700000000000800080001120411440100ff090004001c0001")),
		tpkt(mustHex("02f08032010000000e001a00000402120a10020004000083000000120a10020002000184000000")),
		tpkt(mustHex("02f08032010000000f000e00060501120a1002000200008300001000040010cafe")),
		tpkt(append(mustHex("02f0803207000010000008000c0001120411450100ff090008"), encodeS7Password("pw")...)),
		tpkt(mustHex("02f080320100000000001000002900000000000950505f50524f4752414d")),
		tpkt(mustHex("02f0807200")),
		tpkt(mustHex("0280")),
	} {
		f.Add(append(append(append([]byte{}, conn...), setup...), rest...))
	}
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	p := newPLCFor(f, "decky-fuzz", "plc")
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		w := &boundedWriter{t: t}
		p.serveS7(context.Background(), struct {
			io.Reader
			io.Writer
		}{servicetest.Pieces(data), w}, fuzzEmit(t, &n))
		if n > 2*(len(data)/6+1) {
			t.Fatalf("%d events from %d bytes", n, len(data))
		}
	})
}
