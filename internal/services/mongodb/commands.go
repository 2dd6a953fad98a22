package mongodb

import (
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"decnet/internal/event"
	"decnet/internal/service"
)

// buildEnv is what buildInfo says about how this mongod was built and where it runs.
type buildEnv struct {
	distmod  string // MongoDB's build flavour for the distro (ubuntu2204, rhel90, ...)
	openssl  string // "" on Windows (SChannel)
	osType   string // hostInfo os.type
	osName   string
	osVer    string
	targetOS string
}

// buildFor picks the MongoDB build a decky of this distro would run: MongoDB's own
// packages for the distro, or its Ubuntu 22.04 build where it has none.
func buildFor(distro, family string) buildEnv {
	if strings.HasPrefix(family, "windows") || strings.HasPrefix(distro, "windows") {
		return buildEnv{distmod: "windows", osType: "Windows", osName: "Microsoft Windows Server 2019", osVer: "10.0 (build 17763)", targetOS: "windows"}
	}
	switch distro {
	case "ubuntu20":
		return buildEnv{"ubuntu2004", "OpenSSL 1.1.1f  31 Mar 2020", "Linux", "Ubuntu", "20.04", "linux"}
	case "debian", "kali":
		return buildEnv{"debian12", "OpenSSL 3.0.15 3 Sep 2024", "Linux", `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"`, "Kernel 6.1.0-23-amd64", "linux"}
	case "rocky9", "fedora":
		return buildEnv{"rhel90", "OpenSSL 3.0.7 1 Nov 2022", "Linux", "Rocky Linux release 9.4 (Blue Onyx)", "Kernel 5.14.0-427.13.1.el9_4.x86_64", "linux"}
	case "centos7":
		return buildEnv{"rhel70", "OpenSSL 1.0.1e-fips 11 Feb 2013", "Linux", "CentOS Linux release 7.9.2009 (Core)", "Kernel 3.10.0-1160.119.1.el7.x86_64", "linux"}
	}
	return buildEnv{"ubuntu2204", "OpenSSL 3.0.2 15 Mar 2022", "Linux", "Ubuntu", "22.04", "linux"}
}

// gitVersion is a stable 40-hex build hash for a version (mongod reports the
// commit it was built from).
func gitVersion(v string) string {
	sum := sha256.Sum256([]byte("mongodb-r" + v))
	const hexd = "0123456789abcdef"
	b := make([]byte, 40)
	for i := range b {
		b[i] = hexd[sum[i/2]>>(4*(1-uint(i%2)))&0xf]
	}
	return string(b)
}

