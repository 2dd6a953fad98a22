package http

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"html"
	"net/url"
	"strconv"
	"strings"

	"decnet/internal/event"
)

// Versions the fake apps claim.
const (
	wpVersion  = "6.4.3"
	pmaVersion = "5.2.1deb1"
)

// maxMulticall bounds the calls of one system.multicall (brute-force tools pack
// hundreds of wp.getUsersBlogs into one request).
const maxMulticall = 1000

// routeApps answers the fake applications' paths; nil when p is none of theirs.
func (s *server) routeApps(rq *request, p string, emit emitFunc) *response {
	if s.apps["login"] {
		switch p {
		case "/login", "/login.php", "/admin", "/admin.php", "/admin/login", "/admin/login.php", "/user/login":
			return s.loginApp(rq, emit)
		}
	}
	if s.apps["wordpress"] || s.index == "wordpress" {
		if r := s.wordpress(rq, p, emit); r != nil {
			return r
		}
	}
	if s.apps["phpmyadmin"] || s.index == "phpmyadmin" {
		switch p {
		case "/phpmyadmin":
			return s.dirRedirect(rq, p)
		case "/phpmyadmin/", "/phpmyadmin/index.php":
			return s.pmaLogin(rq, emit)
		}
	}
	return nil
}

// siteURL is the base URL apps put in links: the Host the attacker used when it is
// plausible, else the decky's hostname.
func (s *server) siteURL(rq *request) string {
	h := rq.host
	if h == "" || !validHost(h) {
		h = s.p.hostname
	}
	return "http://" + h
}

