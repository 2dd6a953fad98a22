package redis

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/testenv"
)

// cli runs the real redis-cli against the harness and returns its output.
func cli(t *testing.T, h *servicetest.Harness, args ...string) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(h.Addr(Port))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "redis-cli", append([]string{"-h", "127.0.0.1", "-p", port}, args...)...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("redis-cli %v timed out: %s", args, out)
	}
	_ = err // redis-cli exits 0 even for error replies; its output is the client's view
	return strings.TrimSpace(string(out))
}

func TestRedisCLIDebian(t *testing.T) {
	testenv.RequireTool(t, "redis-cli")
	h := servicetest.Start(t, "redis", service.Config{Distro: "debian"})

	if out := cli(t, h, "PING"); out != "PONG" {
		t.Fatalf("PING: %q", out)
	}
	info := cli(t, h, "INFO", "server")
	for _, want := range []string{"# Server", "redis_version:7.0.15", "os:Linux 6.1.0-23-amd64 x86_64", "gcc_version:12.2.0", "tcp_port:6379", "redis_mode:standalone"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO server lacks %q:\n%s", want, info)
		}
	}
	if strings.Contains(info, "# Clients") {
		t.Errorf("INFO server printed other sections:\n%s", info)
	}
	all := cli(t, h, "INFO")
	for _, want := range []string{"# Clients", "# Memory", "# Persistence", "# Replication", "# Keyspace", "db0:keys=7,expires=4"} {
		if !strings.Contains(all, want) {
			t.Errorf("INFO lacks %q", want)
		}
	}

	// SET/GET on the connection's keyspace, and the bait keys are there.
	if out := cli(t, h, "SET", "foo", "bar"); out != "OK" {
		t.Fatalf("SET: %q", out)
	}
	if out := cli(t, h, "GET", "config:app"); !strings.Contains(out, "db_host") {
		t.Fatalf("GET bait key: %q", out)
	}
	if out := cli(t, h, "KEYS", "sess:*"); strings.Count(out, "sess:") != 2 {
		t.Fatalf("KEYS sess:*: %q", out)
	}
	// Each connection starts from the bait keyspace (SET in another connection is not seen).
	if out := cli(t, h, "GET", "foo"); out != "" {
		t.Fatalf("GET foo from a new connection: %q", out)
	}
	h.Wait(t, 5*time.Second, "SET command", servicetest.Type(event.Command, "verb=set", "command=SET foo bar"))

	// AUTH on a Redis without a password: Redis's error, password captured.
	out := cli(t, h, "AUTH", "S3cr3t!pass")
	if !strings.Contains(out, "AUTH <password> called without any password configured for the default user") {
		t.Fatalf("AUTH: %q", out)
	}
	e := h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth, "password=S3cr3t!pass"))
	if e.Fields["username"] != "default" || e.Fields["outcome"] != "failure" || e.Fields["secret_kind"] != "plaintext" ||
		e.Fields["secret_b64"] != base64.StdEncoding.EncodeToString([]byte("S3cr3t!pass")) || e.AttackerIP != "127.0.0.1" {
		t.Errorf("auth event: %+v", e)
	}
	// AUTH user pass (ACL form).
	cli(t, h, "AUTH", "admin", "hunter2")
	h.Wait(t, 5*time.Second, "acl auth", servicetest.Type(event.Auth, "username=admin", "password=hunter2", "outcome=failure"))

	// The cron-write chain: CONFIG SET dir is refused by Redis 7 (protected config) and raised.
	out = cli(t, h, "CONFIG", "SET", "dir", "/var/spool/cron/crontabs")
	if !strings.Contains(out, "can't set protected config") {
		t.Errorf("CONFIG SET dir on 7.0: %q", out)
	}
	h.Wait(t, 5*time.Second, "config-set-dir alert", servicetest.Type(event.Alert, "alert=config-set-dir", "value=/var/spool/cron/crontabs"))
	h.Wait(t, 5*time.Second, "CONFIG SET command", servicetest.Type(event.Command, "verb=config", "command=CONFIG SET dir /var/spool/cron/crontabs"))
	if out := cli(t, h, "CONFIG", "GET", "dir"); out != "dir\n/var/lib/redis" {
		t.Errorf("CONFIG GET dir: %q", out)
	}
	if out := cli(t, h, "MODULE", "LOAD", "/tmp/exp.so"); !strings.Contains(out, "MODULE command not allowed") {
		t.Errorf("MODULE LOAD on 7.0: %q", out)
	}
	h.Wait(t, 5*time.Second, "module alert", servicetest.Type(event.Alert, "alert=module-load", "path=/tmp/exp.so"))
	if out := cli(t, h, "SLAVEOF", "203.0.113.9", "21000"); out != "OK" {
		t.Errorf("SLAVEOF: %q", out)
	}
	h.Wait(t, 5*time.Second, "rogue master alert", servicetest.Type(event.Alert, "alert=rogue-master", "dest_host=203.0.113.9", "dest_port=21000"))

	if out := cli(t, h, "FOOBAR", "a", "b"); out != "ERR unknown command 'FOOBAR', with args beginning with: 'a' 'b'" {
		t.Errorf("unknown command on 7.0: %q", out)
	}
	if out := cli(t, h, "CLIENT", "SETNAME", "x"); out != "OK" {
		t.Errorf("CLIENT SETNAME: %q", out)
	}
	if out := cli(t, h, "CLIENT", "LIST"); !strings.Contains(out, "addr=127.0.0.1:") || !strings.Contains(out, "cmd=client|list user=default") {
		t.Errorf("CLIENT LIST: %q", out)
	}
	if out := cli(t, h, "DBSIZE"); out != "7" {
		t.Errorf("DBSIZE: %q", out)
	}
	if out := cli(t, h, "TTL", "config:app"); out != "-1" {
		t.Errorf("TTL: %q", out)
	}
	if out := cli(t, h, "COMMAND", "COUNT"); out != "240" {
		t.Errorf("COMMAND COUNT: %q", out)
	}
}