func (cn *conn) buildInfo(*request) D {
	s := cn.s
	v := s.ver
	be := s.build
	d := D{
		{"version", v.text},
		{"gitVersion", gitVersion(v.text)},
		{"modules", bson.A{}},
		{"allocator", "tcmalloc"},
		{"javascriptEngine", "mozjs"},
		{"sysInfo", "deprecated"},
		{"versionArray", bson.A{int32(v.major), int32(v.minor), int32(v.patch), int32(0)}},
	}
	if be.openssl != "" {
		d = append(d, E{"openssl", D{{"running", be.openssl}, {"compiled", be.openssl}}})
	} else {
		d = append(d, E{"openssl", D{{"running", "Windows SChannel"}}})
	}
	cc := "/opt/mongodbtoolchain/v4/bin/gcc: gcc (GCC) 11.3.0"
	if !v.atLeast(6, 0) {
		cc = "/opt/mongodbtoolchain/v3/bin/gcc: gcc (GCC) 8.5.0"
	}
	d = append(d,
		E{"buildEnvironment", D{
			{"distmod", be.distmod},
			{"distarch", "x86_64"},
			{"cc", cc},
			{"ccflags", "-Werror -include mongo/platform/basic.h -ffp-contract=off -fasynchronous-unwind-tables -g2 -Wall -Wsign-compare -Wno-unknown-pragmas -Winvalid-pch -gdwarf-5 -fno-omit-frame-pointer -fno-strict-aliasing -O2 -march=sandybridge -mtune=generic -mprefer-vector-width=128 -Wno-unused-local-typedefs -Wno-unused-function -Wno-deprecated-declarations -Wno-unused-const-variable -Wno-unused-but-set-variable -Wno-missing-braces -fstack-protector-strong -gdwarf64 -Wa,--nocompress-debug-sections -fno-builtin-memcmp -Wimplicit-fallthrough=5"},
			{"cxx", strings.Replace(strings.Replace(cc, "gcc:", "g++:", 1), "gcc (GCC)", "g++ (GCC)", 1)},
			{"cxxflags", "-Woverloaded-virtual -Wpessimizing-move -Wno-maybe-uninitialized -fsized-deallocation -Wno-deprecated -std=c++20"},
			{"linkflags", "-Wl,--fatal-warnings -B/opt/mongodbtoolchain/v4/bin -gdwarf-5 -pthread -Wl,-z,now -fuse-ld=lld -fstack-protector-strong -gdwarf64 -Wl,--build-id -Wl,--hash-style=gnu -Wl,-z,noexecstack -Wl,--warn-execstack -Wl,-z,relro -Wl,--compress-debug-sections=none -Wl,-z,origin -Wl,--enable-new-dtags"},
			{"target_arch", "x86_64"},
			{"target_os", be.targetOS},
			{"cppdefines", "SAFEINT_USE_INTRINSICS 0 PCRE2_STATIC NDEBUG _XOPEN_SOURCE 700 _GNU_SOURCE _FORTIFY_SOURCE 2 ABSL_FORCE_ALIGNED_ACCESS BOOST_ENABLE_ASSERT_DEBUG_HANDLER BOOST_FILESYSTEM_NO_CXX20_ATOMIC_REF BOOST_LOG_NO_SHORTHAND_NAMES BOOST_LOG_USE_NATIVE_SYSLOG BOOST_LOG_WITHOUT_THREAD_ATTR BOOST_MATH_NO_LONG_DOUBLE_MATH_FUNCTIONS BOOST_SYSTEM_NO_DEPRECATED BOOST_THREAD_USES_DATETIME BOOST_THREAD_VERSION 5"},
		}},
		E{"bits", int32(64)},
		E{"debug", false},
		E{"maxBsonObjectSize", int32(16777216)},
		E{"storageEngines", bson.A{"devnull", "wiredTiger"}},
		E{"ok", 1.0},
	)
	return d
}

// dbSize is a bait database's size on disk: stable per name, in whole 4 KiB pages.
func dbSize(name string) int64 {
	switch name {
	case "admin":
		return 102400
	case "config":
		return 110592
	case "local":
		return 73728
	}
	sum := sha256.Sum256([]byte(name))
	return int64(binary.BigEndian.Uint32(sum[:])%60000+900) * 4096
}

func (cn *conn) allDatabases() []string {
	return append([]string{"admin", "config", "local"}, cn.s.databases...)
}

func (cn *conn) listDatabases(rq *request) D {
	nameOnly, _ := rq.cmd.Lookup("nameOnly").BooleanOK()
	var dbs bson.A
	var total int64
	names := cn.allDatabases()
	// mongod lists databases in name order.
	sorted := append([]string(nil), names...)
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && sorted[j] < sorted[j-1]; j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	for _, n := range sorted {
		if nameOnly {
			dbs = append(dbs, D{{"name", n}})
			continue
		}
		size := dbSize(n)
		total += size
		dbs = append(dbs, D{{"name", n}, {"sizeOnDisk", size}, {"empty", false}})
	}
	if nameOnly {
		return D{{"databases", dbs}, {"ok", 1.0}}
	}
	return D{{"databases", dbs}, {"totalSize", total}, {"totalSizeMb", total >> 20}, {"ok", 1.0}}
}

// collectionsOf are the collections a database shows.
func collectionsOf(db string) []string {
	switch db {
	case "admin":
		return []string{"system.version"}
	case "config":
		return []string{"system.sessions"}
	case "local":
		return []string{"startup_log"}
	}
	return []string{"users", "orders", "sessions", "audit_log"}
}

func uuidFor(db, coll string) bson.Binary {
	sum := sha256.Sum256([]byte(db + "." + coll))
	u := sum[:16]
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return bson.Binary{Subtype: 4, Data: u}
}

func (cn *conn) listCollections(rq *request) D {
	var batch bson.A
	nameOnly, _ := rq.cmd.Lookup("nameOnly").BooleanOK()
	for _, c := range collectionsOf(rq.db) {
		if nameOnly {
			batch = append(batch, D{{"name", c}, {"type", "collection"}})
			continue
		}
		batch = append(batch, D{
			{"name", c}, {"type", "collection"}, {"options", D{}},
			{"info", D{{"readOnly", false}, {"uuid", uuidFor(rq.db, c)}}},
			{"idIndex", D{{"v", int32(2)}, {"key", D{{"_id", int32(1)}}}, {"name", "_id_"}}},
		})
	}
	return cursorReply(rq.db+".$cmd.listCollections", batch)
}

