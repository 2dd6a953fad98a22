package ldap

import (
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

// attr is one attribute of an entry.
type attr struct {
	name   string
	values []string
}

// adControls are the supportedControl OIDs a Windows Server 2016–2022 DC lists.
var adControls = []string{
	"1.2.840.113556.1.4.319", "1.2.840.113556.1.4.801", "1.2.840.113556.1.4.473", "1.2.840.113556.1.4.528",
	"1.2.840.113556.1.4.417", "1.2.840.113556.1.4.619", "1.2.840.113556.1.4.841", "1.2.840.113556.1.4.529",
	"1.2.840.113556.1.4.805", "1.2.840.113556.1.4.521", "1.2.840.113556.1.4.970", "1.2.840.113556.1.4.1338",
	"1.2.840.113556.1.4.474", "1.2.840.113556.1.4.1339", "1.2.840.113556.1.4.1340", "1.2.840.113556.1.4.1413",
	"2.16.840.1.113730.3.4.9", "2.16.840.1.113730.3.4.10", "1.2.840.113556.1.4.1504", "1.2.840.113556.1.4.1852",
	"1.2.840.113556.1.4.802", "1.2.840.113556.1.4.1907", "1.2.840.113556.1.4.1948", "1.2.840.113556.1.4.1974",
	"1.2.840.113556.1.4.1341", "1.2.840.113556.1.4.2026", "1.2.840.113556.1.4.2064", "1.2.840.113556.1.4.2065",
	"1.2.840.113556.1.4.2066", "1.2.840.113556.1.4.2090", "1.2.840.113556.1.4.2205", "1.2.840.113556.1.4.2204",
	"1.2.840.113556.1.4.2206", "1.2.840.113556.1.4.2211", "1.2.840.113556.1.4.2239", "1.2.840.113556.1.4.2255",
	"1.2.840.113556.1.4.2256", "1.2.840.113556.1.4.2309", "1.2.840.113556.1.4.2330", "1.2.840.113556.1.4.2354",
}

var adPolicies = []string{
	"MaxPoolThreads", "MaxPercentDirSyncRequests", "MaxDatagramRecv", "MaxReceiveBuffer", "InitRecvTimeout",
	"MaxConnections", "MaxConnIdleTime", "MaxPageSize", "MaxBatchReturnMessages", "MaxQueryDuration",
	"MaxDirSyncDuration", "MaxTempTableSize", "MaxResultSetSize", "MinResultSets", "MaxResultSetsPerConn",
	"MaxNotificationPerConn", "MaxValRange", "MaxValRangeTransitive", "ThreadMemoryLimit", "SystemMemoryLimitPercent",
}

var adCapabilities = []string{
	"1.2.840.113556.1.4.800", "1.2.840.113556.1.4.1670", "1.2.840.113556.1.4.1791",
	"1.2.840.113556.1.4.1935", "1.2.840.113556.1.4.2080", "1.2.840.113556.1.4.2237",
}

// usnEpoch anchors highestCommittedUSN, which grows slowly over time as a busy
// directory's does.
var usnEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// highestUSN is stable per DC (derived from its names) and grows by a few per hour.
func (p persona) highestUSN(now time.Time) int64 {
	h := fnv.New32a()
	h.Write([]byte(p.domain + "/" + p.host))
	base := int64(h.Sum32()%400000) + 40000
	return base + int64(now.Sub(usnEpoch).Hours())*3
}

// rootDSE returns the DC's rootDSE in the order AD returns it.
func (p persona) rootDSE(now time.Time) []attr {
	base := p.baseDN()
	config := "CN=Configuration," + base
	schema := "CN=Schema," + config
	server := "CN=" + p.host + ",CN=Servers,CN=" + p.site + ",CN=Sites," + config
	lvl := strconv.Itoa(p.functional)
	return []attr{
		{"currentTime", []string{now.UTC().Format("20060102150405") + ".0Z"}},
		{"subschemaSubentry", []string{"CN=Aggregate," + schema}},
		{"dsServiceName", []string{"CN=NTDS Settings," + server}},
		{"namingContexts", []string{base, config, schema, "DC=DomainDnsZones," + base, "DC=ForestDnsZones," + base}},
		{"defaultNamingContext", []string{base}},
		{"rootDomainNamingContext", []string{base}},
		{"configurationNamingContext", []string{config}},
		{"schemaNamingContext", []string{schema}},
		{"serverName", []string{server}},
		{"supportedControl", adControls},
		{"supportedLDAPVersion", []string{"3", "2"}},
		{"supportedLDAPPolicies", adPolicies},
		{"highestCommittedUSN", []string{strconv.FormatInt(p.highestUSN(now), 10)}},
		{"supportedSASLMechanisms", []string{"GSSAPI", "GSS-SPNEGO", "EXTERNAL", "DIGEST-MD5"}},
		{"dnsHostName", []string{p.dnsHostName()}},
		{"ldapServiceName", []string{p.domain + ":" + strings.ToLower(p.host) + "$@" + strings.ToUpper(p.domain)}},
		{"supportedCapabilities", adCapabilities},
		{"isSynchronized", []string{"TRUE"}},
		{"isGlobalCatalogReady", []string{"TRUE"}},
		{"domainFunctionality", []string{lvl}},
		{"forestFunctionality", []string{lvl}},
		{"domainControllerFunctionality", []string{lvl}},
	}
}

// selectAttrs applies a search's attribute selection: none or "*" is every
// attribute, "1.1" none, otherwise the named ones (case-insensitive) in the
// entry's own order.
func selectAttrs(all []attr, want []string) []attr {
	if len(want) == 0 {
		return all
	}
	set := map[string]bool{}
	for _, w := range want {
		if w == "*" {
			return all
		}
		set[strings.ToLower(w)] = true
	}
	var out []attr
	for _, a := range all {
		if set[strings.ToLower(a.name)] {
			out = append(out, a)
		}
	}
	return out
}
