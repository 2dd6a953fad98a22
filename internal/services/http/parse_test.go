package http

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestCleanPath(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "/", true},
		{"/", "/", true},
		{"//a///b", "/a/b", true},
		{"/a/./b/", "/a/b/", true},
		{"/a/b/..", "/a/", true},
		{"/a/../../etc/passwd", "", false},
		{"/..", "", false},
		{"/a\x00b", "", false},
		{"/wp-admin/", "/wp-admin/", true},
	}
	for _, tc := range tests {
		got, ok := cleanPath(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("cleanPath(%q) = %q %v, want %q %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestReadHead(t *testing.T) {
	long := strings.Repeat("a", 9000)
	tests := []struct {
		name, in string
		want     string
		err      error
	}{
		{"simple", "GET / HTTP/1.1\r\nHost: x\r\n\r\nBODY", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", nil},
		{"bare LF", "GET / HTTP/1.0\n\n", "GET / HTTP/1.0\n\n", nil},
		{"leading empty lines", "\r\n\r\nGET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.0\r\n\r\n", nil},
		{"eof", "", "", io.EOF},
		{"truncated", "GET / HTTP/1.1\r\nHost", "GET / HTTP/1.1\r\nHost", io.ErrUnexpectedEOF},
		{"long request line", "GET /" + long + " HTTP/1.1\r\n\r\n", "", errURITooLong},
		{"long header line", "GET / HTTP/1.1\r\nX: " + long + "\r\n\r\n", "", errHeaderTooLarge},
		{"too many lines", "GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", 101) + "\r\n", "", errHeaderTooLarge},
		{"total too large", "GET / HTTP/1.1\r\n" + strings.Repeat("X: "+strings.Repeat("b", 4000)+"\r\n", 5) + "\r\n", "", errHeaderTooLarge},
	}
	for _, tc := range tests {
		got, err := readHead(bufio.NewReader(strings.NewReader(tc.in)), 8192, 16<<10)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.err)
		}
		if tc.err == nil || tc.err == io.ErrUnexpectedEOF {
			if string(got) != tc.want {
				t.Errorf("%s: head %q, want %q", tc.name, got, tc.want)
			}
		}
		if len(got) > 16<<10 {
			t.Errorf("%s: head of %d bytes exceeds the bound", tc.name, len(got))
		}
	}
}

func TestValidHost(t *testing.T) {
	for h, want := range map[string]bool{"example.com": true, "10.0.0.1:8080": true, "[::1]:80": true, "a b": false, "a/b": false, "..": false, "a\x00": false, "": true} {
		if validHost(h) != want {
			t.Errorf("validHost(%q) = %v", h, !want)
		}
	}
}
