// Package dockerapi is a Docker Engine API honeypot on 2375/tcp (the unauthenticated
// TCP socket an admin exposes with -H tcp://0.0.0.0:2375): it answers /_ping,
// /version, /info, container and image listings and inspection like the persona's
// dockerd (including the API version negotiation the docker CLI does, and versioned
// /v1.xx/ paths), and records every request. Container create, exec, start, image
// pull and build attempts are recorded with their payloads (image, command,
// entrypoint, binds, privileged) and answered plausibly: a container is created
// when its image is "present", then fails to start the way a broken runc does; an
// exec runs with no output; pulls fail like a host without registry access.
// Nothing is ever executed, pulled or built.
//
// The server is Go's net/http, as dockerd's is, so header order, Date and error
// framing match the real daemon.
package dockerapi

import (
	"fmt"
	"strconv"
	"strings"

	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "docker_api",
		Summary: "Docker Engine API on tcp/2375: version/info/containers/images; create, exec, pull and build attempts recorded",
		Ports:   []fleet.Port{{Number: Port, Proto: "tcp"}},
		Keys:    Keys,
		Run:     run,
	})
}

// Port is dockerd's unencrypted TCP port.
const Port = 2375

// Persona keys.
const (
	KeyVersion    = "version"
	KeyContainers = "containers"
)

// Keys are the docker_api service's persona keys.
var Keys = []service.Key{
	{Name: KeyVersion, Kind: service.String, Default: "24.0.7", Check: checkVersion,
		Help: "Docker Engine version (20.10.x to 28.x): Server header, /version, the API version negotiated (24.0 → 1.43)"},
	{Name: KeyContainers, Kind: service.List, Default: "web:nginx:1.25-alpine,db:postgres:15,cache:redis:7-alpine,jenkins:jenkins/jenkins:lts",
		Check: checkContainers,
		Help:  "running bait containers as name:image[:tag] items, shown by docker ps and accepted by docker exec"},
}

// apiVersions is the highest API version of each engine release series.
var apiVersions = map[string]string{
	"20.10": "1.41", "23.0": "1.42", "24.0": "1.43", "25.0": "1.44", "26.0": "1.45", "26.1": "1.45",
	"27.0": "1.46", "27.1": "1.46", "27.2": "1.47", "27.3": "1.47", "27.4": "1.47", "27.5": "1.47",
	"28.0": "1.48", "28.1": "1.49", "28.2": "1.50", "28.3": "1.51", "28.4": "1.51", "28.5": "1.51",
}

// series is "major.minor" of an engine version.
func series(v string) string {
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "." + parts[1]
}

func checkVersion(v string) error {
	parts := strings.Split(v, ".")
	ok := len(parts) == 3
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			ok = false
		}
	}
	if _, known := apiVersions[series(v)]; !ok || !known {
		return fmt.Errorf("%q is not a Docker Engine version of a known series (20.10, 23.0 to 28.5; like 24.0.7)", v)
	}
	return nil
}

// checkContainers validates name:image[:tag] items.
func checkContainers(v string) error {
	for _, item := range service.SplitList(v) {
		name, img, ok := strings.Cut(item, ":")
		if !ok || name == "" || img == "" {
			return fmt.Errorf("%q is not a name:image[:tag] item", item)
		}
	}
	return nil
}