// dirRedirect is the web server's own redirect from a directory name to its slash form.
func (s *server) dirRedirect(rq *request, p string) *response {
	loc := s.siteURL(rq) + p + "/"
	if q := rq.query.Encode(); q != "" && strings.Contains(rq.uri, "?") {
		loc += "?" + rq.uri[strings.Index(rq.uri, "?")+1:]
	}
	return &response{status: 301, location: loc}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// phpSessionID is a PHP session id (session.sid_length 26, bits_per_character 5).
func phpSessionID() string {
	const alphabet = "0123456789abcdefghijklmnopqrstuv"
	b := make([]byte, 26)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return string(b)
}

// page is an application (PHP) page.
func page(status int, body string, headers ...hdr) *response {
	return &response{status: status, dynamic: true, ctype: "text/html; charset=UTF-8", body: []byte(body), headers: headers}
}

// appMethod answers methods an application page does not take.
func (s *server) appMethod(rq *request) *response {
	switch rq.method {
	case "GET", "HEAD", "POST":
		return nil
	}
	if r := s.methodRule(rq.method, true); r != nil {
		return r
	}
	return &response{status: 405}
}

// ---- generic login page ----

func (s *server) loginApp(rq *request, emit emitFunc) *response {
	if r := s.appMethod(rq); r != nil {
		return r
	}
	msg := ""
	user := ""
	if rq.method == "POST" {
		if u, _, ok := s.captureForm(rq, "login", emit); ok {
			user = u
			msg = `<div class="alert alert-danger" role="alert">Invalid username or password.</div>`
		}
	}
	hs := []hdr{
		{"Set-Cookie", "PHPSESSID=" + phpSessionID() + "; path=/; HttpOnly"},
		{"Expires", "Thu, 19 Nov 1981 08:52:00 GMT"},
		{"Cache-Control", "no-store, no-cache, must-revalidate"},
		{"Pragma", "no-cache"},
	}
	title := html.EscapeString(s.p.hostname)
	return page(200, `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - `+title+`</title>
<style>
body{font-family:-apple-system,"Segoe UI",Roboto,Arial,sans-serif;background:#f2f4f7;margin:0}
.box{width:340px;margin:10vh auto;background:#fff;padding:32px;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:20px;margin:0 0 20px}
label{display:block;font-size:13px;margin:12px 0 4px}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:8px;border:1px solid #ccd;border-radius:4px}
button{margin-top:20px;width:100%;padding:10px;background:#2d6cdf;color:#fff;border:0;border-radius:4px}
.alert{background:#fdecea;color:#8a1f11;padding:8px;border-radius:4px;font-size:13px}
</style>
</head>
<body>
<div class="box">
<h1>`+title+` administration</h1>
`+msg+`
<form method="post" action="`+html.EscapeString(rq.path)+`" autocomplete="off">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="`+html.EscapeString(user)+`" autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password">
<button type="submit">Sign in</button>
</form>
</div>
</body>
</html>
`, hs...)
}

// ---- WordPress ----

func (s *server) wordpress(rq *request, p string, emit emitFunc) *response {
	switch {
	case p == "/wp-login.php":
		return s.wpLogin(rq, emit)
	case p == "/wp-admin":
		return s.dirRedirect(rq, p)
	case p == "/wp-admin/admin-ajax.php":
		if r := s.appMethod(rq); r != nil {
			return r
		}
		r := page(400, "0", hdr{"X-Robots-Tag", "noindex"}, hdr{"X-Content-Type-Options", "nosniff"}, hdr{"Expires", "Wed, 11 Jan 1984 05:00:00 GMT"}, hdr{"Cache-Control", "no-cache, must-revalidate, max-age=0"}, hdr{"Referrer-Policy", "strict-origin-when-cross-origin"}, hdr{"X-Frame-Options", "SAMEORIGIN"})
		return r
	case strings.HasPrefix(p, "/wp-admin/"):
		if r := s.appMethod(rq); r != nil {
			return r
		}
		site := s.siteURL(rq)
		loc := site + "/wp-login.php?redirect_to=" + url.QueryEscape(site+rq.uri) + "&reauth=1"
		r := page(302, "", hdr{"Expires", "Wed, 11 Jan 1984 05:00:00 GMT"}, hdr{"Cache-Control", "no-cache, must-revalidate, max-age=0"})
		r.reason = "Found"
		r.location = loc
		return r
	case p == "/xmlrpc.php":
		return s.xmlrpc(rq, emit)
	case p == "/wp-json" || strings.HasPrefix(p, "/wp-json/"):
		return s.wpJSON(rq, p)
	case p == "/wp-config.php", p == "/wp-content/", p == "/wp-includes/", p == "/wp-content/plugins/", p == "/wp-content/themes/", p == "/wp-content/uploads/":
		// PHP runs and prints nothing ("Silence is golden").
		if r := s.appMethod(rq); r != nil {
			return r
		}
		return page(200, "")
	case p == "/wp-content" || p == "/wp-includes":
		return s.dirRedirect(rq, p)
	}
	return nil
}

var wpNoCache = []hdr{
	{"Expires", "Wed, 11 Jan 1984 05:00:00 GMT"},
	{"Cache-Control", "no-cache, must-revalidate, max-age=0"},
}

func (s *server) wpSiteName() string { return s.p.hostname }

// wpLoginMessage is WordPress's error for a failed login.
func wpLoginMessage(site, user, pass string) string {
	lost := `<a href="` + site + `/wp-login.php?action=lostpassword">Lost your password?</a>`
	switch {
	case user == "":
		return "<strong>Error:</strong> The username field is empty."
	case pass == "":
		return "<strong>Error:</strong> The password field is empty."
	case strings.Contains(user, "@"):
		return "<strong>Error:</strong> The password you entered for the email address <strong>" + html.EscapeString(user) + "</strong> is incorrect. " + lost
	}
	return "<strong>Error:</strong> The password you entered for the username <strong>" + html.EscapeString(user) + "</strong> is incorrect. " + lost
}

func (s *server) wpLogin(rq *request, emit emitFunc) *response {
	if r := s.appMethod(rq); r != nil {
		return r
	}
	site := html.EscapeString(s.siteURL(rq))
	name := html.EscapeString(s.wpSiteName())
	errDiv, user := "", ""
	if rq.method == "POST" {
		if u, pw, ok := s.captureForm(rq, "wordpress", emit); ok {
			user = u
			errDiv = `	<div id="login_error" class="notice notice-error">	` + wpLoginMessage(site, u, pw) + "<br />\n</div>\n"
		}
	}
	hs := append([]hdr{}, wpNoCache...)
	hs = append(hs,
		hdr{"Set-Cookie", "wordpress_test_cookie=WP%20Cookie%20check; path=/; HttpOnly"},
		hdr{"X-Frame-Options", "SAMEORIGIN"},
		hdr{"Referrer-Policy", "strict-origin-when-cross-origin"},
	)
	css := func(id, path string) string {
		return `<link rel='stylesheet' id='` + id + `-css' href='` + site + path + `?ver=` + wpVersion + `' media='all' />` + "\n"
	}
	body := `<!DOCTYPE html>
<html lang="en-US">
	<head>
	<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
	<title>Log In &lsaquo; ` + name + ` &#8212; WordPress</title>
	<meta name='robots' content='max-image-preview:large, noindex, noarchive' />
` + css("dashicons", "/wp-includes/css/dashicons.min.css") + css("buttons", "/wp-includes/css/buttons.min.css") +
		css("forms", "/wp-admin/css/forms.min.css") + css("l10n", "/wp-admin/css/l10n.min.css") + css("login", "/wp-admin/css/login.min.css") +
		`	<meta name='referrer' content='strict-origin-when-cross-origin' />
		<meta name="viewport" content="width=device-width" />
		</head>
	<body class="login no-js login-action-login wp-core-ui  locale-en-us">
	<script type="text/javascript">
/* <![CDATA[ */
document.body.className = document.body.className.replace('no-js','js');
/* ]]> */
</script>
				<div id="login">
		<h1><a href="https://wordpress.org/">Powered by WordPress</a></h1>
	` + errDiv + `
		<form name="loginform" id="loginform" action="` + site + `/wp-login.php" method="post">
			<p>
				<label for="user_login">Username or Email Address</label>
				<input type="text" name="log" id="user_login" class="input" value="` + html.EscapeString(user) + `" size="20" autocapitalize="off" autocomplete="username" required="required" />
			</p>

			<div class="user-pass-wrap">
				<label for="user_pass">Password</label>
				<div class="wp-pwd">
					<input type="password" name="pwd" id="user_pass" class="input password-input" value="" size="20" autocomplete="current-password" spellcheck="false" required="required" />
					<button type="button" class="button button-secondary wp-hide-pw hide-if-no-js" data-toggle="0" aria-label="Show password">
						<span class="dashicons dashicons-visibility" aria-hidden="true"></span>
					</button>
				</div>
			</div>
						<p class="forgetmenot"><input name="rememberme" type="checkbox" id="rememberme" value="forever"  /> <label for="rememberme">Remember Me</label></p>
			<p class="submit">
				<input type="submit" name="wp-submit" id="wp-submit" class="button button-primary button-large" value="Log In" />
									<input type="hidden" name="redirect_to" value="` + site + `/wp-admin/" />
									<input type="hidden" name="testcookie" value="1" />
			</p>
		</form>

					<p id="nav">
				<a href="` + site + `/wp-login.php?action=lostpassword">Lost your password?</a>			</p>
					<p id="backtoblog">
			<a href="` + site + `/">&larr; Go to ` + name + `</a>		</p>
			</div>
	</body>
</html>
`
	return page(200, body, hs...)
}

func (s *server) wpHome(rq *request) *response {
	if r := s.appMethod(rq); r != nil {
		return r
	}
	site := html.EscapeString(s.siteURL(rq))
	name := html.EscapeString(s.wpSiteName())
	return page(200, `<!DOCTYPE html>
<html lang="en-US">
<head>
	<meta charset="UTF-8" />
	<meta name="viewport" content="width=device-width, initial-scale=1" />
<meta name='robots' content='max-image-preview:large' />
<title>`+name+`</title>
<link rel="alternate" type="application/rss+xml" title="`+name+` &raquo; Feed" href="`+site+`/feed/" />
<link rel="https://api.w.org/" href="`+site+`/wp-json/" />
<link rel="EditURI" type="application/rsd+xml" title="RSD" href="`+site+`/xmlrpc.php?rsd" />
<meta name="generator" content="WordPress `+wpVersion+`" />
</head>
<body class="home blog wp-embed-responsive">
<div class="wp-site-blocks">
<header class="wp-block-template-part"><p class="wp-block-site-title"><a href="`+site+`" target="_self" rel="home">`+name+`</a></p></header>
<main class="wp-block-group">
<h2 class="wp-block-post-title"><a href="`+site+`/2024/01/15/hello-world/" target="_self">Hello world!</a></h2>
<div class="entry-content wp-block-post-content"><p>Welcome to WordPress. This is your first post. Edit or delete it, then start writing!</p></div>
</main>
<footer class="wp-block-template-part"><p class="has-text-align-center">Proudly powered by <a href="https://wordpress.org" rel="nofollow">WordPress</a></p></footer>
</div>
</body>
</html>
`, hdr{"Link", `<` + s.siteURL(rq) + `/wp-json/>; rel="https://api.w.org/"`})
}

func (s *server) wpRobots(rq *request) *response {
	if r := s.appMethod(rq); r != nil {
		return r
	}
	r := page(200, "User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n\nSitemap: "+s.siteURL(rq)+"/wp-sitemap.xml\n", hdr{"X-Robots-Tag", "noindex, follow"})
	r.ctype = "text/plain; charset=utf-8"
	return r
}

func jsonString(v string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (s *server) wpJSON(rq *request, p string) *response {
	if r := s.appMethod(rq); r != nil {
		return r
	}
	site := s.siteURL(rq)
	hs := []hdr{
		{"X-Robots-Tag", "noindex"},
		{"Link", `<` + site + `/wp-json/>; rel="https://api.w.org/"`},
		{"X-Content-Type-Options", "nosniff"},
		{"Access-Control-Expose-Headers", "X-WP-Total, X-WP-TotalPages, Link"},
		{"Access-Control-Allow-Headers", "Authorization, X-WP-Nonce, Content-Disposition, Content-MD5, Content-Type"},
	}
	var status int
	var body string
	switch strings.TrimSuffix(p, "/") {
	case "/wp-json":
		status = 200
		hs = append(hs, hdr{"Allow", "GET"})
		body = `{"name":` + jsonString(s.wpSiteName()) + `,"description":"","url":` + jsonString(site) + `,"home":` + jsonString(site) +
			`,"gmt_offset":0,"timezone_string":"","namespaces":["oembed\/1.0","wp\/v2","wp-site-health\/v1","wp-block-editor\/v1"],` +
			`"authentication":{"application-passwords":{"endpoints":{"authorization":` + jsonString(site+"/wp-admin/authorize-application.php") + `}}},` +
			`"routes":{"\/":{"namespace":"","methods":["GET"],"endpoints":[{"methods":["GET"],"args":{"context":{"default":"view","required":false}}}],"_links":{"self":[{"href":` + jsonString(site+"/wp-json/") + `}]}}},` +
			`"site_logo":0,"site_icon":0,"site_icon_url":""}`
	case "/wp-json/wp/v2/users":
		status = 200
		hs = append(hs, hdr{"X-WP-Total", "1"}, hdr{"X-WP-TotalPages", "1"}, hdr{"Allow", "GET"})
		body = `[{"id":1,"name":"admin","url":"","description":"","link":` + jsonString(site+"/author/admin/") + `,"slug":"admin","avatar_urls":{},"meta":[],"_links":{"self":[{"href":` + jsonString(site+"/wp-json/wp/v2/users/1") + `}],"collection":[{"href":` + jsonString(site+"/wp-json/wp/v2/users") + `}]}}]`
	default:
		status = 404
		body = `{"code":"rest_no_route","message":"No route was found matching the URL and request method.","data":{"status":404}}`
	}
	r := page(status, body, hs...)
	r.ctype = "application/json; charset=UTF-8"
	return r
}

// ---- WordPress XML-RPC ----

type rpcValue struct {
	Str     *string     `xml:"string"`
	Int     *string     `xml:"int"`
	I4      *string     `xml:"i4"`
	Bool    *string     `xml:"boolean"`
	Double  *string     `xml:"double"`
	B64     *string     `xml:"base64"`
	Array   []rpcValue  `xml:"array>data>value"`
	Members []rpcMember `xml:"struct>member"`
	Text    string      `xml:",chardata"`
}

type rpcMember struct {
	Name  string   `xml:"name"`
	Value rpcValue `xml:"value"`
}

type rpcCall struct {
	XMLName xml.Name   `xml:"methodCall"`
	Method  string     `xml:"methodName"`
	Params  []rpcValue `xml:"params>param>value"`
}

// str is an XML-RPC value as a string (a value without a type is a string).
func (v rpcValue) str() string {
	for _, p := range []*string{v.Str, v.Int, v.I4, v.Bool, v.Double} {
		if p != nil {
			return *p
		}
	}
	if v.B64 != nil {
		if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(*v.B64)); err == nil {
			return string(b)
		}
		return *v.B64
	}
	return v.Text
}

func (v rpcValue) member(name string) (rpcValue, bool) {
	for _, m := range v.Members {
		if m.Name == name {
			return m.Value, true
		}
	}
	return rpcValue{}, false
}

// wpMethods is WordPress's system.listMethods answer, in its order.
var wpMethods = []string{
	"system.multicall", "system.listMethods", "system.getCapabilities", "demo.addTwoNumbers", "demo.sayHello",
	"pingback.extensions.getPingbacks", "pingback.ping", "mt.publishPost", "mt.getTrackbackPings", "mt.supportedTextFilters",
	"mt.supportedMethods", "mt.setPostCategories", "mt.getPostCategories", "mt.getRecentPostTitles", "mt.getCategoryList",
	"metaWeblog.getUsersBlogs", "metaWeblog.deletePost", "metaWeblog.newMediaObject", "metaWeblog.getCategories",
	"metaWeblog.getRecentPosts", "metaWeblog.getPost", "metaWeblog.editPost", "metaWeblog.newPost", "blogger.deletePost",
	"blogger.editPost", "blogger.newPost", "blogger.getRecentPosts", "blogger.getPost", "blogger.getUserInfo",
	"blogger.getUsersBlogs", "wp.restoreRevision", "wp.getRevisions", "wp.getPostTypes", "wp.getPostType", "wp.getPostFormats",
	"wp.getMediaLibrary", "wp.getMediaItem", "wp.getCommentStatusList", "wp.newComment", "wp.editComment", "wp.deleteComment",
	"wp.getComments", "wp.getComment", "wp.setOptions", "wp.getOptions", "wp.getPageTemplates", "wp.getPageStatusList",
	"wp.getPostStatusList", "wp.getCommentCount", "wp.deleteFile", "wp.uploadFile", "wp.suggestCategories", "wp.deleteCategory",
	"wp.newCategory", "wp.getTags", "wp.getCategories", "wp.getAuthors", "wp.getPageList", "wp.editPage", "wp.deletePage",
	"wp.newPage", "wp.getPages", "wp.getPage", "wp.editProfile", "wp.getProfile", "wp.getUsers", "wp.getUser", "wp.getTaxonomies",
	"wp.getTaxonomy", "wp.getTerms", "wp.getTerm", "wp.deleteTerm", "wp.editTerm", "wp.newTerm", "wp.getPosts", "wp.getPost",
	"wp.deletePost", "wp.editPost", "wp.newPost", "wp.getUsersBlogs",
}

var wpMethodSet = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range wpMethods {
		m[n] = true
	}
	return m
}()

