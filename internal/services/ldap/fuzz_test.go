package ldap

import (
	"bufio"
	"strings"
	"testing"

	"decnet/internal/service/servicetest"
)

// FuzzParse feeds arbitrary bytes through the framing and the LDAP decoder: neither
// may panic, and a parsed request's rendered filter stays within its bound.
func FuzzParse(f *testing.F) {
	f.Add(nmapSearchProbe)
	f.Add([]byte("\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x02\x04\x00\x80\x00"))                                 // nmap LDAPBindReq
	f.Add([]byte("\x30\x25\x02\x01\x01\x60\x20\x02\x01\x03\x04\x12cn=admin,dc=corp,\x80\x07Secret1"))         // bind (length off)
	f.Add([]byte("\x30\x1f\x02\x01\x01\x60\x1a\x02\x01\x03\x04\x00\xa3\x13\x04\x0aDIGEST-MD5\x04\x05hello"))  // SASL
	f.Add([]byte("\x30\x05\x02\x01\x03\x42\x00"))                                                             // unbind
	f.Add([]byte("\x30\x1d\x02\x01\x02\x77\x18\x80\x161.3.6.1.4.1.1466.20037"))                               // StartTLS
	f.Add([]byte("\x30\x06\x02\x01\x09\x50\x01\x04"))                                                         // abandon
	f.Add([]byte("\x30\x84\x00\x00\x00\x10\x02\x01\x02\x63\x0b\x04\x00\x0a\x01\x02\x0a\x01\x00\x02\x01\x00")) // truncated search
	f.Add([]byte("\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x89\x00"))                                 // sicily discovery
	f.Add([]byte("\x30\x17\x02\x01\x02\x60\x12\x02\x01\x03\x04\x04NTLM\x8a\x07NTLMSSP"))                      // sicily negotiate (cut)
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(servicetest.Pieces(data))
		for i := 0; i < 4; i++ {
			raw, err := readMessage(br, 4096)
			if err != nil {
				return
			}
			if len(raw) > 4096+6 {
				t.Fatalf("message of %d bytes passed a 4096 bound", len(raw))
			}
			rq, err := parseRequest(raw)
			if err != nil {
				continue
			}
			if len(rq.Filter) > maxFilter+8*maxValue {
				t.Fatalf("filter of %d bytes", len(rq.Filter))
			}
			if strings.ContainsAny(rq.Filter, "\n\x00") {
				t.Fatalf("unescaped byte in filter %q", rq.Filter)
			}
		}
	})
}
