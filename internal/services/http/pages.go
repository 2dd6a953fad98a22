package http

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"path"
	"strings"
)

// route answers one request: Basic-protected paths, then the apps, then the web
// server's own content, then the product's 404.
func (s *server) route(rq *request, emit emitFunc) *response {
	p := rq.path
	if s.p.flavor == iis {
		p = strings.ToLower(p) // IIS paths are case-insensitive
	}
	if s.basicProtected(p) {
		return &response{status: 401, headers: []hdr{{"WWW-Authenticate", `Basic realm="` + s.realm + `"`}}}
	}
	if r := s.routeApps(rq, p, emit); r != nil {
		return r
	}
	if r := s.serverContent(rq, p, emit); r != nil {
		return r
	}
	if r := s.methodRule(rq.method, false); r != nil {
		return r
	}
	return &response{status: 404}
}

func (s *server) basicProtected(p string) bool {
	for _, b := range s.basicPaths {
		if p == b || (strings.HasSuffix(b, "/") && strings.HasPrefix(p, b)) || (!strings.HasSuffix(b, "/") && strings.HasPrefix(p, b+"/")) {
			return true
		}
	}
	return false
}

var apacheKnownMethods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true, "CONNECT": true, "OPTIONS": true,
	"TRACE": true, "PATCH": true, "PROPFIND": true, "PROPPATCH": true, "MKCOL": true, "COPY": true, "MOVE": true,
	"LOCK": true, "UNLOCK": true,
}

// methodRule applies the product's rules for methods on its own files (exists) or
// on a missing path; nil means the method goes on to GET/POST handling.
func (s *server) methodRule(method string, exists bool) *response {
	switch s.p.flavor {
	case nginx:
		switch method {
		case "GET", "HEAD":
			return nil
		case "POST":
			if exists {
				return &response{status: 405}
			}
			return nil
		}
		return &response{status: 405}
	case apache:
		switch method {
		case "GET", "HEAD", "POST":
			return nil
		case "OPTIONS":
			return &response{status: 200, ctype: "text/html", body: []byte{}, headers: []hdr{{"Allow", "GET,POST,OPTIONS,HEAD"}}}
		}
		if apacheKnownMethods[method] {
			return &response{status: 405, headers: []hdr{{"Allow", "GET,POST,OPTIONS,HEAD"}}}
		}
		return &response{status: 501}
	default: // iis
		switch method {
		case "GET", "HEAD":
			return nil
		case "OPTIONS":
			return &response{status: 200, body: []byte{}, headers: []hdr{{"Allow", "OPTIONS, TRACE, GET, HEAD, POST"}, {"Public", "OPTIONS, TRACE, GET, HEAD, POST"}}}
		case "POST":
			if exists {
				return &response{status: 405, headers: []hdr{{"Allow", "GET, HEAD, OPTIONS, TRACE"}}}
			}
			return nil
		}
		return &response{status: 405, headers: []hdr{{"Allow", "GET, HEAD, OPTIONS, TRACE"}}}
	}
}

// staticFile serves a file of the web server itself.
func (s *server) staticFile(method, name, ctype string, body []byte) *response {
	if r := s.methodRule(method, true); r != nil {
		return r
	}
	return &response{status: 200, static: true, mtime: s.p.mtimeFor(name), ctype: ctype, body: body}
}

func debianFamily(distro string) bool {
	switch distro {
	case "debian", "ubuntu22", "ubuntu20", "kali":
		return true
	}
	return false
}

func rhelFamily(distro string) bool {
	switch distro {
	case "rocky9", "centos7", "fedora":
		return true
	}
	return false
}

// serverContent is what the web server serves itself: the index page, robots.txt,
// favicon.ico and product specifics (Apache's .ht* and server-status, ...).
func (s *server) serverContent(rq *request, p string, emit emitFunc) *response {
	if p == "/" {
		switch s.index {
		case "login":
			return s.loginApp(rq, emit)
		case "wordpress":
			return s.wpHome(rq)
		case "phpmyadmin":
			return s.pmaLogin(rq, emit)
		case "blank":
			return s.staticFile(rq.method, "index.html", "text/html", []byte{})
		}
		return s.defaultIndex(rq)
	}
	if name, ok := s.indexFileName(); ok && p == "/"+name {
		return s.defaultIndex(rq)
	}
	switch p {
	case "/robots.txt":
		if s.apps["wordpress"] || s.index == "wordpress" {
			return s.wpRobots(rq)
		}
		return s.staticFile(rq.method, "robots.txt", "text/plain", []byte("User-agent: *\nDisallow: /admin/\nDisallow: /backup/\n"))
	case "/favicon.ico":
		ct := "image/x-icon"
		if s.p.flavor == apache {
			ct = "image/vnd.microsoft.icon"
		}
		return s.staticFile(rq.method, "favicon.ico", ct, favicon(s.p.decky))
	}
	base := path.Base(p)
	switch s.p.flavor {
	case apache:
		// <FilesMatch "^\.ht"> Require all denied; mod_status allows only local.
		if strings.HasPrefix(base, ".ht") || p == "/server-status" || strings.HasPrefix(p, "/server-status/") {
			return &response{status: 403}
		}
	case iis:
		if p == "/iisstart.png" {
			return s.staticFile(rq.method, "iisstart.png", "image/png", iisStartPNG())
		}
	}
	return nil
}

