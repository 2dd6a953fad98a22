package redis

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/redcon"

	"decnet/internal/event"
	"decnet/internal/service"
)

// arity is Redis's command arity (the name counts): n exact, -n at least n.
var arity = map[string]int{
	"get": 2, "set": -3, "del": -2, "unlink": -2, "exists": -2, "type": 2, "ttl": 2, "pttl": 2,
	"expire": -3, "persist": 2, "keys": 2, "scan": -2, "dbsize": 1, "select": 2, "flushall": -1,
	"flushdb": -1, "ping": -1, "echo": 2, "quit": -1, "auth": -2, "hello": -1, "info": -1,
	"config": -2, "client": -2, "command": -1, "slaveof": 3, "replicaof": 3, "module": -2,
	"save": 1, "bgsave": -1, "bgrewriteaof": 1, "lastsave": 1, "eval": -3, "evalsha": -3,
	"incr": 2, "decr": 2, "mget": -2, "append": 3, "strlen": 2, "randomkey": 1, "time": 1,
	"role": 1, "shutdown": -1, "debug": -2, "readonly": 1, "memory": -2,
}

// preAuth are the commands Redis runs before AUTH when a password is required.
var preAuth = map[string]bool{"auth": true, "hello": true, "quit": true}

func (ss *session) handle(cmd redcon.Command) {
	name := strings.ToLower(string(cmd.Args[0]))
	ss.cmd = name
	args := cmd.Args[1:]
	if name == "post" || name == "host:" {
		// Redis's defence against cross-protocol scripting: log and close, no reply.
		ss.record(cmd, map[string]string{"cross_protocol": "true"})
		ss.quit = true
		return
	}
	n, known := arity[name]
	if !known {
		ss.record(cmd, nil)
		ss.w.WriteError(ss.unknownCommand(cmd.Args))
		return
	}
	if (n > 0 && len(cmd.Args) != n) || (n < 0 && len(cmd.Args) < -n) {
		ss.record(cmd, nil)
		ss.w.WriteError(fmt.Sprintf("ERR wrong number of arguments for '%s' command", name))
		return
	}
	if !ss.authed && !preAuth[name] {
		ss.record(cmd, map[string]string{"outcome": "noauth"})
		ss.w.WriteError("NOAUTH Authentication required.")
		return
	}
	switch name {
	case "auth":
		ss.auth(cmd, args)
		return
	case "hello":
		ss.hello(cmd, args)
		return
	}
	ss.record(cmd, nil)
	now := time.Now()
	db := ss.db0()
	switch name {
	case "ping":
		if len(args) == 0 {
			ss.w.WriteString("PONG")
		} else if len(args) == 1 {
			ss.w.WriteBulk(args[0])
		} else {
			ss.w.WriteError("ERR wrong number of arguments for 'ping' command")
		}
	case "echo":
		ss.w.WriteBulk(args[0])
	case "quit":
		ss.w.WriteString("OK")
		ss.quit = true
	case "select":
		i, err := strconv.Atoi(string(args[0]))
		switch {
		case err != nil:
			ss.w.WriteError("ERR value is not an integer or out of range")
		case i < 0 || i >= len(ss.dbs):
			ss.w.WriteError("ERR DB index is out of range")
		default:
			ss.db = i
			ss.w.WriteString("OK")
		}
	case "dbsize":
		ss.w.WriteInt(len(db.keys(now)))
	case "flushall":
		for i := range ss.dbs {
			ss.dbs[i] = nil
		}
		ss.w.WriteString("OK")
	case "flushdb":
		ss.dbs[ss.db] = nil
		ss.w.WriteString("OK")
	case "keys":
		var out []string
		for _, k := range db.keys(now) {
			if globMatch(string(args[0]), k) {
				out = append(out, k)
			}
		}
		ss.w.WriteArray(len(out))
		for _, k := range out {
			ss.w.WriteBulkString(k)
		}
	case "scan":
		ss.scan(db, args, now)
	case "randomkey":
		if ks := db.keys(now); len(ks) > 0 {
			ss.w.WriteBulkString(ks[mrand(len(ks))])
		} else {
			ss.writeNull()
		}
	case "get":
		if e, ok := db.get(string(args[0]), now); ok {
			ss.w.WriteBulk(e.val)
		} else {
			ss.writeNull()
		}
	case "mget":
		ss.w.WriteArray(len(args))
		for _, k := range args {
			if e, ok := db.get(string(k), now); ok {
				ss.w.WriteBulk(e.val)
			} else {
				ss.writeNull()
			}
		}
	case "strlen":
		e, _ := db.get(string(args[0]), now)
		ss.w.WriteInt(len(e.val))
	case "set":
		ss.set(db, args, now)
	case "append":
		e, _ := db.get(string(args[0]), now)
		val := append(append([]byte(nil), e.val...), args[1]...)
		if ss.store(db, string(args[0]), entry{val: val, expire: e.expire}) {
			ss.w.WriteInt(len(val))
		}
	case "incr", "decr":
		e, _ := db.get(string(args[0]), now)
		v := int64(0)
		if len(e.val) > 0 {
			var err error
			if v, err = strconv.ParseInt(string(e.val), 10, 64); err != nil {
				ss.w.WriteError("ERR value is not an integer or out of range")
				return
			}
		}
		if name == "incr" {
			v++
		} else {
			v--
		}
		if ss.store(db, string(args[0]), entry{val: []byte(strconv.FormatInt(v, 10)), expire: e.expire}) {
			ss.w.WriteInt64(v)
		}
	case "del", "unlink":
		n := 0
		for _, k := range args {
			if _, ok := db.get(string(k), now); ok {
				delete(db.m, string(k))
				n++
			}
		}
		ss.w.WriteInt(n)
	case "exists":
		n := 0
		for _, k := range args {
			if _, ok := db.get(string(k), now); ok {
				n++
			}
		}
		ss.w.WriteInt(n)
	case "type":
		if _, ok := db.get(string(args[0]), now); ok {
			ss.w.WriteString("string")
		} else {
			ss.w.WriteString("none")
		}
	case "ttl", "pttl":
		e, ok := db.get(string(args[0]), now)
		switch {
		case !ok:
			ss.w.WriteInt(-2)
		case e.expire.IsZero():
			ss.w.WriteInt(-1)
		case name == "ttl":
			ss.w.WriteInt64(int64((e.expire.Sub(now) + time.Second/2) / time.Second))
		default:
			ss.w.WriteInt64(e.expire.Sub(now).Milliseconds())
		}
	case "expire":
		secs, err := strconv.ParseInt(string(args[1]), 10, 64)
		if err != nil || secs > 1<<40 || secs < -(1<<40) {
			ss.w.WriteError("ERR value is not an integer or out of range")
			return
		}
		e, ok := db.get(string(args[0]), now)
		if !ok {
			ss.w.WriteInt(0)
			return
		}
		if secs <= 0 {
			delete(db.m, string(args[0]))
		} else {
			e.expire = now.Add(time.Duration(secs) * time.Second)
			db.m[string(args[0])] = e
		}
		ss.w.WriteInt(1)
	case "persist":
		e, ok := db.get(string(args[0]), now)
		if !ok || e.expire.IsZero() {
			ss.w.WriteInt(0)
			return
		}
		e.expire = time.Time{}
		db.m[string(args[0])] = e
		ss.w.WriteInt(1)
	case "info":
		ss.w.WriteBulkString(ss.info(args, now))
	case "config":
		ss.configCmd(cmd, args)
	case "client":
		ss.client(args, now)
	case "command":
		ss.command(args)
	case "slaveof", "replicaof":
		host, port := service.Printable(string(args[0]), 256), service.Printable(string(args[1]), 32)
		if strings.EqualFold(host, "no") && strings.EqualFold(port, "one") {
			ss.w.WriteString("OK")
			return
		}
		if _, err := strconv.Atoi(string(args[1])); err != nil {
			ss.w.WriteError("ERR value is not an integer or out of range")
			return
		}
		ss.alert(cmd, "rogue-master", map[string]string{"dest_host": host, "dest_port": port})
		ss.w.WriteString("OK") // Redis connects to the master afterwards; we never do
	case "module":
		ss.module(cmd, args)
	case "save":
		ss.alert(cmd, "save", map[string]string{"dir": ss.config["dir"], "dbfilename": ss.config["dbfilename"]})
		ss.w.WriteString("OK")
	case "bgsave":
		ss.alert(cmd, "save", map[string]string{"dir": ss.config["dir"], "dbfilename": ss.config["dbfilename"]})
		ss.w.WriteString("Background saving started")
	case "bgrewriteaof":
		ss.w.WriteString("Background append only file rewriting started")
	case "lastsave":
		ss.w.WriteInt64(now.Add(-time.Duration(60+mrand(3000)) * time.Second).Unix())
	case "eval", "evalsha":
		ss.alert(cmd, "lua-eval", nil)
		if name == "evalsha" {
			ss.w.WriteError("NOSCRIPT No matching script. Please use EVAL.")
		} else if strings.Contains(string(args[0]), "package") || strings.Contains(string(args[0]), "loadlib") {
			// What a patched Redis answers to the CVE-2022-0543 Lua escape.
			ss.w.WriteError("ERR Error running script (call to f_" + randHex(20) + "): @user_script:1: Script attempted to access nonexistent global variable 'package' ")
		} else {
			ss.writeNull()
		}
	case "time":
		ss.w.WriteArray(2)
		ss.w.WriteBulkString(strconv.FormatInt(now.Unix(), 10))
		ss.w.WriteBulkString(strconv.Itoa(now.Nanosecond() / 1000))
	case "role":
		ss.w.WriteArray(3)
		ss.w.WriteBulkString("master")
		ss.w.WriteInt(0)
		ss.w.WriteArray(0)
	case "readonly":
		ss.w.WriteError("ERR This instance has cluster support disabled")
	case "memory":
		if strings.EqualFold(string(args[0]), "usage") && len(args) > 1 {
			if e, ok := db.get(string(args[1]), now); ok {
				ss.w.WriteInt(56 + len(e.val) + len(args[1]))
			} else {
				ss.writeNull()
			}
			return
		}
		ss.w.WriteError(fmt.Sprintf("ERR unknown subcommand '%s'. Try MEMORY HELP.", service.Printable(string(args[0]), 128)))
	case "shutdown":
		ss.alert(cmd, "shutdown", nil)
		ss.w.WriteError("ERR Errors trying to SHUTDOWN. Check logs.")
	case "debug":
		if ss.s.ver.atLeast(7, 0) {
			ss.w.WriteError("ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.")
		} else {
			ss.w.WriteError(fmt.Sprintf("ERR unknown subcommand '%s'. Try DEBUG HELP.", service.Printable(string(args[0]), 128)))
		}
	}
}

