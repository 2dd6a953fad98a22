package redis

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tidwall/redcon"

	"decnet/internal/catalog"
	"decnet/internal/service"
)

// defaultConfig is the configuration CONFIG GET shows: Debian's redis.conf with the
// bind/protected-mode of a Redis someone exposed to the LAN.
func (s *server) defaultConfig() map[string]string {
	save := "3600 1 300 100 60 10000"
	if !s.ver.atLeast(7, 0) {
		save = "900 1 300 10 60 10000"
	}
	c := map[string]string{
		"dir":                         "/var/lib/redis",
		"dbfilename":                  "dump.rdb",
		"requirepass":                 s.requirePass,
		"masterauth":                  "",
		"bind":                        "0.0.0.0",
		"protected-mode":              "no",
		"port":                        "6379",
		"timeout":                     "0",
		"tcp-keepalive":               "300",
		"daemonize":                   "yes",
		"supervised":                  "systemd",
		"pidfile":                     "/run/redis/redis-server.pid",
		"loglevel":                    "notice",
		"logfile":                     "/var/log/redis/redis-server.log",
		"databases":                   "16",
		"save":                        save,
		"appendonly":                  "no",
		"appendfilename":              "appendonly.aof",
		"maxmemory":                   "0",
		"maxmemory-policy":            "noeviction",
		"maxclients":                  "10000",
		"slave-read-only":             "yes",
		"replica-read-only":           "yes",
		"rdbcompression":              "yes",
		"stop-writes-on-bgsave-error": "yes",
	}
	if s.ver.atLeast(7, 0) {
		c["enable-protected-configs"] = "no"
		c["enable-module-command"] = "no"
		c["enable-debug-command"] = "no"
	}
	return c
}

// protectedConfigs can only be changed at startup since Redis 7.0
// (enable-protected-configs no, the default).
var protectedConfigs = map[string]bool{"dir": true, "dbfilename": true, "enable-protected-configs": true, "enable-module-command": true, "enable-debug-command": true}

func (ss *session) configCmd(cmd redcon.Command, args [][]byte) {
	sub := strings.ToLower(string(args[0]))
	switch sub {
	case "get":
		if len(args) < 2 || (len(args) > 2 && !ss.s.ver.atLeast(7, 0)) {
			ss.w.WriteError("ERR wrong number of arguments for 'config|get' command")
			return
		}
		names := make([]string, 0, len(ss.config))
		for k := range ss.config {
			names = append(names, k)
		}
		sort.Strings(names)
		var out []string
		for _, n := range names {
			for _, p := range args[1:] {
				if globMatch(strings.ToLower(string(p)), n) {
					out = append(out, n, ss.config[n])
					break
				}
			}
		}
		ss.w.WriteArray(len(out))
		for _, v := range out {
			ss.w.WriteBulkString(v)
		}
	case "set":
		if len(args) < 3 || len(args)%2 == 0 || (len(args) > 3 && !ss.s.ver.atLeast(7, 0)) {
			ss.w.WriteError("ERR wrong number of arguments for 'config|set' command")
			return
		}
		pairs := args[1:]
		for i := 0; i < len(pairs); i += 2 {
			name := strings.ToLower(string(pairs[i]))
			val := service.Printable(string(pairs[i+1]), 1024)
			if name == "dir" || name == "dbfilename" {
				ss.alert(cmd, "config-set-"+name, map[string]string{"param": name, "value": val})
			}
			if _, ok := ss.config[name]; !ok {
				if ss.s.ver.atLeast(7, 0) {
					ss.w.WriteError(fmt.Sprintf("ERR Unknown option or number of arguments for CONFIG SET - '%s'", clip(string(pairs[i]), 128)))
				} else {
					ss.w.WriteError(fmt.Sprintf("ERR Unsupported CONFIG parameter: %s", clip(string(pairs[i]), 128)))
				}
				return
			}
			if protectedConfigs[name] && ss.s.ver.atLeast(7, 0) {
				ss.w.WriteError(fmt.Sprintf("ERR CONFIG SET failed (possibly related to argument '%s') - can't set protected config", name))
				return
			}
		}
		for i := 0; i < len(pairs); i += 2 {
			ss.config[strings.ToLower(string(pairs[i]))] = service.Printable(string(pairs[i+1]), 1024)
		}
		ss.w.WriteString("OK")
	case "resetstat", "rewrite":
		ss.w.WriteString("OK")
	default:
		ss.w.WriteError(fmt.Sprintf("ERR unknown subcommand '%s'. Try CONFIG HELP.", clip(string(args[0]), 128)))
	}
}

