package mongodb

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

func start(t *testing.T, persona map[string]string) *servicetest.Harness {
	t.Helper()
	return servicetest.Start(t, "mongodb", service.Config{Hostname: "db01.corp.local", Persona: persona})
}

// client connects the official Go driver (a real client) to the harness.
//
// Server selection may take longer than one connect timeout: a monitoring
// handshake that stalls on a loaded machine (seen once in CI) is retried after
// it. The shortest heartbeat keeps the driver's streaming hello, which mongod
// (and this service) holds for up to a heartbeat, from holding Disconnect for
// the default 10 s.
func client(t *testing.T, h *servicetest.Harness, cred *options.Credential) *mongo.Client {
	t.Helper()
	opts := options.Client().ApplyURI("mongodb://" + h.Addr(Port) + "/?directConnection=true").
		SetServerSelectionTimeout(20 * time.Second).SetConnectTimeout(5 * time.Second).
		SetHeartbeatInterval(500 * time.Millisecond)
	if cred != nil {
		opts.SetAuth(*cred)
	}
	c, err := mongo.Connect(opts)
	if err != nil {
		t.Fatalf("mongo.Connect: %v", err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	return c
}

func TestDriverListDatabasesAndBuildInfo(t *testing.T) {
	h := start(t, map[string]string{"databases": "crm_prod,payroll"})
	c := client(t, h, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	names, err := c.ListDatabaseNames(ctx, bson.D{})
	if err != nil {
		t.Fatalf("ListDatabaseNames: %v", err)
	}
	if got := strings.Join(names, ","); got != "admin,config,crm_prod,local,payroll" {
		t.Errorf("databases = %s", got)
	}
	var bi struct {
		Version      string `bson:"version"`
		VersionArray []int  `bson:"versionArray"`
	}
	if err := c.Database("admin").RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&bi); err != nil {
		t.Fatalf("buildInfo: %v", err)
	}
	if bi.Version != "7.0.14" || len(bi.VersionArray) != 4 || bi.VersionArray[0] != 7 {
		t.Errorf("buildInfo = %+v", bi)
	}
	cur, err := c.Database("crm_prod").Collection("users").Find(ctx, bson.D{})
	if err != nil {
		t.Fatalf("find: %v", err)
	}
	var users []bson.M
	if err := cur.All(ctx, &users); err != nil || len(users) != 3 || users[0]["email"] != "admin@corp.local" {
		t.Errorf("bait users = %v, %v", users, err)
	}
	h.Wait(t, 5*time.Second, "listDatabases command", servicetest.Type(event.Command, "command=listDatabases", "db=admin", "op=OP_MSG"))
	h.Wait(t, 5*time.Second, "find command", servicetest.Type(event.Command, "command=find", "db=crm_prod"))
}

// TestDriverSCRAMCapture authenticates with the driver's SCRAM-SHA-256 and
// SCRAM-SHA-1 and checks that the captured exchange verifies the password (and
// not another one), and that the driver sees mongod's failure.
func TestDriverSCRAMCapture(t *testing.T) {
	for _, mech := range []string{mechSHA256, mechSHA1} {
		t.Run(mech, func(t *testing.T) {
			h := start(t, nil)
			const user, pass = "backup,admin=x", "S3cr3t!pass"
			c := client(t, h, &options.Credential{AuthMechanism: mech, Username: user, Password: pass, AuthSource: "admin"})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := c.Ping(ctx, nil)
			if err == nil || !strings.Contains(err.Error(), "Authentication failed.") || !strings.Contains(err.Error(), "AuthenticationFailed") {
				t.Fatalf("Ping error = %v, want mongod's Authentication failed.", err)
			}
			e := h.Wait(t, 5*time.Second, "auth capture", servicetest.Type(event.Auth, "step=saslContinue", "mechanism="+mech, "username="+user))
			if e.AttackerIP != "127.0.0.1" || e.Fields["outcome"] != "failure" || e.Fields["secret_kind"] != mechanisms[mech].kind {
				t.Errorf("auth event %+v", e)
			}
			capt, err := ParseCapture(e.Fields["hash"])
			if err != nil {
				t.Fatalf("ParseCapture(%q): %v", e.Fields["hash"], err)
			}
			if capt.User != user || capt.Iterations != mechanisms[mech].iterations || len(capt.Salt) != mechanisms[mech].saltLen {
				t.Errorf("capture %+v", capt)
			}
			if !Verify(capt, pass) {
				t.Errorf("the captured proof does not verify the client's password")
			}
			if Verify(capt, pass+"x") {
				t.Errorf("the captured proof verifies a wrong password")
			}
		})
	}
}

// TestSaltStable checks that a user's salt is the same on every conversation
// (mongod stores one salt per user).
func TestSaltStable(t *testing.T) {
	h := start(t, nil)
	var salts []string
	for i := 0; i < 2; i++ {
		c := client(t, h, &options.Credential{AuthMechanism: mechSHA256, Username: "root", Password: "x"})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c.Ping(ctx, nil)
		cancel()
	}
	for _, e := range h.Events() {
		if e.Type == event.Auth && e.Fields["step"] == "saslContinue" {
			salts = append(salts, e.Fields["salt_b64"])
		}
	}
	if len(salts) != 2 || salts[0] != salts[1] {
		t.Errorf("salts %v, want two equal", salts)
	}
}

// rawQuery sends one OP_QUERY command and returns the reply document.
func rawQuery(t *testing.T, c net.Conn, coll string, cmd bson.D) bson.Raw {
	t.Helper()
	doc, err := bson.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	body := binary.LittleEndian.AppendUint32(nil, 0)
	body = append(append(body, coll...), 0)
	body = binary.LittleEndian.AppendUint32(body, 0)
	body = binary.LittleEndian.AppendUint32(body, 0xffffffff)
	body = append(body, doc...)
	msg := appendHeader(nil, int32(16+len(body)), 7, 0, opQuery)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(append(msg, body...)); err != nil {
		t.Fatal(err)
	}
	h, rb, err := readMessage(c)
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	if h.OpCode != opReply || h.ResponseTo != 7 || len(rb) < 20 {
		t.Fatalf("reply header %+v", h)
	}
	return bson.Raw(rb[20:])
}

func TestOPQueryLegacy(t *testing.T) {
	for _, tc := range []struct {
		version string
		wantErr bool
		wire    int32
	}{{"4.4.29", false, 9}, {"7.0.14", true, 21}, {"6.0.16", true, 17}} {
		t.Run(tc.version, func(t *testing.T) {
			h := start(t, map[string]string{"version": tc.version})
			c, err := net.Dial("tcp", h.Addr(Port))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			r := rawQuery(t, c, "admin.$cmd", bson.D{{Key: "isMaster", Value: 1}})
			if w, _ := r.Lookup("maxWireVersion").Int32OK(); w != tc.wire || !r.Lookup("ismaster").Boolean() {
				t.Errorf("isMaster = %s", r)
			}
			r = rawQuery(t, c, "test.$cmd", bson.D{{Key: "serverStatus", Value: 1}})
			if tc.wantErr {
				if code, _ := r.Lookup("code").Int32OK(); code != 352 || !strings.HasPrefix(r.Lookup("errmsg").StringValue(), "Unsupported OP_QUERY command: serverStatus.") {
					t.Errorf("serverStatus over OP_QUERY on %s = %s", tc.version, r)
				}
				return
			}
			if r.Lookup("version").StringValue() != tc.version || r.Lookup("host").StringValue() != "db01.corp.local" {
				t.Errorf("serverStatus = %s", r)
			}
		})
	}
}

func TestHTTPOnDriverPort(t *testing.T) {
	h := start(t, nil)
	c, err := net.Dial("tcp", h.Addr(Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	if string(b) != httpReply {
		t.Errorf("reply %q", b)
	}
	h.Wait(t, 5*time.Second, "http request", servicetest.Type(event.Request, "protocol=http"))
}

func TestRequireAuth(t *testing.T) {
	h := start(t, map[string]string{"require_auth": "true"})
	c := client(t, h, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.ListDatabaseNames(ctx, bson.D{})
	if err == nil || !strings.Contains(err.Error(), "Command listDatabases requires authentication") {
		t.Errorf("listDatabases error = %v", err)
	}
	if err := c.Ping(ctx, nil); err != nil {
		t.Errorf("ping before auth: %v", err)
	}
}

func TestHostileCommandName(t *testing.T) {
	h := start(t, nil)
	c, err := net.Dial("tcp", h.Addr(Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hostile := "x]\"\n\x1b[31m\xff"
	doc, _ := bson.Marshal(bson.D{{Key: hostile, Value: 1}, {Key: "$db", Value: "admin"}})
	body := append(binary.LittleEndian.AppendUint32(nil, 0), 0)
	body = append(body, doc...)
	msg := append(appendHeader(nil, int32(16+len(body)), 9, 0, opMsg), body...)
	c.Write(msg)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	_, rb, err := readMessage(c)
	if err != nil {
		t.Fatal(err)
	}
	r := bson.Raw(rb[5:])
	if r.Lookup("codeName").StringValue() != "CommandNotFound" {
		t.Errorf("reply %s", r)
	}
	e := h.Wait(t, 5*time.Second, "command", func(e event.Event) bool { return e.Type == event.Command && e.Fields["command_b64"] != "" })
	if e.Fields["command"] != service.Printable(hostile, 0) {
		t.Errorf("command field %q", e.Fields["command"])
	}
}

func TestNmapVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("nmap scan in -short mode")
	}
	for _, tc := range []struct{ version, want string }{
		{"4.4.29", "MongoDB 4.4.29"},
		// 6.0+ refuse nmap's OP_QUERY serverStatus probe as real mongod does; nmap
		// then recognises MongoDB from its answer to HTTP on the driver port.
		{"7.0.14", "MongoDB"},
	} {
		t.Run(tc.version, func(t *testing.T) {
			h := start(t, map[string]string{"version": tc.version})
			_, port, _ := net.SplitHostPort(h.Addr(Port))
			out, _ := servicetest.Run(t, 3*time.Minute, nil, "nmap", "-Pn", "-n", "-sV", "--version-intensity", "7", "-p", port, "127.0.0.1")
			line := ""
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, port+"/tcp") {
					line = l
				}
			}
			t.Logf("nmap: %s", line)
			if !strings.Contains(line, "mongod") || !strings.Contains(line, tc.want) {
				t.Errorf("nmap line %q, want %q:\n%s", line, tc.want, out)
			}
		})
	}
}

func TestNmapScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("nmap scan in -short mode")
	}
	h := start(t, map[string]string{"version": "4.4.29", "databases": "crm_prod,payroll"})
	_, port, _ := net.SplitHostPort(h.Addr(Port))
	out, _ := servicetest.Run(t, 2*time.Minute, nil, "nmap", "-Pn", "-n", "-sV", "-p", port, "--script", "mongodb-info,mongodb-databases", "127.0.0.1")
	for _, want := range []string{"mongodb-databases:", "name = payroll", "name = crm_prod", "mongodb-info:", "version = 4.4.29", "MongoDB Build info"} {
		if !strings.Contains(out, want) {
			t.Errorf("nmap output lacks %q:\n%s", want, out)
		}
	}
	h.Wait(t, 5*time.Second, "listDatabases via OP_QUERY", servicetest.Type(event.Command, "command=listDatabases", "op=OP_QUERY"))
}