// rpcResult is one method's answer: a fault or a value (already XML).
type rpcResult struct {
	fault  bool
	code   int
	msg    string
	valXML string
}

func rpcFault(code int, msg string) rpcResult { return rpcResult{fault: true, code: code, msg: msg} }

func rpcString(s string) string { return "<string>" + html.EscapeString(s) + "</string>" }

func (r rpcResult) faultStruct() string {
	return "<struct>\n  <member><name>faultCode</name><value><int>" + strconv.Itoa(r.code) + "</int></value></member>\n  <member><name>faultString</name><value>" + rpcString(r.msg) + "</value></member>\n</struct>"
}

func (s *server) xmlrpc(rq *request, emit emitFunc) *response {
	if rq.method != "POST" {
		if r := s.appMethod(rq); r != nil {
			return r
		}
		r := page(405, "XML-RPC server accepts POST requests only.", hdr{"Allow", "POST"})
		r.ctype = "text/plain;charset=UTF-8"
		return r
	}
	var call rpcCall
	var res rpcResult
	if err := xml.Unmarshal(rq.body, &call); err != nil {
		res = rpcFault(-32700, "parse error. not well formed")
	} else {
		res = s.rpcDispatch(rq, call.Method, call.Params, emit, true)
	}
	var out string
	if res.fault {
		out = `<?xml version="1.0" encoding="UTF-8"?>
<methodResponse>
  <fault>
    <value>
      ` + res.faultStruct() + `
    </value>
  </fault>
</methodResponse>
`
	} else {
		out = `<?xml version="1.0" encoding="UTF-8"?>
<methodResponse>
  <params>
    <param>
      <value>
      ` + res.valXML + `
      </value>
    </param>
  </params>
</methodResponse>
`
	}
	r := page(200, out)
	r.ctype = "text/xml; charset=UTF-8"
	r.close = true // IXR_Server sends Connection: close
	return r
}

