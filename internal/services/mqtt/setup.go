// Package mqtt is an MQTT honeypot on 1883/tcp: a broker that speaks MQTT 3.1,
// 3.1.1 and 5.0 like the persona's Mosquitto. It captures every CONNECT
// (username, plaintext password, client id, protocol version), answers it as the
// persona's allow_anonymous and users decide (a refusal is Mosquitto's own "not
// authorised" CONNACK), records every SUBSCRIBE, UNSUBSCRIBE and PUBLISH (payloads
// capped), and serves bait retained topics: Mosquitto's $SYS tree and a smart-home
// sensor tree named after the decky.
//
// The MQTT protocol itself is github.com/mochi-mqtt/server/v2, served on the
// runtime's limited listener; this package only adds the persona and the capture.
package mqtt

import (
	"fmt"
	"strings"

	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "mqtt",
		Summary: "MQTT 3.1.1/5.0 broker (Mosquitto persona): CONNECT credentials, SUBSCRIBE and PUBLISH recorded, bait retained topics",
		Ports:   []fleet.Port{{Number: 1883, Proto: "tcp"}},
		Keys:    Keys,
		Run:     run,
	})
}

// Persona keys.
const (
	KeyVersion        = "version"
	KeyAllowAnonymous = "allow_anonymous"
	KeyUsers          = "users"
	KeyRetained       = "retained"
)

// Keys are the mqtt service's persona keys.
var Keys = []service.Key{
	{Name: KeyVersion, Kind: service.String, Default: "2.0.18", Help: "Mosquitto version in $SYS/broker/version", Check: checkVersion},
	{Name: KeyAllowAnonymous, Kind: service.Bool, Default: "true", Help: "accept a CONNECT without a username (Mosquitto's allow_anonymous)"},
	{Name: KeyUsers, Kind: service.List, Help: "user:password pairs (a password_file); when set, a CONNECT with any other username or password is refused \"not authorised\"; empty: any username is accepted", Check: service.CheckUsers},
	{Name: KeyRetained, Kind: service.List, Help: "bait retained messages, topic=payload items (default: a smart-home sensor tree named after the hostname)", Check: checkRetained},
}

func checkVersion(v string) error {
	if v == "" || len(v) > 32 || strings.ContainsAny(v, " \t\r\n") {
		return fmt.Errorf("%q is not a version (1 to 32 characters, no spaces)", v)
	}
	return nil
}

func checkRetained(v string) error {
	for _, item := range service.SplitList(v) {
		topic, _, ok := strings.Cut(item, "=")
		if !ok || topic == "" || strings.ContainsAny(topic, "+#\x00") || len(topic) > 1024 {
			return fmt.Errorf("%q is not a topic=payload item (a topic name without wildcards)", item)
		}
	}
	return nil
}