// defaultSections are what INFO without arguments prints, in Redis's order.
var defaultSections = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats", "cluster", "keyspace"}

func (ss *session) info(args [][]byte, now time.Time) string {
	want := map[string]bool{}
	all := false
	if len(args) == 0 {
		for _, s := range defaultSections {
			want[s] = true
		}
	}
	for _, a := range args {
		switch s := strings.ToLower(string(a)); s {
		case "all", "everything":
			all = true
			for _, s := range defaultSections {
				want[s] = true
			}
			want["commandstats"] = true
		case "default":
			for _, s := range defaultSections {
				want[s] = true
			}
		default:
			want[s] = true
		}
	}
	_ = all
	var b strings.Builder
	order := append(append([]string(nil), defaultSections[:10]...), "commandstats", "keyspace")
	first := true
	for _, sec := range order {
		if !want[sec] {
			continue
		}
		if (sec == "modules" || sec == "errorstats") && !ss.s.ver.atLeast(6, 2) {
			continue
		}
		if !first {
			b.WriteString("\r\n")
		}
		first = false
		ss.writeSection(&b, sec, now)
	}
	return b.String()
}

func (ss *session) writeSection(b *strings.Builder, sec string, now time.Time) {
	s := ss.s
	kv := func(k string, v any) { fmt.Fprintf(b, "%s:%v\r\n", k, v) }
	up := now.Sub(s.started)
	switch sec {
	case "server":
		b.WriteString("# Server\r\n")
		kv("redis_version", s.version)
		kv("redis_git_sha1", "00000000")
		kv("redis_git_dirty", 0)
		kv("redis_build_id", s.buildID)
		kv("redis_mode", "standalone")
		kv("os", s.osLine())
		kv("arch_bits", 64)
		if s.ver.atLeast(6, 2) {
			kv("monotonic_clock", "POSIX clock_gettime")
		}
		kv("multiplexing_api", "epoll")
		kv("atomicvar_api", "c11-builtin")
		gcc := gccVersions[s.rt.Distro.Slug]
		if gcc == "" {
			gcc = "12.2.0"
		}
		kv("gcc_version", gcc)
		kv("process_id", s.pid)
		if s.ver.atLeast(6, 2) {
			kv("process_supervised", "systemd")
		}
		kv("run_id", s.runID)
		kv("tcp_port", Port)
		if s.ver.atLeast(6, 2) {
			kv("server_time_usec", now.UnixMicro())
		}
		kv("uptime_in_seconds", int64(up.Seconds()))
		kv("uptime_in_days", int64(up.Hours()/24))
		kv("hz", 10)
		kv("configured_hz", 10)
		kv("lru_clock", now.Unix()%(1<<24))
		kv("executable", "/usr/bin/redis-server")
		kv("config_file", "/etc/redis/redis.conf")
		if s.ver.atLeast(6, 0) {
			kv("io_threads_active", 0)
		}
	case "clients":
		b.WriteString("# Clients\r\n")
		kv("connected_clients", 1+int(ss.id%3))
		if s.ver.atLeast(7, 0) {
			kv("cluster_connections", 0)
		}
		if s.ver.atLeast(6, 2) {
			kv("maxclients", 10000)
		}
		kv("client_recent_max_input_buffer", 20480)
		kv("client_recent_max_output_buffer", 0)
		kv("blocked_clients", 0)
		if s.ver.atLeast(6, 2) {
			kv("tracking_clients", 0)
			kv("clients_in_timeout_table", 0)
		}
	case "memory":
		b.WriteString("# Memory\r\n")
		used := 1031432 + 64*len(ss.db0().m)
		kv("used_memory", used)
		kv("used_memory_human", fmt.Sprintf("%.2fM", float64(used)/(1<<20)))
		kv("used_memory_rss", 7340032)
		kv("used_memory_rss_human", "7.00M")
		kv("used_memory_peak", 1190648)
		kv("used_memory_peak_human", "1.14M")
		kv("used_memory_peak_perc", "86.63%")
		kv("used_memory_overhead", 862880)
		kv("used_memory_startup", 862224)
		kv("used_memory_dataset", used-862880)
		kv("total_system_memory", 4109926400)
		kv("total_system_memory_human", "3.83G")
		kv("used_memory_lua", 31744)
		kv("used_memory_lua_human", "31.00K")
		kv("maxmemory", 0)
		kv("maxmemory_human", "0B")
		kv("maxmemory_policy", "noeviction")
		kv("allocator_frag_ratio", "1.02")
		kv("mem_fragmentation_ratio", "7.12")
		kv("mem_allocator", "jemalloc-5.2.1")
		kv("active_defrag_running", 0)
		kv("lazyfree_pending_objects", 0)
	case "persistence":
		b.WriteString("# Persistence\r\n")
		kv("loading", 0)
		if s.ver.atLeast(7, 0) {
			kv("async_loading", 0)
		}
		kv("rdb_changes_since_last_save", 3)
		kv("rdb_bgsave_in_progress", 0)
		kv("rdb_last_save_time", now.Unix()-int64(60+s.pid%600))
		kv("rdb_last_bgsave_status", "ok")
		kv("rdb_last_bgsave_time_sec", 0)
		kv("rdb_current_bgsave_time_sec", -1)
		kv("aof_enabled", 0)
		kv("aof_rewrite_in_progress", 0)
		kv("aof_rewrite_scheduled", 0)
		kv("aof_last_rewrite_time_sec", -1)
		kv("aof_current_rewrite_time_sec", -1)
		kv("aof_last_bgrewrite_status", "ok")
		kv("aof_last_write_status", "ok")
	case "stats":
		b.WriteString("# Stats\r\n")
		conns := 1200 + int64(up.Hours())*7
		kv("total_connections_received", conns)
		kv("total_commands_processed", conns*23)
		kv("instantaneous_ops_per_sec", 0)
		kv("total_net_input_bytes", conns*1100)
		kv("total_net_output_bytes", conns*5300)
		kv("rejected_connections", 0)
		kv("expired_keys", conns/3)
		kv("evicted_keys", 0)
		kv("keyspace_hits", conns*9)
		kv("keyspace_misses", conns*2)
		kv("pubsub_channels", 0)
		kv("pubsub_patterns", 0)
		kv("latest_fork_usec", 412)
		if s.ver.atLeast(6, 2) {
			kv("total_forks", up.Hours())
		}
		kv("migrate_cached_sockets", 0)
		if s.ver.atLeast(6, 2) {
			kv("total_reads_processed", conns*24)
			kv("total_writes_processed", conns*23)
			kv("io_threaded_reads_processed", 0)
			kv("io_threaded_writes_processed", 0)
		}
	case "replication":
		b.WriteString("# Replication\r\n")
		kv("role", "master")
		kv("connected_slaves", 0)
		kv("master_failover_state", "no-failover")
		kv("master_replid", s.runID[:20]+s.buildID+s.runID[36:])
		kv("master_replid2", "0000000000000000000000000000000000000000")
		kv("master_repl_offset", 0)
		kv("second_repl_offset", -1)
		kv("repl_backlog_active", 0)
		kv("repl_backlog_size", 1048576)
		kv("repl_backlog_first_byte_offset", 0)
		kv("repl_backlog_histlen", 0)
	case "cpu":
		b.WriteString("# CPU\r\n")
		h := up.Hours()
		kv("used_cpu_sys", fmt.Sprintf("%.6f", h*1.91))
		kv("used_cpu_user", fmt.Sprintf("%.6f", h*2.37))
		kv("used_cpu_sys_children", "0.004112")
		kv("used_cpu_user_children", "0.001508")
	case "modules":
		b.WriteString("# Modules\r\n")
	case "errorstats":
		b.WriteString("# Errorstats\r\n")
	case "cluster":
		b.WriteString("# Cluster\r\n")
		kv("cluster_enabled", 0)
	case "commandstats":
		b.WriteString("# Commandstats\r\n")
	case "keyspace":
		b.WriteString("# Keyspace\r\n")
		for i, db := range ss.dbs {
			if db == nil {
				continue
			}
			if n := len(db.keys(now)); n > 0 {
				fmt.Fprintf(b, "db%d:keys=%d,expires=%d,avg_ttl=0\r\n", i, n, db.expires())
			}
		}
	}
}

// osLine is INFO's os field: uname sysname, release and machine of the decky.
func (s *server) osLine() string {
	d := s.rt.Distro
	switch d.OSFamily {
	case catalog.FamilyLinux:
		return fmt.Sprintf("Linux %s %s", d.Kernel, d.Arch)
	case catalog.FamilyBSD:
		return fmt.Sprintf("FreeBSD %s amd64", d.Kernel)
	}
	// A Redis on a non-Unix decky runs in WSL or a Linux VM beside it.
	return "Linux 5.15.153.1-microsoft-standard-WSL2 x86_64"
}