func cursorReply(ns string, batch bson.A) D {
	if batch == nil {
		batch = bson.A{}
	}
	return D{{"cursor", D{{"firstBatch", batch}, {"id", int64(0)}, {"ns", ns}}}, {"ok", 1.0}}
}

func emptyCursor(_ *conn, rq *request) D {
	coll, _ := rq.cmd.Lookup(firstKey(rq.cmd)).StringValueOK()
	return cursorReply(rq.db+"."+coll, nil)
}

// baitUsers are the documents of a bait database's users collection.
func (cn *conn) baitUsers(db string) bson.A {
	domain := "example.com"
	if h := cn.s.rt.Config.Hostname; strings.Contains(h, ".") {
		_, domain, _ = strings.Cut(h, ".")
	}
	people := []struct{ user, role, hash string }{
		{"admin", "admin", "$2b$12$Q0Tn3vBbIu6kLxS0m2fKUe9P6x1cW7dYzR8eFqH2jN4sAoVtGyBlu"},
		{"j.morrison", "finance", "$2b$12$8xWvT3pK0aLcZr5YhQnE2uD9fG7sJ1mB6oN4iR0tVwXyAe3HkLqPC"},
		{"svc_backup", "service", "$2b$12$Hn5rT8wQ2eY6uI0oP4aS7dF1gJ9kL3zX5cV8bN2mQ6wE0rT4yU7iO"},
	}
	var out bson.A
	for i, p := range people {
		sum := sha256.Sum256([]byte(db + p.user))
		var id bson.ObjectID
		copy(id[:], sum[:12])
		binary.BigEndian.PutUint32(id[:], uint32(cn.s.started.Unix())-uint32(86400*(300-i*40)))
		out = append(out, D{
			{"_id", id}, {"username", p.user}, {"email", p.user + "@" + domain}, {"password", p.hash},
			{"role", p.role}, {"active", true},
			{"createdAt", bson.NewDateTimeFromTime(cn.s.started.Add(-time.Duration(300-i*40) * 24 * time.Hour))},
		})
	}
	return out
}

func (cn *conn) find(rq *request) D {
	coll, _ := rq.cmd.Lookup("find").StringValueOK()
	var batch bson.A
	if coll == "users" && !strings.HasPrefix(rq.db, "admin") && rq.db != "config" && rq.db != "local" {
		batch = cn.baitUsers(rq.db)
	}
	return cursorReply(rq.db+"."+coll, batch)
}

func killCursors(_ *conn, rq *request) D {
	ids, _ := rq.cmd.Lookup("cursors").ArrayOK()
	vals, _ := ids.Values()
	var notFound bson.A
	for _, v := range vals {
		if n, ok := v.AsInt64OK(); ok {
			notFound = append(notFound, n)
		}
	}
	if notFound == nil {
		notFound = bson.A{}
	}
	return D{{"cursorsKilled", bson.A{}}, {"cursorsNotFound", notFound}, {"cursorsAlive", bson.A{}}, {"cursorsUnknown", bson.A{}}, {"ok", 1.0}}
}

// insert records the inserted documents (a ransom note, usually) as an alert.
func insert(cn *conn, rq *request) D {
	coll, _ := rq.cmd.Lookup("insert").StringValueOK()
	n := len(rq.sequences["documents"])
	if docs, ok := rq.cmd.Lookup("documents").ArrayOK(); ok {
		vals, _ := docs.Values()
		n += len(vals)
	}
	f := map[string]string{"alert": "insert", "db": service.Printable(rq.db, 256)}
	service.SetPrintableLimit(f, "collection", coll, 256)
	cn.c.Emit(event.Alert, f, "")
	return D{{"n", int32(n)}, {"ok", 1.0}}
}

func drop(cn *conn, rq *request) D {
	coll, _ := rq.cmd.Lookup("drop").StringValueOK()
	f := map[string]string{"alert": "drop", "db": service.Printable(rq.db, 256)}
	service.SetPrintableLimit(f, "collection", coll, 256)
	cn.c.Emit(event.Alert, f, "")
	if cn.s.ver.atLeast(7, 0) {
		return D{{"nIndexesWas", int32(1)}, {"ok", 1.0}}
	}
	return D{{"nIndexesWas", int32(1)}, {"ns", rq.db + "." + coll}, {"ok", 1.0}}
}

