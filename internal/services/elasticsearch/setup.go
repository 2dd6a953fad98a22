// Package elasticsearch is an Elasticsearch honeypot on 9200/tcp: the REST API of a
// single-node cluster of the persona's version (root document, _cat, _cluster/health,
// _nodes, _search over bait indices and documents, index create/delete/write
// answered like the real node) with Elasticsearch's own header set and error
// bodies, recording every request (method, path, query, body, user agent) and any
// credentials (Basic, Bearer, ApiKey) it carries. With the `security` persona key,
// requests without credentials get the 401 of a node with X-Pack security.
//
// HTTP is read here (bounded head and body, net/http's parser) and written by hand:
// Elasticsearch's Netty server writes lower-case `content-type`/`content-length`
// after its own headers, no Date, and answers HTTP/1.0 requests in HTTP/1.0, which
// net/http's server would not reproduce.
package elasticsearch

import (
	"fmt"
	"strconv"
	"strings"

	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "elasticsearch",
		Summary: "Elasticsearch REST API (single node): root, _cat, _cluster/health, _nodes, _search over bait indices; requests and credentials recorded",
		Ports:   []fleet.Port{{Number: Port, Proto: "tcp"}},
		Keys:    Keys,
		Run:     run,
	})
}

// Port is Elasticsearch's HTTP port.
const Port = 9200

// Persona keys.
const (
	KeyVersion     = "version"
	KeyClusterName = "cluster_name"
	KeyIndices     = "indices"
	KeySecurity    = "security"
)

// Keys are the elasticsearch service's persona keys.
var Keys = []service.Key{
	// The default is 7.10.2, the last Apache-licensed release and the most common
	// exposed node: scanners (nmap -sV included) name it with its version, while
	// 7.14+ nodes send X-elastic-product first and nmap 7.93 no longer recognises them.
	{Name: KeyVersion, Kind: service.String, Default: "7.10.2", Check: checkVersion,
		Help: "Elasticsearch version (6.8 to 8.15 series): root document, build hash, Lucene version, header set (7.14+ adds X-elastic-product)"},
	{Name: KeyClusterName, Kind: service.String, Default: "elasticsearch", Check: checkName,
		Help: "cluster_name (elasticsearch is the default a node gets when nobody sets it)"},
	{Name: KeyIndices, Kind: service.List, Default: "customers,orders-2024,users,payments,logs-app-2024.11",
		Help: "bait indices listed by _cat/indices and searched by _search"},
	{Name: KeySecurity, Kind: service.Bool, Default: "false",
		Help: "X-Pack security on: requests without credentials get 401 security_exception, credentials are captured then refused (false: an open node, the common exposure)"},
}

func checkName(v string) error {
	if v == "" || len(v) > 128 || strings.ContainsAny(v, "\"\\\r\n") {
		return fmt.Errorf("%q is not a cluster name (1 to 128 characters, no quotes, backslashes or line breaks)", v)
	}
	return nil
}

// release is what a version's root document says about its build.
type release struct {
	hash, date, lucene, minWire, minIndex string
}

// releases are builds DECNET knows exactly; other versions of a known series get
// the series' Lucene and compatibility versions and a stable derived hash.
var releases = map[string]release{
	"8.13.4": {"da95df118650b55a500dcc181889ac35c6d8da7c", "2024-05-06T22:04:45.107454559Z", "9.10.0", "7.17.0", "7.0.0"},
	"8.11.1": {"6f9ff581fbcde658e6f69d6ce03050f060d1fd0c", "2023-11-11T10:05:59.421038163Z", "9.8.0", "7.17.0", "7.0.0"},
	"7.10.2": {"747e1cc71def077253878a59143c1f785afa92b9", "2021-01-13T00:42:12.435326Z", "8.7.0", "6.8.0", "6.0.0-beta1"},
}

// seriesLucene is the Lucene version of each release series.
var seriesLucene = map[string]string{
	"6.8": "7.7.3", "7.9": "8.6.0", "7.10": "8.7.0", "7.16": "8.10.1", "7.17": "8.11.3",
	"8.0": "9.0.0", "8.1": "9.0.0", "8.2": "9.1.0", "8.3": "9.2.0", "8.4": "9.3.0", "8.5": "9.4.1",
	"8.6": "9.4.2", "8.7": "9.5.0", "8.8": "9.6.0", "8.9": "9.7.0", "8.10": "9.7.0", "8.11": "9.8.0",
	"8.12": "9.9.2", "8.13": "9.10.0", "8.14": "9.10.0", "8.15": "9.11.1",
}

// version is a parsed Elasticsearch version.
type version struct {
	text         string
	major, minor int
}

func parseVersion(v string) (version, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return version{}, false
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 || x > 99 {
			return version{}, false
		}
		n[i] = x
	}
	ver := version{v, n[0], n[1]}
	if _, ok := seriesLucene[ver.series()]; !ok {
		return version{}, false
	}
	return ver, true
}

func (v version) series() string { return strconv.Itoa(v.major) + "." + strconv.Itoa(v.minor) }

func (v version) atLeast(major, minor int) bool {
	return v.major > major || v.major == major && v.minor >= minor
}

func checkVersion(v string) error {
	if _, ok := parseVersion(v); !ok {
		return fmt.Errorf("%q is not an Elasticsearch version of a known series (6.8, 7.9, 7.10, 7.16, 7.17, 8.0 to 8.15; like 8.13.4)", v)
	}
	return nil
}

// releaseOf returns the build facts of v.
func releaseOf(v version) release {
	if r, ok := releases[v.text]; ok {
		return r
	}
	r := release{hash: derivedHex("es-build-"+v.text, 40), lucene: seriesLucene[v.series()]}
	switch {
	case v.major >= 8:
		r.minWire, r.minIndex = "7.17.0", "7.0.0"
		r.date = "2024-01-15T10:05:13.245711374Z"
	case v.major == 7:
		r.minWire, r.minIndex = "6.8.0", "6.0.0-beta1"
		r.date = "2022-03-03T14:20:00.690422633Z"
	default:
		r.minWire, r.minIndex = "5.6.0", "5.0.0"
		r.date = "2021-10-15T00:00:00.000000Z"
	}
	return r
}