func (s *server) indexFileName() (string, bool) {
	switch s.p.flavor {
	case nginx:
		if debianFamily(s.p.distro) {
			return "index.nginx-debian.html", true
		}
		return "index.html", true
	case apache:
		if rhelFamily(s.p.distro) {
			return "", false
		}
		return "index.html", true
	default:
		return "iisstart.htm", true
	}
}

// defaultIndex is the product's page of a fresh install.
func (s *server) defaultIndex(rq *request) *response {
	name, _ := s.indexFileName()
	switch s.p.flavor {
	case apache:
		switch {
		case debianFamily(s.p.distro):
			return s.staticFile(rq.method, name, "text/html", apacheDebianIndex(s.p.distro))
		case rhelFamily(s.p.distro):
			// welcome.conf: "/" has no index, so mod_autoindex is denied and the
			// 403 ErrorDocument is the test page (status 403, served as a file).
			if r := s.methodRule(rq.method, true); r != nil {
				return r
			}
			return &response{status: 403, static: true, mtime: s.p.mtimeFor(".noindex.html"), ctype: "text/html; charset=UTF-8", body: rhelTestPage(s.p.display)}
		}
		return s.staticFile(rq.method, name, "text/html", []byte("<html><body><h1>It works!</h1></body></html>\n"))
	case iis:
		title := "IIS Windows"
		if s.p.osFamily == "windows_server" {
			title = "IIS Windows Server"
		}
		return s.staticFile(rq.method, name, "text/html", iisStart(title))
	default:
		return s.staticFile(rq.method, name, "text/html", []byte(nginxWelcome))
	}
}

// nginxWelcome is nginx's index.html (and Debian's index.nginx-debian.html), 612 bytes.
const nginxWelcome = `<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
    body {
        width: 35em;
        margin: 0 auto;
        font-family: Tahoma, Verdana, Arial, sans-serif;
    }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
`

func iisStart(title string) []byte {
	lines := []string{
		`<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">`,
		`<html xmlns="http://www.w3.org/1999/xhtml">`,
		`<head>`,
		`<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1" />`,
		`<title>` + title + `</title>`,
		`<style type="text/css">`,
		`<!--`,
		`body {`,
		"\tcolor:#000000;",
		"\tbackground-color:#0072C6;",
		"\tmargin:0;",
		`}`,
		``,
		`#container {`,
		"\tmargin-left:auto;",
		"\tmargin-right:auto;",
		"\ttext-align:center;",
		"\t}",
		``,
		`a img {`,
		"\tborder:none;",
		`}`,
		``,
		`-->`,
		`</style>`,
		`</head>`,
		`<body>`,
		`<div id="container">`,
		`<a href="http://go.microsoft.com/fwlink/?linkid=66138&amp;clcid=0x409"><img src="iisstart.png" alt="IIS" width="960" height="600" /></a>`,
		`</div>`,
		`</body>`,
		`</html>`,
	}
	return []byte(strings.Join(lines, "\r\n"))
}

func apacheDebianIndex(distro string) []byte {
	name, docs := "Debian", "/usr/share/doc/apache2/README.Debian.gz"
	if strings.HasPrefix(distro, "ubuntu") {
		name = "Ubuntu"
	}
	return []byte(`<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
    <title>Apache2 ` + name + ` Default Page: It works</title>
    <style type="text/css" media="screen">
  * {
    margin: 0px 0px 0px 0px;
    padding: 0px 0px 0px 0px;
  }

  body, html {
    padding: 3px 3px 3px 3px;

    background-color: #D8DBE2;

    font-family: Verdana, sans-serif;
    font-size: 11pt;
    text-align: center;
  }

  div.main_page {
    position: relative;
    display: table;

    width: 800px;

    margin-bottom: 3px;
    margin-left: auto;
    margin-right: auto;
    padding: 0px 0px 0px 0px;

    border-width: 2px;
    border-color: #212738;
    border-style: solid;

    background-color: #FFFFFF;

    text-align: center;
  }
    </style>
  </head>
  <body>
    <div class="main_page">
      <div class="page_header floating_element">
        <img src="/icons/openlogo-75.png" alt="` + name + ` Logo" class="floating_element"/>
        <span class="floating_element">
          Apache2 ` + name + ` Default Page
        </span>
      </div>
      <div class="content_section floating_element">
        <div class="section_header section_header_red">
          <div id="about"></div>
          It works!
        </div>
        <div class="content_section_text">
          <p>
                This is the default welcome page used to test the correct 
                operation of the Apache2 server after installation on ` + name + ` systems.
                If you can read this page, it means that the Apache HTTP server installed at
                this site is working properly. You should <b>replace this file</b> (located at
                <tt>/var/www/html/index.html</tt>) before continuing to operate your HTTP server.
          </p>
          <p>
                If you are a normal user of this web site and don't know what this page is
                about, this probably means that the site is currently unavailable due to
                maintenance.
                If the problem persists, please contact the site's administrator.
          </p>
        </div>
        <div class="section_header">
          <div id="changes"></div>
                Configuration Overview
        </div>
        <div class="content_section_text">
          <p>
                ` + name + `'s Apache2 default configuration is different from the
                upstream default configuration, and split into several files optimized for
                interaction with ` + name + ` tools. The configuration system is
                <b>fully documented in
                ` + docs + `</b>. Refer to this for the full
                documentation.
          </p>
        </div>
      </div>
    </div>
    <div class="validator">
    </div>
  </body>
</html>

`)
}