func dropDatabase(cn *conn, rq *request) D {
	cn.c.Emit(event.Alert, map[string]string{"alert": "drop-database", "db": service.Printable(rq.db, 256)}, "")
	if cn.s.ver.atLeast(5, 0) {
		return ok1
	}
	return D{{"dropped", rq.db}, {"ok", 1.0}}
}

func (cn *conn) dbStats(rq *request) D {
	size := dbSize(rq.db)
	return D{
		{"db", rq.db}, {"collections", int32(len(collectionsOf(rq.db)))}, {"views", int32(0)},
		{"objects", int64(size / 310)}, {"avgObjSize", 310.0}, {"dataSize", float64(size) * 1.8},
		{"storageSize", float64(size)}, {"indexes", int32(len(collectionsOf(rq.db)) + 1)},
		{"indexSize", float64(size / 5)}, {"totalSize", float64(size + size/5)}, {"scaleFactor", int32(1)},
		{"fsUsedSize", float64(41_823_461_376)}, {"fsTotalSize", float64(105_089_261_568)}, {"ok", 1.0},
	}
}

func (cn *conn) serverStatus(*request) D {
	s := cn.s
	now := time.Now()
	up := now.Sub(s.started)
	current := int32(cn.s.rt.OpenConns())
	return D{
		{"host", s.rt.Config.Hostname},
		{"version", s.ver.text},
		{"process", "mongod"},
		{"pid", s.pid},
		{"uptime", float64(int64(up.Seconds()))},
		{"uptimeMillis", up.Milliseconds()},
		{"uptimeEstimate", int64(up.Seconds())},
		{"localTime", bson.NewDateTimeFromTime(now)},
		{"asserts", D{{"regular", int32(0)}, {"warning", int32(0)}, {"msg", int32(0)}, {"user", int32(412)}, {"tripwire", int32(0)}, {"rollovers", int32(0)}}},
		{"connections", D{{"current", current}, {"available", int32(51200) - current}, {"totalCreated", cn.id}, {"rejected", int32(0)}, {"active", int32(1)}, {"threaded", current}}},
		{"network", D{{"bytesIn", int64(up.Seconds()) * 211}, {"bytesOut", int64(up.Seconds()) * 1874}, {"numRequests", int64(up.Seconds()) * 3}}},
		{"opcounters", D{{"insert", int64(up.Hours()) * 37}, {"query", int64(up.Hours()) * 412}, {"update", int64(up.Hours()) * 58}, {"delete", int64(up.Hours()) * 3}, {"getmore", int64(up.Hours()) * 11}, {"command", int64(up.Seconds()) * 3}}},
		{"storageEngine", D{{"name", "wiredTiger"}, {"supportsCommittedReads", true}, {"oldestRequiredTimestampForCrashRecovery", bson.Timestamp{}}, {"supportsPendingDrops", true}, {"dropPendingIdents", int64(0)}, {"supportsSnapshotReadConcern", true}, {"readOnly", false}, {"persistent", true}, {"backupCursorOpen", false}}},
		{"mem", D{{"bits", int32(64)}, {"resident", int32(164)}, {"virtual", int32(2671)}, {"supported", true}}},
		{"ok", 1.0},
	}
}

// startupWarnings are the warnings an exposed mongod logs at start.
func (cn *conn) startupWarnings() []string {
	at := cn.s.started.UTC().Format("2006-01-02T15:04:05.000+00:00")
	if !cn.s.ver.atLeast(4, 4) {
		ts := cn.s.started.UTC().Format("2006-01-02T15:04:05.000+0000")
		return []string{
			ts + " I  CONTROL  [initandlisten] ",
			ts + " I  CONTROL  [initandlisten] ** WARNING: Access control is not enabled for the database.",
			ts + " I  CONTROL  [initandlisten] **          Read and write access to data and configuration is unrestricted.",
			ts + " I  CONTROL  [initandlisten] ",
		}
	}
	var w []string
	if !cn.s.requireAuth {
		w = append(w, `{"t":{"$date":"`+at+`"},"s":"W",  "c":"CONTROL",  "id":22120,   "ctx":"initandlisten","msg":"Access control is not enabled for the database. Read and write access to data and configuration is unrestricted","tags":["startupWarnings"]}`)
	}
	w = append(w, `{"t":{"$date":"`+at+`"},"s":"W",  "c":"CONTROL",  "id":22178,   "ctx":"initandlisten","msg":"/sys/kernel/mm/transparent_hugepage/enabled is 'always'. We suggest setting it to 'never' in this binary version","tags":["startupWarnings"]}`)
	return w
}