// On Ubuntu 22.04 the persona is Redis 6.0.16: CONFIG SET dir succeeds (no protected
// configs before 7.0) and error texts use 6.x's backquotes.
func TestRedisCLIUbuntu6(t *testing.T) {
	testenv.RequireTool(t, "redis-cli")
	h := servicetest.Start(t, "redis", service.Config{Distro: "ubuntu22"})
	info := cli(t, h, "INFO", "server")
	if !strings.Contains(info, "redis_version:6.0.16") || !strings.Contains(info, "os:Linux 5.15.0-116-generic x86_64") {
		t.Fatalf("INFO server:\n%s", info)
	}
	if out := cli(t, h, "CONFIG", "SET", "dir", "/root/.ssh"); out != "OK" {
		t.Errorf("CONFIG SET dir on 6.0: %q", out)
	}
	h.Wait(t, 5*time.Second, "config-set-dir alert", servicetest.Type(event.Alert, "alert=config-set-dir", "value=/root/.ssh"))
	if out := cli(t, h, "FOOBAR", "a"); out != "ERR unknown command `FOOBAR`, with args beginning with: `a`," {
		t.Errorf("unknown command on 6.0: %q", out)
	}
	if out := cli(t, h, "MODULE", "LOAD", "/tmp/exp.so"); out != "ERR Error loading the extension. Please check the server logs." {
		t.Errorf("MODULE LOAD on 6.0: %q", out)
	}
}

func TestRedisRequirePass(t *testing.T) {
	testenv.RequireTool(t, "redis-cli")
	h := servicetest.Start(t, "redis", service.Config{Distro: "debian", Persona: map[string]string{KeyRequirePass: "letmein"}})
	if out := cli(t, h, "GET", "config:app"); out != "NOAUTH Authentication required." {
		t.Errorf("GET before AUTH: %q", out)
	}
	h.Wait(t, 5*time.Second, "noauth command", servicetest.Type(event.Command, "verb=get", "outcome=noauth"))
	out := cli(t, h, "--no-auth-warning", "-a", "wrong", "PING")
	if !strings.Contains(out, "WRONGPASS invalid username-password pair or user is disabled.") {
		t.Errorf("wrong password: %q", out)
	}
	h.Wait(t, 5*time.Second, "wrong auth", servicetest.Type(event.Auth, "password=wrong", "outcome=failure"))
	if out := cli(t, h, "--no-auth-warning", "-a", "letmein", "PING"); out != "PONG" {
		t.Errorf("right password: %q", out)
	}
	h.Wait(t, 5*time.Second, "right auth", servicetest.Type(event.Auth, "password=letmein", "outcome=success"))
}

