// Package vnc is a VNC (RFB) server honeypot on 5900/tcp. It speaks the RFB 3.8
// handshake (with the 3.3 and 3.7 variants for older viewers), offers the VNC
// Authentication security type, sends a fresh 16-byte challenge and captures the
// viewer's DES response as a `$vnc$*challenge*response` line (John the Ripper's VNC
// format), then refuses the login with the persona product's failure text. Nothing
// beyond the handshake is ever served: no password opens the desktop.
//
// The RFB handshake is written here: it is a dozen fixed-size fields, and Go's VNC
// libraries are clients or full framebuffer servers.
package vnc

import (
	"fmt"

	"decnet/internal/catalog"
	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "vnc",
		Summary: "VNC server (RFB 3.3/3.7/3.8): VNC authentication responses captured, crackable",
		Ports:   []fleet.Port{{Number: Port, Proto: "tcp"}},
		Keys:    Keys,
		Run:     run,
	})
}

// Port is VNC display :0.
const Port = 5900

// Persona keys.
const (
	KeyVersion = "version"
	KeyProduct = "product"
)

// products maps a product persona to the text its server sends with a failed
// SecurityResult (RFB 3.8).
var products = map[string]string{
	"tigervnc":     "Authentication failed",
	"realvnc":      "Authentication failure",
	"libvncserver": "password check failed!",
}

// Keys are the vnc service's persona keys.
var Keys = []service.Key{
	{Name: KeyVersion, Kind: service.String, Default: "003.008", Check: checkVersion,
		Help: "protocol version of the server's banner: 003.003, 003.007, 003.008, or RealVNC's 004.001 / 005.000 (viewers then speak 3.8)"},
	{Name: KeyProduct, Kind: service.String, Check: checkProduct,
		Help: "server product whose failure text is sent: tigervnc, realvnc or libvncserver (default: realvnc on Windows, tigervnc elsewhere)"},
}

func checkVersion(v string) error {
	switch v {
	case "003.003", "003.007", "003.008", "004.001", "005.000":
		return nil
	}
	return fmt.Errorf("%q is not an RFB version this server speaks (003.003, 003.007, 003.008, 004.001, 005.000)", v)
}

func checkProduct(v string) error {
	if _, ok := products[v]; !ok {
		return fmt.Errorf("%q is not a known VNC product (tigervnc, realvnc, libvncserver)", v)
	}
	return nil
}

// defaultProduct picks the VNC server a decky of this OS family would run.
func defaultProduct(osFamily string) string {
	if osFamily == catalog.FamilyWindows || osFamily == catalog.FamilyWindowsServer {
		return "realvnc"
	}
	return "tigervnc"
}