func (cn *conn) getLog(rq *request) D {
	which, _ := rq.cmd.Lookup("getLog").StringValueOK()
	switch which {
	case "*":
		return D{{"names", bson.A{"global", "startupWarnings"}}, {"ok", 1.0}}
	case "startupWarnings", "global":
		lines := cn.startupWarnings()
		var a bson.A
		for _, l := range lines {
			a = append(a, l)
		}
		return D{{"totalLinesWritten", int32(len(lines))}, {"log", a}, {"ok", 1.0}}
	}
	return cmdError(0, "", "no RecentEntries named: "+which)
}

func (cn *conn) getCmdLineOpts(*request) D {
	if cn.s.build.targetOS == "windows" {
		return D{
			{"argv", bson.A{`C:\Program Files\MongoDB\Server\` + cn.s.ver.series() + `\bin\mongod.exe`, "--config", `C:\Program Files\MongoDB\Server\` + cn.s.ver.series() + `\bin\mongod.cfg`, "--service"}},
			{"parsed", D{{"config", `C:\Program Files\MongoDB\Server\` + cn.s.ver.series() + `\bin\mongod.cfg`}, {"net", D{{"bindIp", "0.0.0.0"}, {"port", int32(Port)}}}, {"service", true}}},
			{"ok", 1.0},
		}
	}
	return D{
		{"argv", bson.A{"/usr/bin/mongod", "--config", "/etc/mongod.conf"}},
		{"parsed", D{
			{"config", "/etc/mongod.conf"},
			{"net", D{{"bindIp", "0.0.0.0"}, {"port", int32(Port)}}},
			{"processManagement", D{{"timeZoneInfo", "/usr/share/zoneinfo"}}},
			{"storage", D{{"dbPath", "/var/lib/mongodb"}}},
			{"systemLog", D{{"destination", "file"}, {"logAppend", true}, {"path", "/var/log/mongodb/mongod.log"}}},
		}},
		{"ok", 1.0},
	}
}

func (cn *conn) hostInfo(*request) D {
	be := cn.s.build
	return D{
		{"system", D{
			{"currentTime", bson.NewDateTimeFromTime(time.Now())}, {"hostname", cn.s.rt.Config.Hostname},
			{"cpuAddrSize", int32(64)}, {"memSizeMB", int64(7949)}, {"memLimitMB", int64(7949)},
			{"numCores", int32(4)}, {"numPhysicalCores", int32(2)}, {"numCpuSockets", int32(1)},
			{"cpuArch", "x86_64"}, {"numaEnabled", false}, {"numNumaNodes", int32(1)},
		}},
		{"os", D{{"type", be.osType}, {"name", be.osName}, {"version", be.osVer}}},
		{"extra", D{{"versionString", "Linux version " + cn.s.rt.Distro.Kernel}, {"libcVersion", "2.35"}, {"kernelVersion", cn.s.rt.Distro.Kernel}, {"cpuFrequencyMHz", "2399.998"}, {"cpuFeatures", "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx lm constant_tsc rep_good nopl cpuid pni pclmulqdq ssse3 cx16 sse4_1 sse4_2 popcnt aes xsave avx hypervisor lahf_lm"}, {"pageSize", int64(4096)}, {"numPages", int32(2034944)}, {"maxOpenFiles", int32(64000)}}},
		{"ok", 1.0},
	}
}

func connectionStatus(*conn, *request) D {
	return D{{"authInfo", D{{"authenticatedUsers", bson.A{}}, {"authenticatedUserRoles", bson.A{}}}}, {"ok", 1.0}}
}

func (cn *conn) getParameter(rq *request) D {
	d := D{}
	if rq.cmd.Lookup("featureCompatibilityVersion").Type != 0 {
		d = append(d, E{"featureCompatibilityVersion", D{{"version", cn.s.ver.series()}}})
	}
	if rq.cmd.Lookup("authenticationMechanisms").Type != 0 {
		mechs := bson.A{mechSHA1}
		if cn.s.ver.atLeast(4, 0) {
			mechs = append(mechs, mechSHA256)
		}
		d = append(d, E{"authenticationMechanisms", mechs})
	}
	if len(d) == 0 {
		return cmdError(72, "InvalidOptions", "no option found to get")
	}
	return append(d, E{"ok", 1.0})
}