// rpcCreds says where a method takes its username and password.
func rpcCreds(method string) (ui, pi int, ok bool) {
	switch {
	case method == "wp.getUsersBlogs":
		return 0, 1, true
	case strings.HasPrefix(method, "wp."), strings.HasPrefix(method, "blogger."), strings.HasPrefix(method, "metaWeblog."), strings.HasPrefix(method, "mt."):
		if method == "mt.supportedTextFilters" || method == "mt.supportedMethods" || method == "mt.getTrackbackPings" {
			return 0, 0, false
		}
		return 1, 2, true
	}
	return 0, 0, false
}

func (s *server) rpcDispatch(rq *request, method string, params []rpcValue, emit emitFunc, top bool) rpcResult {
	switch method {
	case "system.listMethods":
		var b strings.Builder
		b.WriteString("<array><data>\n")
		for _, m := range wpMethods {
			b.WriteString("  <value>" + rpcString(m) + "</value>\n")
		}
		b.WriteString("</data></array>")
		return rpcResult{valXML: b.String()}
	case "system.getCapabilities":
		return rpcResult{valXML: "<struct>\n" +
			"  <member><name>xmlrpc</name><value><struct>\n  <member><name>specUrl</name><value><string>http://www.xmlrpc.com/spec</string></value></member>\n  <member><name>specVersion</name><value><int>1</int></value></member>\n</struct></value></member>\n" +
			"  <member><name>faults_interop</name><value><struct>\n  <member><name>specUrl</name><value><string>http://xmlrpc-epi.sourceforge.net/specs/rfc.fault_codes.php</string></value></member>\n  <member><name>specVersion</name><value><int>20010516</int></value></member>\n</struct></value></member>\n" +
			"  <member><name>system.multicall</name><value><struct>\n  <member><name>specUrl</name><value><string>http://www.xmlrpc.com/discuss/msgReader$1208</string></value></member>\n  <member><name>specVersion</name><value><int>1</int></value></member>\n</struct></value></member>\n" +
			"</struct>"}
	case "demo.sayHello":
		return rpcResult{valXML: rpcString("Hello!")}
	case "demo.addTwoNumbers":
		if len(params) < 2 {
			return rpcFault(400, "Insufficient arguments passed to this XML-RPC method.")
		}
		a, _ := strconv.ParseInt(strings.TrimSpace(params[0].str()), 10, 32)
		b, _ := strconv.ParseInt(strings.TrimSpace(params[1].str()), 10, 32)
		return rpcResult{valXML: "<int>" + strconv.FormatInt(a+b, 10) + "</int>"}
	case "pingback.ping":
		// Never fetched: pingbacks are how WordPress sites are used for SSRF and DDoS.
		return rpcFault(16, "The source URL does not exist.")
	case "system.multicall":
		if !top {
			return rpcFault(-32600, "Recursive calls to system.multicall are forbidden")
		}
		if len(params) < 1 {
			return rpcFault(400, "Insufficient arguments passed to this XML-RPC method.")
		}
		var b strings.Builder
		b.WriteString("<array><data>\n")
		for i, c := range params[0].Array {
			if i >= maxMulticall {
				break
			}
			name, _ := c.member("methodName")
			ps, _ := c.member("params")
			r := s.rpcDispatch(rq, name.str(), ps.Array, emit, false)
			if r.fault {
				b.WriteString("  <value>" + r.faultStruct() + "</value>\n")
			} else {
				b.WriteString("  <value><array><data>\n  <value>" + r.valXML + "</value>\n</data></array></value>\n")
			}
		}
		b.WriteString("</data></array>")
		return rpcResult{valXML: b.String()}
	}
	if !wpMethodSet[method] {
		return rpcFault(-32601, "server error. requested method "+method+" does not exist.")
	}
	ui, pi, ok := rpcCreds(method)
	if !ok {
		return rpcFault(403, "Sorry, you are not allowed to access details about this site.")
	}
	if len(params) <= pi {
		return rpcFault(400, "Insufficient arguments passed to this XML-RPC method.")
	}
	user, pass := params[ui].str(), params[pi].str()
	f := authFields(user, pass, "wordpress", rq.uri, "xmlrpc")
	f["xmlrpc_method"] = clip(method, 128)
	emit(event.Auth, f, "")
	return rpcFault(403, "Incorrect username or password.")
}

