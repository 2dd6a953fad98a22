package mongodb

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"decnet/internal/services/scram"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"decnet/internal/event"
	"decnet/internal/service"
)

// maxDocField bounds the Extended JSON rendering of a command in an event.
const maxDocField = 4 << 10

// maxAwait bounds how long an awaitable hello is held (drivers ask for 10 s).
const maxAwait = 10 * time.Second

// server is what every connection of one running service shares.
type server struct {
	rt          *service.Runtime
	ver         version
	requireAuth bool
	databases   []string
	seed        []byte
	processID   bson.ObjectID
	started     time.Time
	pid         int64
	nextConn    atomic.Int32
	nextReq     atomic.Int32
	build       buildEnv
}

func newServer(rt *service.Runtime) *server {
	ver, ok := parseVersion(rt.Persona(KeyVersion))
	if !ok {
		ver, _ = parseVersion("7.0.14")
	}
	seed, _ := hex.DecodeString(rt.Secret(SecretSeed))
	if len(seed) == 0 { // hand-run without deploy's secrets: stable for this process only
		seed = make([]byte, 32)
		rand.Read(seed)
	}
	dbs := rt.PersonaList(KeyDatabases)
	if _, set := rt.Config.Persona[KeyDatabases]; !set {
		dbs = service.SplitList("crm_prod,billing,customers")
	}
	var n [3]byte
	rand.Read(n[:])
	s := &server{
		rt:          rt,
		ver:         ver,
		requireAuth: rt.PersonaBool(KeyRequireAuth, false),
		databases:   dbs,
		seed:        seed,
		processID:   bson.NewObjectID(),
		// A mongod that has been up for days: an uptime of seconds is a tell.
		started: time.Now().Add(-time.Duration(2+int(n[0])%50) * 24 * time.Hour).Add(-time.Duration(int(n[1])*300) * time.Second),
		pid:     int64(700 + int(n[2])*4),
		build:   buildFor(rt.Distro.Slug, rt.Config.OSFamily),
	}
	s.nextConn.Store(int32(20 + int(n[1])*3))
	s.nextReq.Store(int32(n[0]) * 97)
	return s
}

func run(ctx context.Context, rt *service.Runtime) error {
	s := newServer(rt)
	return rt.ServeTCP(ctx, Port, func(ctx context.Context, c *service.Conn) {
		s.serve(ctx, c)
	})
}

// conn is one client connection.
type conn struct {
	s    *server
	c    *service.Conn
	id   int32
	sasl *conversation
}

// conversation is a SCRAM conversation between saslStart and saslContinue.
type conversation struct {
	mech        mechanism
	first       clientFirst
	serverFirst string
	nonce       string
	salt        []byte
}

// httpReply is what mongod writes to an HTTP request on its driver port.
const httpReply = "HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 84\r\n\r\n" +
	"It looks like you are trying to access MongoDB over HTTP on the native driver port.\n"

