// Package tftp is a TFTP server honeypot on 69/udp that behaves like tftpd-hpa: read
// requests get a small persona set of bait files (a PXE menu, a network device's
// startup-config) or tftpd-hpa's "File not found", write requests are accepted and
// the uploaded file is kept as an artifact (its SHA-256 in a file_upload event).
// octet and netascii modes and the blksize, tsize and timeout options (RFC 2347-2349)
// are supported; each transfer runs on its own ephemeral socket, as TFTP requires.
//
// The protocol is written here (packet.go): github.com/pin/tftp owns its listening
// socket and its accept loop, which the runtime's UDP port (limits, events, tests'
// loopback binding) must own instead, and the protocol is five packet types.
package tftp

import (
	"fmt"

	"decnet/internal/catalog"
	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "tftp",
		Summary: "TFTP server (tftpd-hpa persona): bait files served, uploads captured",
		Ports:   []fleet.Port{{Number: Port, Proto: "udp"}},
		Keys:    Keys,
		Run:     run,
	})
}

// Port is TFTP's port.
const Port = 69

// Persona keys.
const (
	KeyFiles       = "files"
	KeyAllowUpload = "allow_upload"
)

// Keys are the tftp service's persona keys.
var Keys = []service.Key{
	{Name: KeyFiles, Kind: service.List, Check: checkFiles,
		Help: "bait files served (of: " + baitNames() + "; default: pxelinux.cfg/default and startup-config, on a Cisco persona startup-config and network-confg)"},
	{Name: KeyAllowUpload, Kind: service.Bool, Default: "true",
		Help: "accept write requests (tftpd-hpa -c); when false they get `Access violation`"},
}

func checkFiles(v string) error {
	for _, f := range service.SplitList(v) {
		if _, ok := baits[f]; !ok {
			return fmt.Errorf("%q is not a bait file (known: %s)", f, baitNames())
		}
	}
	return nil
}

// defaultFiles is the bait set of an OS family.
func defaultFiles(osFamily string) []string {
	if osFamily == catalog.FamilyCisco {
		return []string{"startup-config", "network-confg"}
	}
	return []string{"pxelinux.cfg/default", "startup-config"}
}
