package syslogfwd

import (
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	fp := strings.Repeat("ab", 32)
	tests := []struct {
		in      string
		want    Target
		wantErr string
	}{
		{in: "10.0.0.5:514", want: Target{Network: "udp", Addr: "10.0.0.5:514"}},
		{in: "udp://logs:5140", want: Target{Network: "udp", Addr: "logs:5140"}},
		{in: "tcp://[::1]:601", want: Target{Network: "tcp", Addr: "[::1]:601"}},
		{in: "tls://logs:6514", want: Target{Network: "tls", Addr: "logs:6514"}},
		{in: "tls://logs:6514?ca=/etc/ca.pem&cert=/c.pem&key=/k.pem&servername=x",
			want: Target{Network: "tls", Addr: "logs:6514", CAFile: "/etc/ca.pem", CertFile: "/c.pem", KeyFile: "/k.pem", ServerName: "x"}},
		{in: "tls://logs:6514?fingerprint=sha256:" + fp, want: Target{Network: "tls", Addr: "logs:6514", Fingerprint: "sha256:" + fp}},
		{in: "logs", wantErr: "want host:port"},
		{in: ":514", wantErr: "want host:port"},
		{in: "logs:0", wantErr: "port"},
		{in: "logs:70000", wantErr: "port"},
		{in: "http://logs:80", wantErr: "unknown scheme"},
		{in: "tcp://logs:601?ca=x", wantErr: "takes no options"},
		{in: "tls://logs:6514?cert=/c.pem", wantErr: "both cert= and key="},
		{in: "tls://logs:6514?bogus=1", wantErr: "unknown option"},
		{in: "tls://logs:6514?ca=a&ca=b", wantErr: "given 2 times"},
		{in: "tls://logs:6514?fingerprint=abcd", wantErr: "not a SHA-256"},
	}
	for _, tc := range tests {
		got, err := ParseTarget(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseTarget(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"h:1", "udp://h:514", "tls://h:6514?ca=/x&fingerprint=00", "tcp://[::1]:9", "::::", "tls://?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			return
		}
		if tg.Network != "udp" && tg.Network != "tcp" && tg.Network != "tls" {
			t.Fatalf("accepted network %q", tg.Network)
		}
		if _, err := ParseTarget(tg.String()); err != nil {
			t.Fatalf("String() of an accepted target does not parse: %v", err)
		}
	})
}
