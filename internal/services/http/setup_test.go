package http

import (
	"strings"
	"testing"

	"decnet/internal/catalog"
	"decnet/internal/service"
)

func TestResolvePersona(t *testing.T) {
	distro := func(slug string) catalog.Distro {
		d, ok := catalog.LookupDistro(slug)
		if !ok {
			t.Fatalf("catalog has no distro %q", slug)
		}
		return d
	}
	tests := []struct {
		server, header, family, distro string
		want                           flavor
		wantHeader                     string
	}{
		{"", "", "linux", "ubuntu22", nginx, "nginx/1.18.0 (Ubuntu)"},
		{"", "", "linux", "debian", apache, "Apache/2.4.61 (Debian)"},
		{"", "", "linux", "rocky9", apache, "Apache/2.4.57 (Rocky Linux)"},
		{"", "", "linux", "alpine", nginx, "nginx/1.24.0"},
		{"", "", "windows", "windows10", iis, "Microsoft-IIS/10.0"},
		{"", "", "windows_server", "windows2019", iis, "Microsoft-IIS/10.0"},
		{"", "", "windows_server", "debian", iis, "Microsoft-IIS/10.0"}, // the family decides
		{"nginx", "", "linux", "debian", nginx, "nginx/1.22.1"},
		{"apache", "", "linux", "ubuntu22", apache, "Apache/2.4.52 (Ubuntu)"},
		{"apache", "", "windows", "windows10", apache, "Apache/2.4.62 (Win64)"},
		{"iis", "", "linux", "debian", iis, "Microsoft-IIS/10.0"},
		{"", "nginx", "linux", "ubuntu22", nginx, "nginx"},
		{"apache", "Apache", "linux", "ubuntu22", apache, "Apache"},
		{"", "", "cisco", "ios", nginx, "nginx/1.24.0"}, // distro names no known product
	}
	for _, tc := range tests {
		f, h := resolvePersona(tc.server, tc.header, tc.family, distro(tc.distro))
		if f != tc.want || h != tc.wantHeader {
			t.Errorf("resolvePersona(%q, %q, %q, %s) = %v %q, want %v %q", tc.server, tc.header, tc.family, tc.distro, f, h, tc.want, tc.wantHeader)
		}
	}
}

func TestKeys(t *testing.T) {
	spec, ok := service.Lookup("http")
	if !ok {
		t.Fatal("http is not registered")
	}
	if len(spec.Ports) != 1 || spec.Ports[0].Number != 80 || spec.Ports[0].Proto != "tcp" {
		t.Errorf("ports %v", spec.Ports)
	}
	tests := []struct {
		key, value, want string
		bad              bool
	}{
		{"server", "nginx", "nginx", false},
		{"server", "iis", "iis", false},
		{"server", "lighttpd", "", true},
		{"server_header", "nginx/1.18.0 (Ubuntu)", "nginx/1.18.0 (Ubuntu)", false},
		{"server_header", "x\r\nSet-Cookie: a=b", "", true},
		{"server_header", strings.Repeat("a", 300), "", true},
		{"index", "wordpress", "wordpress", false},
		{"index", "drupal", "", true},
		{"apps", " login , wordpress ", "login,wordpress", false},
		{"apps", "login,joomla", "", true},
		{"apps", "", "", false},
		{"basic_auth_paths", "/admin/, /manager/html", "/admin/,/manager/html", false},
		{"basic_auth_paths", "admin", "", true},
		{"realm", "Tomcat Manager Application", "Tomcat Manager Application", false},
		{"realm", `a"b`, "", true},
		{"nope", "x", "", true},
	}
	for _, tc := range tests {
		got, err := spec.ValidateKey(tc.key, tc.value)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("ValidateKey(%q, %q) = %q, %v; want %q, error %v", tc.key, tc.value, got, err, tc.want, tc.bad)
		}
	}
	r, err := spec.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	if r["apps"] != "login,wordpress,phpmyadmin" || r["basic_auth_paths"] != "/admin/,/manager/html" || r["index"] != "default" || r["realm"] != "Restricted" {
		t.Errorf("defaults %v", r)
	}
}