// db0 returns the selected database of this connection, creating it empty.
func (ss *session) db0() *keyspace {
	if ss.dbs[ss.db] == nil {
		ss.dbs[ss.db] = newKeyspace()
	}
	return ss.dbs[ss.db]
}

// store writes a key if the connection's keyspace stays within its bounds, else
// answers Redis's OOM error.
func (ss *session) store(db *keyspace, key string, e entry) bool {
	keys, bytes := 0, 0
	for _, d := range ss.dbs {
		if d != nil {
			k, b := d.size()
			keys, bytes = keys+k, bytes+b
		}
	}
	old, had := db.m[key]
	if had {
		keys--
		bytes -= len(key) + len(old.val)
	}
	if keys+1 > MaxKeys || bytes+len(key)+len(e.val) > MaxDataBytes {
		ss.w.WriteError("OOM command not allowed when used memory > 'maxmemory'.")
		return false
	}
	db.m[key] = e
	return true
}

func (ss *session) writeNull() {
	if ss.proto == 3 {
		ss.w.WriteRaw([]byte("_\r\n"))
		return
	}
	ss.w.WriteNull()
}

func (ss *session) unknownCommand(args [][]byte) string {
	// Redis 7 quotes with '…' and separates args with spaces; 6.x and older use `…`, .
	q1, q2, sep := "'", "'", " "
	if !ss.s.ver.atLeast(7, 0) {
		q1, q2, sep = "`", "`", ", "
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ERR unknown command %s%s%s, with args beginning with: ", q1, clip(string(args[0]), 128), q2)
	left := 128
	for _, a := range args[1:] {
		if left <= 0 {
			break
		}
		s := clip(string(a), left)
		left -= len(s)
		fmt.Fprintf(&b, "%s%s%s%s", q1, s, q2, sep)
	}
	return b.String()
}

// clip cuts s to n bytes and makes it safe inside a RESP simple error (no CR/LF).
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

func (ss *session) auth(cmd redcon.Command, args [][]byte) {
	user, pass := "default", args[0]
	if len(args) == 2 {
		user, pass = string(args[0]), args[1]
	} else if len(args) > 2 {
		ss.record(cmd, nil)
		ss.w.WriteError("ERR syntax error")
		return
	}
	ok, reply := ss.checkAuth(user, pass, len(args) == 2)
	ss.emitAuth(cmd, user, pass, ok)
	if ok {
		ss.authed = true
		ss.w.WriteString("OK")
		return
	}
	ss.w.WriteError(reply)
}

// checkAuth answers an AUTH like Redis: without requirepass the one-argument form is
// an error; with it only the default user and the password succeed.
func (ss *session) checkAuth(user string, pass []byte, withUser bool) (bool, string) {
	if ss.s.requirePass == "" {
		if !withUser {
			if ss.s.ver.atLeast(6, 0) {
				return false, "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
			}
			return false, "ERR Client sent AUTH, but no password is set"
		}
		if !ss.s.ver.atLeast(6, 0) {
			return false, "ERR wrong number of arguments for 'auth' command"
		}
		// ACL: the default user has nopass, so any password works for it.
		if user == "default" {
			return true, ""
		}
		return false, "WRONGPASS invalid username-password pair or user is disabled."
	}
	if withUser && !ss.s.ver.atLeast(6, 0) {
		return false, "ERR wrong number of arguments for 'auth' command"
	}
	if user == "default" && string(pass) == ss.s.requirePass {
		return true, ""
	}
	if !ss.s.ver.atLeast(6, 0) {
		return false, "ERR invalid password"
	}
	return false, "WRONGPASS invalid username-password pair or user is disabled."
}

func (ss *session) emitAuth(cmd redcon.Command, user string, pass []byte, ok bool) {
	outcome := "failure"
	if ok {
		outcome = "success"
	}
	f := map[string]string{
		"verb":        strings.ToLower(string(cmd.Args[0])),
		"password":    service.Printable(string(pass), 1024),
		"secret_b64":  base64.StdEncoding.EncodeToString(pass),
		"secret_kind": "plaintext",
		"outcome":     outcome,
	}
	service.SetPrintableLimit(f, "username", user, 256)
	ss.c.Emit(event.Auth, f, "")
}

func (ss *session) hello(cmd redcon.Command, args [][]byte) {
	if !ss.s.ver.atLeast(6, 0) {
		ss.record(cmd, nil)
		ss.w.WriteError(ss.unknownCommand(cmd.Args))
		return
	}
	proto := ss.proto
	if len(args) > 0 {
		p, err := strconv.Atoi(string(args[0]))
		if err != nil {
			ss.record(cmd, nil)
			ss.w.WriteError("ERR Protocol version is not an integer or out of range")
			return
		}
		if p != 2 && p != 3 {
			ss.record(cmd, nil)
			ss.w.WriteError("NOPROTO unsupported protocol version")
			return
		}
		proto = p
		args = args[1:]
	}
	authed := false
	for len(args) > 0 {
		opt := strings.ToLower(string(args[0]))
		switch {
		case opt == "auth" && len(args) >= 3:
			ok, reply := ss.checkAuth(string(args[1]), args[2], true)
			ss.emitAuth(cmd, string(args[1]), args[2], ok)
			if !ok {
				ss.w.WriteError(reply)
				return
			}
			ss.authed, authed = true, true
			args = args[3:]
		case opt == "setname" && len(args) >= 2:
			ss.name = service.Printable(string(args[1]), 128)
			args = args[2:]
		default:
			ss.record(cmd, nil)
			ss.w.WriteError(fmt.Sprintf("ERR Syntax error in HELLO option '%s'", clip(string(args[0]), 128)))
			return
		}
	}
	if !authed {
		ss.record(cmd, nil)
	}
	if !ss.authed {
		ss.w.WriteError("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	ss.proto = proto
	if proto == 3 {
		ss.w.WriteRaw([]byte("%7\r\n"))
	} else {
		ss.w.WriteArray(14)
	}
	ss.w.WriteBulkString("server")
	ss.w.WriteBulkString("redis")
	ss.w.WriteBulkString("version")
	ss.w.WriteBulkString(ss.s.version)
	ss.w.WriteBulkString("proto")
	ss.w.WriteInt(proto)
	ss.w.WriteBulkString("id")
	ss.w.WriteInt64(ss.id)
	ss.w.WriteBulkString("mode")
	ss.w.WriteBulkString("standalone")
	ss.w.WriteBulkString("role")
	ss.w.WriteBulkString("master")
	ss.w.WriteBulkString("modules")
	ss.w.WriteArray(0)
}

func (ss *session) set(db *keyspace, args [][]byte, now time.Time) {
	key := string(args[0])
	e := entry{val: append([]byte(nil), args[1]...)}
	var nx, xx, keepTTL, get bool
	for i := 2; i < len(args); i++ {
		opt := strings.ToUpper(string(args[i]))
		switch {
		case opt == "NX":
			nx = true
		case opt == "XX":
			xx = true
		case opt == "KEEPTTL":
			keepTTL = true
		case opt == "GET" && ss.s.ver.atLeast(6, 2):
			get = true
		case (opt == "EX" || opt == "PX") && i+1 < len(args):
			n, err := strconv.ParseInt(string(args[i+1]), 10, 64)
			if err != nil || n <= 0 || n > 1<<40 {
				if err != nil {
					ss.w.WriteError("ERR value is not an integer or out of range")
				} else {
					ss.w.WriteError("ERR invalid expire time in 'set' command")
				}
				return
			}
			unit := time.Second
			if opt == "PX" {
				unit = time.Millisecond
			}
			e.expire = now.Add(time.Duration(n) * unit)
			i++
		default:
			ss.w.WriteError("ERR syntax error")
			return
		}
	}
	if nx && xx {
		ss.w.WriteError("ERR syntax error")
		return
	}
	old, exists := db.get(key, now)
	if (nx && exists) || (xx && !exists) {
		if get {
			ss.bulkOrNull(old.val, exists)
		} else {
			ss.writeNull()
		}
		return
	}
	if keepTTL {
		e.expire = old.expire
	}
	if !ss.store(db, key, e) {
		return
	}
	if get {
		ss.bulkOrNull(old.val, exists)
		return
	}
	ss.w.WriteString("OK")
}

func (ss *session) bulkOrNull(b []byte, ok bool) {
	if ok {
		ss.w.WriteBulk(b)
	} else {
		ss.writeNull()
	}
}

func (ss *session) scan(db *keyspace, args [][]byte, now time.Time) {
	if _, err := strconv.ParseUint(string(args[0]), 10, 64); err != nil {
		ss.w.WriteError("ERR invalid cursor")
		return
	}
	match := "*"
	for i := 1; i < len(args); i++ {
		opt := strings.ToUpper(string(args[i]))
		if i+1 >= len(args) {
			ss.w.WriteError("ERR syntax error")
			return
		}
		switch opt {
		case "MATCH":
			match = string(args[i+1])
		case "COUNT":
			if n, err := strconv.Atoi(string(args[i+1])); err != nil || n < 1 {
				if err != nil {
					ss.w.WriteError("ERR value is not an integer or out of range")
				} else {
					ss.w.WriteError("ERR syntax error")
				}
				return
			}
		case "TYPE":
		default:
			ss.w.WriteError("ERR syntax error")
			return
		}
		i++
	}
	// The keyspace is small: one pass returns everything and cursor 0 ends the scan.
	var out []string
	for _, k := range db.keys(now) {
		if globMatch(match, k) {
			out = append(out, k)
		}
	}
	ss.w.WriteArray(2)
	ss.w.WriteBulkString("0")
	ss.w.WriteArray(len(out))
	for _, k := range out {
		ss.w.WriteBulkString(k)
	}
}

func (ss *session) client(args [][]byte, now time.Time) {
	sub := strings.ToLower(string(args[0]))
	switch {
	case sub == "list" || sub == "info":
		line := ss.clientLine(now)
		if sub == "list" {
			line += "\n"
		}
		ss.w.WriteBulkString(line)
	case sub == "setname" && len(args) == 2:
		name := string(args[1])
		if strings.ContainsAny(name, " \n") {
			ss.w.WriteError("ERR Client names cannot contain spaces, newlines or special characters.")
			return
		}
		ss.name = service.Printable(name, 128)
		ss.w.WriteString("OK")
	case sub == "getname":
		if ss.name == "" {
			ss.writeNull()
		} else {
			ss.w.WriteBulkString(ss.name)
		}
	case sub == "id":
		ss.w.WriteInt64(ss.id)
	case sub == "kill":
		ss.w.WriteError("ERR No such client")
	case sub == "setinfo" && ss.s.ver.atLeast(7, 2):
		ss.w.WriteString("OK")
	default:
		ss.w.WriteError(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%s'. Try CLIENT HELP.", clip(string(args[0]), 128)))
	}
}

func (ss *session) clientLine(now time.Time) string {
	age := int(now.Sub(ss.c.Started).Seconds())
	idle := int(now.Sub(ss.last).Seconds())
	line := fmt.Sprintf("id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=N db=%d sub=0 psub=0",
		ss.id, ss.c.Peer.String(), ss.c.LocalAddr().String(), 8+int(ss.id%20), ss.name, age, idle, ss.db)
	if ss.s.ver.atLeast(7, 0) {
		line += " ssub=0"
	}
	line += " multi=-1 qbuf=26 qbuf-free=20448"
	if ss.s.ver.atLeast(6, 2) {
		line += " argv-mem=10"
	}
	if ss.s.ver.atLeast(7, 0) {
		line += " multi-mem=0 rbs=1024 rbp=0"
	}
	line += " obl=0 oll=0 omem=0 tot-mem=22298 events=r cmd=client"
	if ss.s.ver.atLeast(7, 0) {
		line += "|list"
	}
	if ss.s.ver.atLeast(6, 0) {
		line += " user=default"
	}
	if ss.s.ver.atLeast(6, 2) {
		line += " redir=-1"
	}
	if ss.s.ver.atLeast(7, 0) {
		line += fmt.Sprintf(" resp=%d", ss.proto)
	}
	return line
}

func (ss *session) command(args [][]byte) {
	if len(args) == 0 {
		// The full command table is several hundred entries; an empty reply is what
		// redis-cli copes with and scanners do not ask for.
		ss.w.WriteArray(0)
		return
	}
	switch strings.ToLower(string(args[0])) {
	case "count":
		n := 240
		switch {
		case !ss.s.ver.atLeast(6, 0):
			n = 200
		case !ss.s.ver.atLeast(6, 2):
			n = 204
		case !ss.s.ver.atLeast(7, 0):
			n = 224
		}
		ss.w.WriteInt(n)
	case "docs", "info", "list", "getkeys":
		if !ss.s.ver.atLeast(7, 0) && strings.EqualFold(string(args[0]), "docs") {
			ss.w.WriteError(fmt.Sprintf("ERR Unknown subcommand or wrong number of arguments for '%s'. Try COMMAND HELP.", clip(string(args[0]), 128)))
			return
		}
		ss.w.WriteArray(0)
	default:
		ss.w.WriteError(fmt.Sprintf("ERR unknown subcommand '%s'. Try COMMAND HELP.", clip(string(args[0]), 128)))
	}
}

func (ss *session) module(cmd redcon.Command, args [][]byte) {
	sub := strings.ToLower(string(args[0]))
	switch sub {
	case "list":
		ss.w.WriteArray(0)
		return
	case "load", "loadex":
		f := map[string]string{}
		if len(args) > 1 {
			f["path"] = service.Printable(string(args[1]), 1024)
		}
		ss.alert(cmd, "module-load", f)
	case "unload":
	default:
		ss.w.WriteError(fmt.Sprintf("ERR unknown subcommand '%s'. Try MODULE HELP.", clip(string(args[0]), 128)))
		return
	}
	if ss.s.ver.atLeast(7, 0) {
		ss.w.WriteError("ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.")
		return
	}
	if sub == "unload" {
		ss.w.WriteError("ERR Error unloading module: no such module with that name")
		return
	}
	ss.w.WriteError("ERR Error loading the extension. Please check the server logs.")
}