func rhelTestPage(display string) []byte {
	product := display
	if i := strings.Index(display, " ("); i > 0 {
		product = display[:i]
	}
	if f := strings.Fields(product); len(f) > 0 {
		// "Rocky Linux 9.4" -> "Rocky Linux"
		if last := f[len(f)-1]; strings.ContainsAny(last, "0123456789") {
			product = strings.Join(f[:len(f)-1], " ")
		}
	}
	return []byte(`<!doctype html>
<html>
  <head>
    <meta charset='utf-8'>
    <meta name='viewport' content='width=device-width, initial-scale=1'>
    <title>HTTP Server Test Page powered by: ` + product + `</title>
    <style type="text/css">
      html { height: 100%; width: 100%; }
      body { background-color: #ffffff; color: #000000; font-size: 0.9rem; font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; margin: 0; padding: 0; }
      h1 { text-align: center; font-weight: bold; font-size: 1.5rem; }
      .row { display: flex; }
      .col-sm-12 { flex: 1; padding: 1rem; }
    </style>
  </head>
  <body>
    <h1>HTTP Server <strong>Test Page</strong></h1>
    <div class='row'>
      <div class='col-sm-12 col-md-6 col-md-6 '></div>
        <p class="summary">This page is used to test the proper operation of
            an HTTP server after it has been installed on a ` + product + ` system.
            If you can read this page, it means that the software is working
            correctly.</p>
    </div>
    <div class='row'>
      <div class='col-sm-12 col-md-6 col-md-6 col-md-offset-12'>
        <div class='section'>
          <h2>Just visiting?</h2>
          <p>This website you are visiting is either experiencing problems or
          could be going through maintenance.</p>
          <p>If you would like the let the administrators of this website know
          that you've seen this page instead of the page you've expected, you
          should send them an email. In general, mail sent to the name
          "webmaster" and directed to the website's domain should reach the
          appropriate person.</p>
        </div>
      </div>
      <div class='col-sm-12 col-md-6 col-md-6 col-md-offset-12'>
        <div class='section'>
          <h2>Get started with ` + product + ` web server</h2>
          <p>You may now add content to the webroot directory. Note that until
          you do so, people visiting your website will see this page, and not
          your content.</p>
          <p>For systems using the Apache HTTP Server:
          You may now add content to the directory <code>/var/www/html/</code>.
          To prevent this page from ever being used, follow the instructions
          in the file <code>/etc/httpd/conf.d/welcome.conf</code>.</p>
        </div>
      </div>
    </div>
    <footer class="col-sm-12">
      <a href="https://apache.org">Apache&trade;</a> is a registered trademark of <a href="https://apache.org">the Apache Software Foundation</a> in the United States and/or other countries.<br />
    </footer>
  </body>
</html>
`)
}

// favicon is a 16×16 32-bit icon (the classic 1150-byte favicon.ico) whose colour
// is stable per decky.
func favicon(seed string) []byte {
	var h uint32 = 2166136261
	for i := 0; i < len(seed); i++ {
		h = (h ^ uint32(seed[i])) * 16777619
	}
	b := make([]byte, 0, 1150)
	b = append(b, 0, 0, 1, 0, 1, 0)                     // ICONDIR: icon, one image
	b = append(b, 16, 16, 0, 0, 1, 0, 32, 0)            // 16x16, 1 plane, 32 bpp
	b = binary.LittleEndian.AppendUint32(b, 40+1024+64) // image size
	b = binary.LittleEndian.AppendUint32(b, 22)         // offset
	b = binary.LittleEndian.AppendUint32(b, 40)         // BITMAPINFOHEADER
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint32(b, 32) // height doubled (XOR + AND masks)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, 32)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 1024+64)
	b = append(b, make([]byte, 16)...) // resolution, colours
	fg := [4]byte{byte(h), byte(h >> 8), byte(h >> 16), 0xff}
	for y := 0; y < 16; y++ {
		for x := 0; x < 16; x++ {
			if x >= 3 && x <= 12 && y >= 3 && y <= 12 {
				b = append(b, fg[:]...)
			} else {
				b = append(b, 0, 0, 0, 0)
			}
		}
	}
	return append(b, make([]byte, 64)...) // AND mask
}

// iisStartPNG stands in for iisstart.png: a small valid PNG in IIS blue.
func iisStartPNG() []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			img.Set(x, y, color.NRGBA{0x00, 0x72, 0xc6, 0xff})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic("encode built-in PNG: " + err.Error()) // an in-memory encode cannot fail
	}
	return b.Bytes()
}
