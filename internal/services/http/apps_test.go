package http

import (
	"bytes"
	"encoding/base64"
	"io"
	nethttp "net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service/servicetest"
)

func xmlrpcCall(t *testing.T, h *servicetest.Harness, body string) string {
	t.Helper()
	resp, err := nethttp.Post("http://"+h.Addr(80)+"/xmlrpc.php", "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/xml; charset=UTF-8" {
		t.Errorf("xmlrpc status %d type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return string(b)
}

func TestXMLRPC(t *testing.T) {
	h := start(t, nginxCfg, nil)
	out := xmlrpcCall(t, h, `<?xml version="1.0"?><methodCall><methodName>system.listMethods</methodName><params></params></methodCall>`)
	if !strings.Contains(out, "<value><string>wp.getUsersBlogs</string></value>") || !strings.Contains(out, "<value><string>system.multicall</string></value>") {
		t.Errorf("listMethods: %s", out)
	}

	out = xmlrpcCall(t, h, `<?xml version="1.0"?><methodCall><methodName>wp.getUsersBlogs</methodName><params>
<param><value><string>admin</string></value></param><param><value><string>p&lt;a&amp;ss]"</string></value></param></params></methodCall>`)
	if !strings.Contains(out, "<int>403</int>") || !strings.Contains(out, "Incorrect username or password.") {
		t.Errorf("getUsersBlogs: %s", out)
	}
	h.Wait(t, 5*time.Second, "xmlrpc auth", servicetest.Type(event.Auth, "method=xmlrpc", "username=admin", `password=p<a&ss]"`, "app=wordpress", "xmlrpc_method=wp.getUsersBlogs", "outcome=failure"))

	// Untyped values are strings; base64 values are decoded.
	out = xmlrpcCall(t, h, `<methodCall><methodName>system.multicall</methodName><params><param><value><array><data>
<value><struct><member><name>methodName</name><value><string>wp.getUsersBlogs</string></value></member>
<member><name>params</name><value><array><data><value>bob</value><value>one</value></data></array></value></member></struct></value>
<value><struct><member><name>methodName</name><value><string>wp.getProfile</string></value></member>
<member><name>params</name><value><array><data><value><int>1</int></value><value>carol</value><value><base64>`+base64.StdEncoding.EncodeToString([]byte("tw\xffo"))+`</base64></value></data></array></value></member></struct></value>
<value><struct><member><name>methodName</name><value><string>system.multicall</string></value></member></struct></value>
</data></array></value></param></params></methodCall>`)
	if strings.Count(out, "Incorrect username or password.") != 2 || !strings.Contains(out, "Recursive calls to system.multicall are forbidden") {
		t.Errorf("multicall: %s", out)
	}
	h.Wait(t, 5*time.Second, "multicall 1", servicetest.Type(event.Auth, "username=bob", "password=one"))
	h.Wait(t, 5*time.Second, "multicall 2", servicetest.Type(event.Auth, "username=carol", "password=tw\xffo", "xmlrpc_method=wp.getProfile"))

	for body, want := range map[string]string{
		`<methodCall><methodName>nope.x</methodName></methodCall>`: "server error. requested method nope.x does not exist.",
		`<methodCall>`: "parse error. not well formed",
		`<methodCall><methodName>wp.getUsersBlogs</methodName><params><param><value>a</value></param></params>`:                                                                   "parse error. not well formed",
		`<methodCall><methodName>wp.getUsersBlogs</methodName><params><param><value>a</value></param></params></methodCall>`:                                                      "Insufficient arguments",
		`<methodCall><methodName>demo.addTwoNumbers</methodName><params><param><value><int>2</int></value></param><param><value><i4>3</i4></value></param></params></methodCall>`: "<int>5</int>",
		`<methodCall><methodName>pingback.ping</methodName><params><param><value>http://169.254.169.254/</value></param></params></methodCall>`:                                   "<int>16</int>",
	} {
		if out := xmlrpcCall(t, h, body); !strings.Contains(out, want) {
			t.Errorf("%s: answer lacks %q:\n%s", body, want, out)
		}
	}
}

func TestWordPressPaths(t *testing.T) {
	h := start(t, apacheCfg, nil)
	client := &nethttp.Client{CheckRedirect: func(*nethttp.Request, []*nethttp.Request) error { return nethttp.ErrUseLastResponse }}
	resp, err := client.Get("http://" + h.Addr(80) + "/wp-admin/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wantLoc := "http://" + h.Addr(80) + "/wp-login.php?redirect_to=" + url.QueryEscape("http://"+h.Addr(80)+"/wp-admin/") + "&reauth=1"
	if resp.StatusCode != 302 || resp.Header.Get("Location") != wantLoc {
		t.Errorf("/wp-admin/: %d %q, want 302 %q", resp.StatusCode, resp.Header.Get("Location"), wantLoc)
	}
	resp, err = client.Get("http://" + h.Addr(80) + "/wp-login.php")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(b, []byte(`name="log"`)) || !bytes.Contains(b, []byte(`name="pwd"`)) || !strings.HasPrefix(resp.Header.Get("Set-Cookie"), "wordpress_test_cookie=WP%20Cookie%20check") {
		t.Errorf("wp-login.php form: %s", b)
	}
	resp, err = client.Get("http://" + h.Addr(80) + "/robots.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(b), "User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n") {
		t.Errorf("robots.txt %q", b)
	}
}

func TestPhpMyAdminToken(t *testing.T) {
	h := start(t, nginxCfg, nil)
	tok := regexp.MustCompile(`name="token" value="([0-9a-f]{32})"`)
	var seen []string
	for range 2 {
		resp, err := nethttp.Get("http://" + h.Addr(80) + "/phpmyadmin/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := tok.FindSubmatch(b)
		if m == nil {
			t.Fatalf("no token in the phpMyAdmin login page")
		}
		seen = append(seen, string(m[1]))
		if !strings.HasPrefix(resp.Header.Get("Set-Cookie"), "phpMyAdmin=") {
			t.Errorf("no phpMyAdmin session cookie")
		}
	}
	if seen[0] == seen[1] {
		t.Error("phpMyAdmin token does not change between page loads")
	}
	_, body := post(t, h, "/phpmyadmin/index.php", url.Values{"pma_username": {"root"}, "pma_password": {"toor"}, "token": {seen[0]}, "server": {"1"}})
	if !strings.Contains(body, "Access denied for user &#39;root&#39;@&#39;localhost&#39; (using password: YES)") {
		t.Errorf("phpMyAdmin failure page lacks the MySQL error")
	}
}

func TestFormParsing(t *testing.T) {
	tests := []struct {
		name, ctype, body, query string
		user, pass               string
		ok                       bool
	}{
		{"urlencoded", "application/x-www-form-urlencoded", "log=a%20b&pwd=c%2Bd+e", "", "a b", "c+d e", true},
		{"no type (curl -d)", "", "username=x&password=y", "", "x", "y", true},
		{"bad escape skipped", "", "user=%zz&user=ok&pass=p", "", "ok", "p", true},
		{"json", "application/json", `{"email":"e@x","password":"pw","n":1}`, "", "e@x", "pw", true},
		{"multipart", `multipart/form-data; boundary=XX`, "--XX\r\nContent-Disposition: form-data; name=\"pma_username\"\r\n\r\nroot\r\n--XX\r\nContent-Disposition: form-data; name=\"pma_password\"\r\n\r\nsecret\r\n--XX--\r\n", "", "root", "secret", true},
		{"query", "", "", "user=q&pass=w", "q", "w", true},
		{"empty password", "", "log=admin&pwd=", "", "admin", "", true},
		{"no password", "", "log=admin", "", "", "", false},
		{"priority", "", "user=u&log=l&pass=p&pwd=w", "", "l", "w", true},
	}
	for _, tc := range tests {
		q, _ := url.ParseQuery(tc.query)
		form := parseForm(tc.ctype, []byte(tc.body), q)
		u, p, ok := formCredentials(form)
		if u != tc.user || p != tc.pass || ok != tc.ok {
			t.Errorf("%s: got %q %q %v, want %q %q %v", tc.name, u, p, ok, tc.user, tc.pass, tc.ok)
		}
	}
}
