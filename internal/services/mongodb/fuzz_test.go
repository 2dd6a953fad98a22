package mongodb

import (
	"decnet/internal/services/scram"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

func opMsgBytes(doc bson.D, reqID int32) []byte {
	b, _ := bson.Marshal(doc)
	body := append(binary.LittleEndian.AppendUint32(nil, 0), 0)
	body = append(body, b...)
	return append(appendHeader(nil, int32(16+len(body)), reqID, 0, opMsg), body...)
}

// FuzzParseMessage feeds arbitrary bytes to the framing and message parsers.
func FuzzParseMessage(f *testing.F) {
	f.Add(opMsgBytes(bson.D{{Key: "hello", Value: 1}, {Key: "$db", Value: "admin"}}, 1))
	doc, _ := bson.Marshal(bson.D{{Key: "isMaster", Value: 1}})
	q := binary.LittleEndian.AppendUint32(nil, 0)
	q = append(append(q, "admin.$cmd"...), 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff)
	q = append(q, doc...)
	f.Add(append(appendHeader(nil, int32(16+len(q)), 2, 0, opQuery), q...))
	seq := []byte{1, 0, 0, 0, 0}
	seq = append(seq, "documents\x00"...)
	seq = append(seq, doc...)
	binary.LittleEndian.PutUint32(seq[1:], uint32(len(seq)-1))
	msg := opMsgBytes(bson.D{{Key: "insert", Value: "c"}, {Key: "$db", Value: "x"}}, 3)
	msg = append(msg, seq...)
	binary.LittleEndian.PutUint32(msg, uint32(len(msg)))
	f.Add(msg)
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, body, err := readMessage(servicetest.Pieces(b))
		if err != nil {
			return
		}
		if int(h.Length) != 16+len(body) {
			t.Fatalf("length %d, body %d", h.Length, len(body))
		}
		rq, err := parseMessage(h, body)
		if err == nil && rq.cmd == nil {
			t.Fatal("parsed message without a command document")
		}
	})
}

// FuzzSCRAM feeds arbitrary text to the SCRAM message and capture parsers.
func FuzzSCRAM(f *testing.F) {
	f.Add("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", "c=biws,r=fyko,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=")
	f.Add("n,a=x,n=us=2Cer=3D,r=abc", "c=biws,r=abc,p=AAAA")
	f.Add("$mongodb-scram-sha-1$10000$c2FsdA==$bj11LHI9eA==$AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "")
	f.Fuzz(func(t *testing.T, first, final string) {
		if cf, err := parseClientFirst(first); err == nil && cf.Nonce == "" {
			t.Fatal("empty nonce accepted")
		}
		for _, m := range mechanisms {
			if cf, err := scram.ParseClientFinal(final, m.size); err == nil && len(cf.Proof) != m.size {
				t.Fatal("wrong proof size accepted")
			}
		}
		if c, err := ParseCapture(first); err == nil {
			if _, err := ParseCapture(c.String()); err != nil {
				t.Fatalf("capture does not round-trip: %v", err)
			}
		}
	})
}

// FuzzServer sends arbitrary bytes to a running instance: it must never panic
// (a handler panic is an error event) and must keep serving.
func FuzzServer(f *testing.F) {
	h := servicetest.Start(f, "mongodb", service.Config{})
	f.Add(opMsgBytes(bson.D{{Key: "buildInfo", Value: 1}, {Key: "$db", Value: "admin"}}, 1))
	f.Add(opMsgBytes(bson.D{{Key: "saslStart", Value: 1}, {Key: "mechanism", Value: "SCRAM-SHA-256"}, {Key: "payload", Value: bson.Binary{Data: []byte("n,,n=a,r=b")}}, {Key: "$db", Value: "admin"}}, 2))
	f.Add(opMsgBytes(bson.D{{Key: "listDatabases", Value: 1}, {Key: "$db", Value: "admin"}}, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := net.Dial("tcp", h.Addr(Port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(b)
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		buf := make([]byte, 1<<16)
		c.Read(buf)
		for _, e := range h.Events() {
			if e.Type == "error" && e.Fields["error"] == "internal error" {
				t.Fatalf("handler panicked on %q", b)
			}
		}
	})
}