// ---- phpMyAdmin ----

func (s *server) pmaLogin(rq *request, emit emitFunc) *response {
	if r := s.appMethod(rq); r != nil {
		return r
	}
	errHTML := ""
	if rq.method == "POST" {
		if u, pw, ok := s.captureForm(rq, "phpmyadmin", emit); ok {
			using := "YES"
			if pw == "" {
				using = "NO"
			}
			if u == "" {
				u = "root"
			}
			errHTML = `<div class="alert alert-danger" role="alert"><img src="themes/dot.gif" title="" alt="" class="icon ic_s_error"> Cannot log in to the MySQL server</div>
<div class="alert alert-danger" role="alert"><img src="themes/dot.gif" title="" alt="" class="icon ic_s_error"> mysqli::real_connect(): (HY000/1045): Access denied for user ` + html.EscapeString("'"+u+"'@'localhost'") + ` (using password: ` + using + `)</div>
`
		}
	}
	token := randHex(16)
	hs := []hdr{
		{"Set-Cookie", "phpMyAdmin=" + randHex(16) + "; path=/phpmyadmin/; HttpOnly; SameSite=Strict"},
		{"Set-Cookie", "pma_lang=en; expires=Mon, 01 Jan 2035 00:00:00 GMT; Max-Age=31536000; path=/phpmyadmin/; HttpOnly; SameSite=Strict"},
		{"X-Frame-Options", "DENY"},
		{"Referrer-Policy", "no-referrer"},
		{"X-XSS-Protection", "1; mode=block"},
		{"X-Content-Type-Options", "nosniff"},
		{"X-Permitted-Cross-Domain-Policies", "none"},
		{"X-Robots-Tag", "noindex, nofollow"},
		{"Expires", "Thu, 19 Nov 1981 08:52:00 GMT"},
		{"Cache-Control", "no-store, no-cache, must-revalidate,  pre-check=0, post-check=0, max-age=0"},
		{"Pragma", "no-cache"},
	}
	return page(200, `<!doctype html>
<html lang="en" dir="ltr">
<head>
  <meta charset="utf-8">
  <meta name="referrer" content="no-referrer">
  <meta name="robots" content="noindex,nofollow,notranslate">
  <meta name="google" content="notranslate">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="icon" href="favicon.ico" type="image/x-icon">
  <link rel="shortcut icon" href="favicon.ico" type="image/x-icon">
  <link rel="stylesheet" type="text/css" href="./themes/pmahomme/jquery/jquery-ui.css">
  <link rel="stylesheet" type="text/css" href="js/vendor/codemirror/lib/codemirror.css?v=`+pmaVersion+`">
  <link rel="stylesheet" type="text/css" href="./themes/pmahomme/css/theme.css?v=`+pmaVersion+`">
  <title>phpMyAdmin</title>
    <script data-cfasync="false" type="text/javascript" src="js/vendor/jquery/jquery.min.js?v=`+pmaVersion+`"></script>
  <script data-cfasync="false" type="text/javascript" src="js/dist/shared.js?v=`+pmaVersion+`"></script>
</head>
<body id="loginform">
<div id="page_content">
<div class="container">
<a href="./url.php?url=https%3A%2F%2Fwww.phpmyadmin.net%2F" target="_blank" rel="noopener noreferrer" class="logo">
  <img src="./themes/pmahomme/img/logo_right.png" id="imLogo" name="imLogo" alt="phpMyAdmin" border="0">
</a>
<h1>
  Welcome to <bdo dir="ltr" lang="en">phpMyAdmin</bdo>
</h1>

<noscript>
  <div class="alert alert-danger" role="alert">Javascript must be enabled past this point!</div>
</noscript>
`+errHTML+`
<div class="card">
<form method="post" id="login_form" action="index.php?route=/" name="login_form" class="disableAjax hide js-show">
  <input type="hidden" name="set_session" value="`+randHex(13)+`">
  <div class="card-header">
    Log in
    <a href="./doc/html/index.html" target="documentation"><img src="themes/dot.gif" title="Documentation" alt="Documentation" class="icon ic_b_help"></a>
  </div>
  <div class="card-body">
    <div class="row mb-3">
      <label for="input_username" class="col-sm-4 col-form-label">Username:</label>
      <div class="col-sm-8">
        <input type="text" name="pma_username" id="input_username" value="" class="form-control" autocomplete="username" spellcheck="false" autofocus>
      </div>
    </div>
    <div class="row">
      <label for="input_password" class="col-sm-4 col-form-label">Password:</label>
      <div class="col-sm-8">
        <input type="password" name="pma_password" id="input_password" value="" class="form-control" autocomplete="current-password" spellcheck="false">
      </div>
    </div>
    <input type="hidden" name="server" value="1">
  </div>
  <div class="card-footer">
    <input class="btn btn-primary" value="Log in" type="submit" id="input_go">
    <input type="hidden" name="route" value="/">
    <input type="hidden" name="token" value="`+token+`">
  </div>
</form>
</div>
</div>
</div>
</body>
</html>
`, hs...)
}