func (s *server) serve(ctx context.Context, c *service.Conn) {
	cn := &conn{s: s, c: c, id: s.nextConn.Add(1)}
	for ctx.Err() == nil {
		h, body, err := readMessage(c)
		if err != nil {
			if errors.Is(err, errTooLarge) {
				// mongod checks for "GET " before rejecting the length.
				var hb [4]byte
				bin := appendHeader(hb[:0], h.Length, 0, 0, 0)
				if bytes.Equal(bin[:4], []byte("GET ")) {
					c.Emit(event.Request, map[string]string{"method": "GET", "protocol": "http"}, "HTTP request on the driver port")
					io.WriteString(c, httpReply)
					return
				}
				c.Emit(event.Error, map[string]string{"error": "message length out of bounds", "length": strconv.Itoa(int(h.Length))}, "")
			} else if !errors.Is(err, io.EOF) {
				c.Emit(event.Error, map[string]string{"error": clip(err.Error(), 256)}, "")
			}
			return
		}
		if h.OpCode != opMsg && h.OpCode != opQuery {
			// mongod 6.0+ closes the connection on removed legacy op codes
			// (OP_INSERT, OP_GET_MORE, ...) and on compression it never offered.
			c.Emit(event.Error, map[string]string{"error": "unsupported op code", "op_code": strconv.Itoa(int(h.OpCode))}, "")
			return
		}
		rq, err := parseMessage(h, body)
		if err != nil {
			c.Emit(event.Error, map[string]string{"error": clip(err.Error(), 256), "op_code": strconv.Itoa(int(h.OpCode))}, "")
			// mongod answers a message it cannot parse with an error and closes.
			return
		}
		reply := cn.handle(ctx, rq)
		if rq.moreToCome {
			continue
		}
		doc, err := bson.Marshal(reply)
		if err != nil {
			c.Emit(event.Error, map[string]string{"error": "reply does not encode: " + err.Error()}, "")
			return
		}
		var out []byte
		if rq.op == opQuery {
			out = opReplyMsg(s.nextReq.Add(1), h.RequestID, doc)
		} else {
			out = opMsgReply(s.nextReq.Add(1), h.RequestID, doc)
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// handle records one command and returns the reply document.
func (cn *conn) handle(ctx context.Context, rq *request) D {
	name := firstKey(rq.cmd)
	f := map[string]string{"db": service.Printable(rq.db, 256), "op": "OP_MSG"}
	service.SetPrintableLimit(f, "command", name, 256)
	if rq.op == opQuery {
		f["op"] = "OP_QUERY"
		service.SetPrintableLimit(f, "collection", rq.collection, 256)
	}
	f["document"] = docJSON(rq.cmd)
	for id, docs := range rq.sequences {
		var parts []string
		for _, d := range docs {
			parts = append(parts, docJSON(d))
		}
		f["sequence_"+service.Printable(id, 64)] = service.Printable(strings.Join(parts, "\n"), maxDocField)
	}
	if name != "saslStart" && name != "saslContinue" { // those are recorded as auth events
		cn.c.Emit(event.Command, f, "")
	}
	return cn.dispatch(ctx, rq, name)
}

// docJSON renders a document as relaxed Extended JSON for an event, cut at maxDocField.
func docJSON(d bson.Raw) string {
	j, err := bson.MarshalExtJSON(d, false, false)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return service.Printable(string(j), maxDocField)
}

// cmdError is mongod's error reply.
func cmdError(code int32, codeName, msg string) D {
	return D{{"ok", 0.0}, {"errmsg", msg}, {"code", code}, {"codeName", codeName}}
}

var ok1 = D{{"ok", 1.0}}

// unauthenticated lists what mongod runs before authentication.
var unauthenticated = map[string]bool{
	"hello": true, "isMaster": true, "ismaster": true, "buildInfo": true, "buildinfo": true, "ping": true,
	"saslStart": true, "saslContinue": true, "authenticate": true, "logout": true, "endSessions": true,
	"getnonce": true, "whatsmyuri": true, "connectionStatus": true,
}

func (cn *conn) dispatch(ctx context.Context, rq *request, name string) D {
	s := cn.s
	if rq.op == opQuery && s.ver.atLeast(6, 0) && name != "hello" && name != "isMaster" && name != "ismaster" {
		return cmdError(352, "UnsupportedOpQueryCommand", "Unsupported OP_QUERY command: "+name+
			". The client driver may require an upgrade. For more details see https://dochub.mongodb.org/core/legacy-opcode-removal")
	}
	if s.requireAuth && !unauthenticated[name] {
		if _, known := commands[name]; known {
			return cmdError(13, "Unauthorized", "Command "+name+" requires authentication")
		}
	}
	if name == "hello" || name == "isMaster" || name == "ismaster" {
		return cn.hello(ctx, rq, name)
	}
	if h, ok := commands[name]; ok {
		return h(cn, rq)
	}
	return cmdError(59, "CommandNotFound", "no such command: '"+name+"'")
}

// commands are the handlers by command name (hello is handled apart).
var commands map[string]func(*conn, *request) D

func init() {
	commands = map[string]func(*conn, *request) D{
		"buildInfo":        (*conn).buildInfo,
		"buildinfo":        (*conn).buildInfo,
		"ping":             func(*conn, *request) D { return ok1 },
		"listDatabases":    (*conn).listDatabases,
		"listCollections":  (*conn).listCollections,
		"serverStatus":     (*conn).serverStatus,
		"getLog":           (*conn).getLog,
		"getCmdLineOpts":   (*conn).getCmdLineOpts,
		"hostInfo":         (*conn).hostInfo,
		"whatsmyuri":       func(cn *conn, _ *request) D { return D{{"you", cn.c.Peer.String()}, {"ok", 1.0}} },
		"connectionStatus": connectionStatus,
		"saslStart":        (*conn).saslStart,
		"saslContinue":     (*conn).saslContinue,
		"authenticate":     (*conn).authenticate,
		"logout":           func(*conn, *request) D { return ok1 },
		"endSessions":      func(*conn, *request) D { return ok1 },
		"killCursors":      killCursors,
		"getParameter":     (*conn).getParameter,
		"find":             (*conn).find,
		"aggregate":        emptyCursor,
		"count":            func(*conn, *request) D { return D{{"n", int32(0)}, {"ok", 1.0}} },
		"insert":           insert,
		"update":           func(*conn, *request) D { return D{{"n", int32(0)}, {"nModified", int32(0)}, {"ok", 1.0}} },
		"delete":           func(*conn, *request) D { return D{{"n", int32(0)}, {"ok", 1.0}} },
		"drop":             drop,
		"dropDatabase":     dropDatabase,
		"create":           func(*conn, *request) D { return ok1 },
		"createIndexes": func(*conn, *request) D {
			return D{{"numIndexesBefore", int32(1)}, {"numIndexesAfter", int32(2)}, {"createdCollectionAutomatically", false}, {"ok", 1.0}}
		},
		"currentOp": func(*conn, *request) D { return D{{"inprog", bson.A{}}, {"ok", 1.0}} },
		"usersInfo": func(*conn, *request) D { return D{{"users", bson.A{}}, {"ok", 1.0}} },
		"rolesInfo": func(*conn, *request) D { return D{{"roles", bson.A{}}, {"ok", 1.0}} },
		"dbStats":   (*conn).dbStats,
		"shutdown": func(cn *conn, _ *request) D {
			cn.c.Emit(event.Alert, map[string]string{"alert": "shutdown"}, "")
			return cmdError(13, "Unauthorized", "shutdown must run from localhost when running db without auth")
		},
	}
}

// hello answers hello / isMaster like a standalone mongod. An awaitable hello
// (topologyVersion + maxAwaitTimeMS, the drivers' streaming monitor) is held
// until its wait ends, as mongod holds it while the topology does not change.
func (cn *conn) hello(ctx context.Context, rq *request, name string) D {
	s := cn.s
	if tv, ok := rq.cmd.Lookup("topologyVersion").DocumentOK(); ok {
		if pid, ok := tv.Lookup("processId").ObjectIDOK(); ok && pid == s.processID {
			if ms, ok := rq.cmd.Lookup("maxAwaitTimeMS").AsInt64OK(); ok && ms > 0 {
				wait := min(time.Duration(ms)*time.Millisecond, maxAwait)
				select {
				case <-ctx.Done():
				case <-time.After(wait):
				}
			}
		}
	}
	d := D{}
	if name == "hello" {
		d = append(d, E{"isWritablePrimary", true})
	} else {
		d = append(d, E{"ismaster", true})
	}
	if s.ver.atLeast(4, 4) {
		d = append(d, E{"topologyVersion", D{{"processId", s.processID}, {"counter", int64(0)}}})
	}
	d = append(d,
		E{"maxBsonObjectSize", int32(16777216)},
		E{"maxMessageSizeBytes", int32(48000000)},
		E{"maxWriteBatchSize", int32(100000)},
		E{"localTime", bson.NewDateTimeFromTime(time.Now())},
		E{"logicalSessionTimeoutMinutes", int32(30)},
		E{"connectionId", cn.id},
		E{"minWireVersion", int32(0)},
		E{"maxWireVersion", s.ver.wire()},
		E{"readOnly", false},
	)
	if who, ok := rq.cmd.Lookup("saslSupportedMechs").StringValueOK(); ok && who != "" {
		mechs := bson.A{mechSHA1}
		if s.ver.atLeast(4, 0) {
			mechs = append(mechs, mechSHA256)
		}
		d = append(d, E{"saslSupportedMechs", mechs})
	}
	if spec, ok := rq.cmd.Lookup("speculativeAuthenticate").DocumentOK(); ok && s.ver.atLeast(4, 4) {
		if r := cn.saslStart(&request{op: rq.op, db: rq.db, cmd: spec}); len(r) > 0 && r[len(r)-1].Key == "ok" && r[len(r)-1].Value == 1.0 {
			d = append(d, E{"speculativeAuthenticate", r[:len(r)-1]})
		}
	}
	return append(d, E{"ok", 1.0})
}

// saslStart begins a SCRAM conversation for any user (a honeypot has every user),
// or captures PLAIN credentials and refuses the mechanism as community mongod does.
func (cn *conn) saslStart(rq *request) D {
	mechName, _ := rq.cmd.Lookup("mechanism").StringValueOK()
	_, payload, _ := rq.cmd.Lookup("payload").BinaryOK()
	if p, ok := rq.cmd.Lookup("payload").StringValueOK(); ok { // mongo shell < 3.x sent a string
		payload = []byte(p)
	}
	f := map[string]string{"db": service.Printable(rq.db, 256), "step": "saslStart"}
	service.SetPrintableLimit(f, "mechanism", mechName, 64)
	if mechName == "PLAIN" {
		parts := bytes.SplitN(payload, []byte{0}, 3)
		if len(parts) == 3 {
			service.SetPrintableLimit(f, "username", string(parts[1]), 256)
			f["password"] = service.Printable(string(parts[2]), 1024)
			f["secret_b64"] = base64.StdEncoding.EncodeToString(parts[2])
			f["secret_kind"] = "plaintext"
		}
		f["outcome"] = "failure"
		cn.c.Emit(event.Auth, f, "")
		return cmdError(334, "MechanismUnavailable", "Received authentication for mechanism PLAIN which is not enabled")
	}
	m, ok := mechanisms[mechName]
	if !ok || (mechName == mechSHA256 && !cn.s.ver.atLeast(4, 0)) {
		f["outcome"] = "failure"
		cn.c.Emit(event.Auth, f, "")
		return cmdError(334, "MechanismUnavailable", "Received authentication for mechanism "+mechName+" which is unknown or not enabled")
	}
	first, err := parseClientFirst(string(payload))
	if err != nil {
		f["error"] = "malformed SCRAM message"
		f["raw_b64"] = base64.StdEncoding.EncodeToString(clipBytes(payload, 512))
		cn.c.Emit(event.Auth, f, "")
		return cmdError(17, "ProtocolError", "Incorrect SCRAM client|server nonce")
	}
	service.SetPrintableLimit(f, "username", first.user, 256)
	cn.c.Emit(event.Auth, f, "")
	raw := make([]byte, 24)
	rand.Read(raw)
	nonce := first.Nonce + base64.StdEncoding.EncodeToString(raw)
	salt := cn.s.saltFor(m, rq.db, first.user)
	serverFirst := "r=" + nonce + ",s=" + base64.StdEncoding.EncodeToString(salt) + ",i=" + strconv.Itoa(m.iterations)
	cn.sasl = &conversation{mech: m, first: first, serverFirst: serverFirst, nonce: nonce, salt: salt}
	return D{{"conversationId", int32(1)}, {"done", false}, {"payload", bson.Binary{Data: []byte(serverFirst)}}, {"ok", 1.0}}
}

// saltFor is a user's salt: stable per decky, database, mechanism and user, the
// salt length mongod stores.
func (s *server) saltFor(m mechanism, db, user string) []byte {
	mac := hmac.New(sha256.New, s.seed)
	mac.Write([]byte(m.name + "\x00" + db + "\x00" + user))
	return mac.Sum(nil)[:m.saltLen]
}

// saslContinue captures the client's proof and fails the authentication.
func (cn *conn) saslContinue(rq *request) D {
	conv := cn.sasl
	cn.sasl = nil
	_, payload, _ := rq.cmd.Lookup("payload").BinaryOK()
	f := map[string]string{"db": service.Printable(rq.db, 256), "step": "saslContinue", "outcome": "failure"}
	if conv == nil {
		cn.c.Emit(event.Auth, f, "")
		return cmdError(17, "ProtocolError", "No SASL session state found")
	}
	f["mechanism"] = conv.mech.name
	service.SetPrintableLimit(f, "username", conv.first.user, 256)
	final, err := scram.ParseClientFinal(string(payload), conv.mech.size)
	if err != nil || final.Nonce != conv.nonce {
		f["error"] = "malformed SCRAM message"
		f["raw_b64"] = base64.StdEncoding.EncodeToString(clipBytes(payload, 512))
		cn.c.Emit(event.Auth, f, "")
		return cmdError(18, "AuthenticationFailed", "Authentication failed.")
	}
	capture := Capture{
		Mechanism:   conv.mech.name,
		User:        conv.first.user,
		Iterations:  conv.mech.iterations,
		Salt:        conv.salt,
		AuthMessage: conv.first.Bare + "," + conv.serverFirst + "," + final.WithoutProof,
		Proof:       final.Proof,
	}
	f["secret_kind"] = conv.mech.kind
	f["secret_b64"] = base64.StdEncoding.EncodeToString(final.Proof)
	f["hash"] = capture.String()
	f["salt_b64"] = base64.StdEncoding.EncodeToString(conv.salt)
	f["iterations"] = strconv.Itoa(conv.mech.iterations)
	f["client_nonce"] = service.Printable(conv.first.Nonce, 256)
	f["server_nonce"] = service.Printable(conv.nonce, 512)
	cn.c.Emit(event.Auth, f, "")
	return cmdError(18, "AuthenticationFailed", "Authentication failed.")
}

// authenticate is the legacy command (MONGODB-CR, MONGODB-X509): a MONGODB-CR
// key is md5(nonce + user + md5(user ":mongo:" password)), captured as it comes.
func (cn *conn) authenticate(rq *request) D {
	f := map[string]string{"db": service.Printable(rq.db, 256), "outcome": "failure"}
	mech, _ := rq.cmd.Lookup("mechanism").StringValueOK()
	user, _ := rq.cmd.Lookup("user").StringValueOK()
	service.SetPrintableLimit(f, "mechanism", mech, 64)
	service.SetPrintableLimit(f, "username", user, 256)
	if key, ok := rq.cmd.Lookup("key").StringValueOK(); ok {
		nonce, _ := rq.cmd.Lookup("nonce").StringValueOK()
		f["secret_kind"] = "mongodb_cr"
		f["secret_b64"] = base64.StdEncoding.EncodeToString([]byte(clip(key, 256)))
		f["nonce"] = service.Printable(nonce, 256)
	}
	cn.c.Emit(event.Auth, f, "")
	if mech == "MONGODB-X509" {
		return cmdError(18, "AuthenticationFailed", "No verified subject name available from client")
	}
	if mech == "" {
		mech = "MONGODB-CR" // the command's default, removed in 4.0
	}
	return cmdError(334, "MechanismUnavailable", "Received authentication for mechanism "+mech+" which is unknown or not enabled")
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func clipBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