// Inline (telnet-style) commands, RESP3 HELLO, binary arguments and limits over raw TCP.
func TestRedisRawProtocol(t *testing.T) {
	h := servicetest.Start(t, "redis", service.Config{Distro: "debian"})
	c, err := net.Dial("tcp", h.Addr(Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	expect := func(send string, want ...string) {
		t.Helper()
		fmt.Fprint(c, send)
		for _, w := range want {
			line, err := r.ReadString('\n')
			if err != nil || line != w {
				t.Fatalf("after %q: got %q (%v), want %q", send, line, err, w)
			}
		}
	}
	expect("PING\r\n", "+PONG\r\n")
	expect("set k \"two words\"\r\n", "+OK\r\n")
	expect("get k\r\n", "$9\r\n", "two words\r\n")
	expect("select 99\r\n", "-ERR DB index is out of range\r\n")
	expect("get\r\n", "-ERR wrong number of arguments for 'get' command\r\n")
	expect("HELLO 4\r\n", "-NOPROTO unsupported protocol version\r\n")
	expect("HELLO 3\r\n", "%7\r\n", "$6\r\n", "server\r\n", "$5\r\n", "redis\r\n", "$7\r\n", "version\r\n", "$6\r\n", "7.0.15\r\n")
	for { // rest of the map, up to the empty modules array
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "*0\r\n" {
			break
		}
	}
	expect("GET nosuchkey\r\n", "_\r\n")

	// Hostile bytes in arguments arrive exactly in args_b64; the printable form escapes them.
	raw := "*3\r\n$3\r\nSET\r\n$4\r\na]\"\n\r\n$5\r\n\x1b[31m\r\n"
	expect(raw, "+OK\r\n")
	e := h.Wait(t, 5*time.Second, "binary SET", func(e event.Event) bool {
		return e.Type == event.Command && e.Fields["verb"] == "set" && e.Fields["args_b64"] != ""
	})
	if got, _ := base64.StdEncoding.DecodeString(e.Fields["args_b64"]); string(got) != raw {
		t.Errorf("args_b64 = %q, want %q", got, raw)
	}
	if e.Fields["command"] != `SET "a]\"\x0a" "\x1b[31m"` {
		t.Errorf("printable command = %q", e.Fields["command"])
	}

	// A request past MaxRequest ends the connection with Redis's protocol error.
	fmt.Fprintf(c, "*2\r\n$3\r\nGET\r\n$%d\r\n", MaxRequest*4)
	chunk := strings.Repeat("A", 64<<10)
	for i := 0; i < 20; i++ {
		if _, err := c.Write([]byte(chunk)); err != nil {
			break
		}
	}
	line, _ := r.ReadString('\n')
	if line != "-ERR Protocol error: invalid bulk length\r\n" {
		t.Errorf("oversized request answered %q", line)
	}
	if _, err := r.ReadString('\n'); err == nil {
		t.Error("connection still open after an oversized request")
	}
}

func TestRedisQuitAndKeyspaceBound(t *testing.T) {
	h := servicetest.Start(t, "redis", service.Config{Distro: "debian"})
	c, err := net.Dial("tcp", h.Addr(Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	val := strings.Repeat("v", 512<<10)
	oom := false
	for i := 0; i < 20 && !oom; i++ {
		fmt.Fprintf(c, "*3\r\n$3\r\nSET\r\n$4\r\nk%03d\r\n$%d\r\n%s\r\n", i, len(val), val)
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		oom = strings.HasPrefix(line, "-OOM command not allowed")
	}
	if !oom {
		t.Error("a connection stored 10 MiB without hitting the keyspace bound")
	}
	fmt.Fprint(c, "QUIT\r\n")
	if line, _ := r.ReadString('\n'); line != "+OK\r\n" {
		t.Errorf("QUIT: %q", line)
	}
	if _, err := r.ReadString('\n'); err == nil {
		t.Error("connection open after QUIT")
	}
	h.Wait(t, 5*time.Second, "disconnect", servicetest.Type(event.Disconnect))
}

func TestRedisNmap(t *testing.T) {
	testenv.RequireTool(t, "nmap")
	// nmap sends its Redis probe first only on 6379 (elsewhere its GET probe already
	// hard-matches Redis without a version, as for a real Redis), so listen on a free
	// loopback address at 6379.
	addr := freeLoopback6379(t)
	h := servicetest.Start(t, "redis", service.Config{Distro: "debian"}, func(rt *service.Runtime) { rt.Bind[Port] = addr })
	host, port, _ := net.SplitHostPort(h.Addr(Port))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nmap", "-Pn", "-sV", "--version-intensity", "7", "-p", port, host).CombinedOutput()
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Redis key-value store 7.0.15") {
		t.Errorf("nmap did not name the persona:\n%s", out)
	}
}

// freeLoopback6379 returns a 127.0.0.x:6379 address nothing listens on.
func freeLoopback6379(t *testing.T) string {
	for i := 2; i < 50; i++ {
		a := fmt.Sprintf("127.0.0.%d:%d", i, Port)
		l, err := net.Listen("tcp", a)
		if err == nil {
			l.Close()
			return a
		}
	}
	t.Skip("no loopback address with a free port 6379")
	return ""
}

func TestDefaultVersion(t *testing.T) {
	h := servicetest.Start(t, "redis", service.Config{Distro: "centos7"})
	if h.RT.Distro.Slug != "centos7" {
		t.Fatal("distro not applied")
	}
	for _, tc := range []struct{ distro, want string }{{"debian", "7.0.15"}, {"ubuntu22", "6.0.16"}, {"centos7", "3.2.12"}, {"windows10", "7.0.15"}} {
		rt, err := service.NewRuntime(service.Config{Distro: tc.distro})
		if err != nil {
			t.Fatal(err)
		}
		if got := DefaultVersion(rt.Distro); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.distro, got, tc.want)
		}
	}
}

func TestKeysValidate(t *testing.T) {
	spec, _ := service.Lookup("redis")
	for _, tc := range []struct {
		key, val string
		ok       bool
	}{
		{KeyVersion, "7.2.4", true}, {KeyVersion, "7.2", false}, {KeyVersion, "x.y.z", false},
		{KeyRequirePass, "s3cret", true}, {KeyRequirePass, "has space", false},
	} {
		if _, err := spec.ValidateKey(tc.key, tc.val); (err == nil) != tc.ok {
			t.Errorf("%s=%q: err %v", tc.key, tc.val, err)
		}
	}
}
