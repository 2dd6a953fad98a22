package dockerapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
)

func (s *server) kernel() string {
	if k := s.rt.Distro.Kernel; k != "" {
		return k
	}
	return "5.15.0-116-generic"
}

func (s *server) versionInfo() map[string]any {
	e := s.eng
	details := map[string]any{
		"ApiVersion": s.api, "Arch": "amd64", "BuildTime": e.buildTime, "Experimental": "false",
		"GitCommit": e.commit, "GoVersion": e.goVersion, "KernelVersion": s.kernel(), "MinAPIVersion": "1.12", "Os": "linux",
	}
	return map[string]any{
		"Platform": map[string]string{"Name": "Docker Engine - Community"},
		"Components": []any{
			map[string]any{"Name": "Engine", "Version": s.version, "Details": details},
			map[string]any{"Name": "containerd", "Version": e.containerd, "Details": map[string]string{"GitCommit": e.containerdCommit}},
			map[string]any{"Name": "runc", "Version": e.runc, "Details": map[string]string{"GitCommit": e.runcCommit}},
			map[string]any{"Name": "docker-init", "Version": e.initVer, "Details": map[string]string{"GitCommit": e.initCommit}},
		},
		"Version": s.version, "ApiVersion": s.api, "MinAPIVersion": "1.12", "GitCommit": e.commit, "GoVersion": e.goVersion,
		"Os": "linux", "Arch": "amd64", "KernelVersion": s.kernel(), "BuildTime": e.buildTime,
	}
}

func (s *server) info() map[string]any {
	s.mu.Lock()
	created := len(s.created)
	s.mu.Unlock()
	os := s.rt.Distro.Display
	if os == "" {
		os = "Ubuntu 22.04.4 LTS"
	}
	return map[string]any{
		"ID": strings.ToUpper(s.hostID), "Containers": len(s.baits) + created, "ContainersRunning": len(s.baits),
		"ContainersPaused": 0, "ContainersStopped": created, "Images": len(s.images()), "Driver": "overlay2",
		"DriverStatus": [][2]string{{"Backing Filesystem", "extfs"}, {"Supports d_type", "true"}, {"Using metacopy", "false"}, {"Native Overlay Diff", "true"}, {"userxattr", "false"}},
		"Plugins": map[string]any{
			"Volume": []string{"local"}, "Network": []string{"bridge", "host", "ipvlan", "macvlan", "null", "overlay"},
			"Authorization": nil, "Log": []string{"awslogs", "fluentd", "gcplogs", "gelf", "journald", "json-file", "local", "logentries", "splunk", "syslog"},
		},
		"MemoryLimit": true, "SwapLimit": false, "KernelMemoryTCP": false, "CpuCfsPeriod": true, "CpuCfsQuota": true,
		"CPUShares": true, "CPUSet": true, "PidsLimit": true, "IPv4Forwarding": true, "BridgeNfIptables": true,
		"BridgeNfIp6tables": true, "Debug": false, "NFd": 38, "OomKillDisable": false, "NGoroutines": 51,
		"SystemTime": time.Now().Format(time.RFC3339Nano), "LoggingDriver": "json-file", "CgroupDriver": "systemd",
		"CgroupVersion": "2", "NEventsListener": 0, "KernelVersion": s.kernel(), "OperatingSystem": os, "OSVersion": "",
		"OSType": "linux", "Architecture": "x86_64", "IndexServerAddress": "https://index.docker.io/v1/",
		"RegistryConfig": map[string]any{
			"AllowNondistributableArtifactsCIDRs": nil, "AllowNondistributableArtifactsHostnames": nil,
			"InsecureRegistryCIDRs": []string{"127.0.0.0/8"}, "IndexConfigs": map[string]any{
				"docker.io": map[string]any{"Name": "docker.io", "Mirrors": []string{}, "Secure": true, "Official": true},
			}, "Mirrors": nil,
		},
		"NCPU": 4, "MemTotal": 8335577088, "GenericResources": nil, "DockerRootDir": "/var/lib/docker",
		"HttpProxy": "", "HttpsProxy": "", "NoProxy": "", "Name": s.rt.Config.Hostname, "Labels": []string{},
		"ExperimentalBuild": false, "ServerVersion": s.version, "Runtimes": map[string]any{
			"io.containerd.runc.v2": map[string]string{"path": "runc"}, "runc": map[string]string{"path": "runc"},
		}, "DefaultRuntime": "runc", "Swarm": map[string]any{
			"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": false, "Error": "", "RemoteManagers": nil,
		}, "LiveRestoreEnabled": false, "Isolation": "", "InitBinary": "docker-init",
		"ContainerdCommit": map[string]string{"ID": s.eng.containerdCommit, "Expected": s.eng.containerdCommit},
		"RuncCommit":       map[string]string{"ID": s.eng.runcCommit, "Expected": s.eng.runcCommit},
		"InitCommit":       map[string]string{"ID": s.eng.initCommit, "Expected": s.eng.initCommit},
		"SecurityOptions":  []string{"name=apparmor", "name=seccomp,profile=builtin", "name=cgroupns"},
		"Warnings":         []string{"WARNING: API is accessible on http://0.0.0.0:2375 without encryption.\n         Access to the remote API is equivalent to root access on the host. Refer\n         to the 'Docker daemon attack surface' section in the documentation for\n         more information: https://docs.docker.com/go/attack-surface/"},
	}
}

func (s *server) containerList(all bool) []any {
	var out []any
	for _, b := range s.baits {
		var ports []any
		for _, p := range b.ports {
			if p.public != 0 {
				ports = append(ports, map[string]any{"IP": "0.0.0.0", "PrivatePort": p.private, "PublicPort": p.public, "Type": "tcp"})
			} else {
				ports = append(ports, map[string]any{"PrivatePort": p.private, "Type": "tcp"})
			}
		}
		if ports == nil {
			ports = []any{}
		}
		up := time.Since(s.started)
		out = append(out, map[string]any{
			"Id": b.id, "Names": []string{"/" + b.name}, "Image": b.image, "ImageID": b.imageID,
			"Command": strings.Trim(b.command, `"`), "Created": b.created.Unix(), "Ports": ports, "Labels": map[string]string{},
			"State": "running", "Status": "Up " + humanDuration(up),
			"HostConfig":      map[string]string{"NetworkMode": "bridge"},
			"NetworkSettings": map[string]any{"Networks": map[string]any{"bridge": map[string]any{"NetworkID": stableID(s.rt.Config.Decky, "net:bridge"), "Gateway": "172.17.0.1", "IPAddress": "172.17.0." + strconv.Itoa(2+len(out)), "IPPrefixLen": 16, "MacAddress": "02:42:ac:11:00:0" + strconv.Itoa(2+len(out))}}},
			"Mounts":          []any{},
		})
	}
	if all {
		s.mu.Lock()
		for _, id := range s.createdIx {
			c := s.created[id]
			out = append(out, map[string]any{
				"Id": c.id, "Names": []string{"/" + c.name}, "Image": c.image, "ImageID": "sha256:" + stableID(s.rt.Config.Decky, "img:"+c.image),
				"Command": c.command, "Created": c.at.Unix(), "Ports": []any{}, "Labels": map[string]string{},
				"State": "created", "Status": "Created", "HostConfig": map[string]string{"NetworkMode": "default"},
				"NetworkSettings": map[string]any{"Networks": map[string]any{}}, "Mounts": []any{},
			})
		}
		s.mu.Unlock()
	}
	if out == nil {
		out = []any{}
	}
	return out
}

// humanDuration is docker's units.HumanDuration for the Status column.
func humanDuration(d time.Duration) string {
	switch h := int(d.Hours()); {
	case h < 48:
		return strconv.Itoa(h) + " hours"
	case h < 24*7*2:
		return strconv.Itoa(h/24) + " days"
	case h < 24*30*2:
		return strconv.Itoa(h/24/7) + " weeks"
	default:
		return strconv.Itoa(h/24/30) + " months"
	}
}

// images are the images present: those of the bait containers plus a few pulled ones.
func (s *server) images() []string {
	seen := map[string]bool{}
	var out []string
	for _, b := range s.baits {
		if !seen[b.image] {
			seen[b.image] = true
			out = append(out, b.image)
		}
	}
	for _, extra := range []string{"ubuntu:22.04", "python:3.11-slim"} {
		if !seen[extra] {
			out = append(out, extra)
		}
	}
	return out
}

// findImage resolves a reference as dockerd does for local images (name,
// name:tag, docker.io/library/name:tag).
func (s *server) findImage(ref string) (string, bool) {
	ref = strings.TrimPrefix(strings.TrimPrefix(ref, "docker.io/"), "library/")
	if !strings.Contains(ref, ":") {
		ref += ":latest"
	}
	for _, img := range s.images() {
		if img == ref {
			return img, true
		}
	}
	return "", false
}

func imageSize(img string) int64 {
	sum := stableID("size", img)
	n, _ := strconv.ParseInt(sum[:6], 16, 64)
	return 20_000_000 + n*30
}

func (s *server) imageList() []any {
	var out []any
	for i, img := range s.images() {
		out = append(out, map[string]any{
			"Containers": -1, "Created": s.started.Add(-time.Duration(40+i*9) * 24 * time.Hour).Unix(),
			"Id": "sha256:" + stableID(s.rt.Config.Decky, "img:"+img), "Labels": nil, "ParentId": "",
			"RepoDigests": []string{strings.Split(img, ":")[0] + "@sha256:" + stableID("digest", img)},
			"RepoTags":    []string{img}, "SharedSize": -1, "Size": imageSize(img),
		})
	}
	return out
}

func (s *server) imageInspect(img string) map[string]any {
	return map[string]any{
		"Id": "sha256:" + stableID(s.rt.Config.Decky, "img:"+img), "RepoTags": []string{img},
		"RepoDigests": []string{strings.Split(img, ":")[0] + "@sha256:" + stableID("digest", img)},
		"Parent":      "", "Comment": "", "Created": s.started.Add(-60 * 24 * time.Hour).Format(time.RFC3339Nano),
		"DockerVersion": "", "Author": "", "Architecture": "amd64", "Os": "linux", "Size": imageSize(img),
		"GraphDriver": map[string]any{"Name": "overlay2", "Data": map[string]string{}},
		"RootFS":      map[string]any{"Type": "layers", "Layers": []string{"sha256:" + stableID("layer", img)}},
		"Config":      map[string]any{"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, "Cmd": []string{"/bin/sh"}},
	}
}

func (s *server) networks() []any {
	var out []any
	for _, n := range []struct{ name, driver string }{{"bridge", "bridge"}, {"host", "host"}, {"none", "null"}} {
		out = append(out, map[string]any{
			"Name": n.name, "Id": stableID(s.rt.Config.Decky, "net:"+n.name), "Created": s.started.Format(time.RFC3339Nano),
			"Scope": "local", "Driver": n.driver, "EnableIPv6": false, "Internal": false, "Attachable": false,
			"Ingress": false, "Containers": map[string]any{}, "Options": map[string]string{}, "Labels": map[string]string{},
		})
	}
	return out
}

// lookup finds a container by name, full id or id prefix (bait or created).
func (s *server) lookup(ref string) (string, bool) {
	ref = strings.TrimPrefix(ref, "/")
	if len(ref) == 0 {
		return "", false
	}
	for _, b := range s.baits {
		if b.name == ref || strings.HasPrefix(b.id, ref) {
			return b.id, true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, c := range s.created {
		if c.name == ref || strings.HasPrefix(id, ref) {
			return id, true
		}
	}
	return "", false
}

func (s *server) running(id string) bool {
	for _, b := range s.baits {
		if b.id == id {
			return true
		}
	}
	return false
}

// createRequest holds the fields of a create payload worth recording.
type createRequest struct {
	Image      string
	Cmd        json.RawMessage
	Entrypoint json.RawMessage
	Env        []string
	User       string
	HostConfig struct {
		Binds       []string
		Privileged  bool
		NetworkMode string
		PidMode     string
		CapAdd      []string
		Mounts      []struct{ Source, Target, Type string }
	}
}

// argv renders a Cmd/Entrypoint value (a string or a list of strings).
func argv(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, " ")
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one
	}
	return string(raw)
}

func (s *server) create(w http.ResponseWriter, r *http.Request, body []byte, emit func(string, map[string]string)) {
	var req createRequest
	f := map[string]string{"action": "container-create"}
	if err := json.Unmarshal(body, &req); err != nil {
		f["error"] = "invalid JSON"
		emit(event.Command, f)
		s.errorJSON(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	name := r.URL.Query().Get("name")
	service.SetPrintableLimit(f, "image", req.Image, 512)
	service.SetPrintableLimit(f, "command", strings.TrimSpace(argv(req.Entrypoint)+" "+argv(req.Cmd)), maxField)
	if e := argv(req.Entrypoint); e != "" {
		service.SetPrintableLimit(f, "entrypoint", e, maxField)
	}
	var binds []string
	binds = append(binds, req.HostConfig.Binds...)
	for _, m := range req.HostConfig.Mounts {
		binds = append(binds, m.Source+":"+m.Target)
	}
	if len(binds) > 0 {
		service.SetPrintableLimit(f, "binds", strings.Join(binds, ","), maxField)
	}
	if req.HostConfig.Privileged {
		f["privileged"] = "true"
	}
	if req.HostConfig.PidMode != "" {
		service.SetPrintableLimit(f, "pid_mode", req.HostConfig.PidMode, 64)
	}
	if req.HostConfig.NetworkMode != "" {
		service.SetPrintableLimit(f, "network_mode", req.HostConfig.NetworkMode, 64)
	}
	if len(req.HostConfig.CapAdd) > 0 {
		service.SetPrintableLimit(f, "cap_add", strings.Join(req.HostConfig.CapAdd, ","), 512)
	}
	if name != "" {
		service.SetPrintableLimit(f, "name", name, 256)
	}
	service.SetPrintableLimit(f, "payload", string(body), 8<<10)
	emit(event.Command, f)
	// Host escapes are what an attacker wants from a docker socket: raise them.
	if req.HostConfig.Privileged || hostRootBind(binds) || req.HostConfig.PidMode == "host" {
		emit(event.Alert, map[string]string{"alert": "container-escape", "image": f["image"], "command": f["command"]})
	}
	img, ok := s.findImage(req.Image)
	if req.Image == "" {
		s.errorJSON(w, http.StatusBadRequest, "No command specified")
		return
	}
	if !ok {
		ref := req.Image
		if !strings.Contains(ref, ":") {
			ref += ":latest"
		}
		s.errorJSON(w, http.StatusNotFound, "No such image: "+ref)
		return
	}
	id := randomID()
	if name == "" {
		name = randomName(id)
	}
	s.mu.Lock()
	if len(s.createdIx) >= maxCreated {
		delete(s.created, s.createdIx[0])
		s.createdIx = s.createdIx[1:]
	}
	s.created[id] = createdContainer{id: id, name: strings.TrimPrefix(name, "/"), image: img, command: argv(req.Cmd), at: time.Now()}
	s.createdIx = append(s.createdIx, id)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"Id": id, "Warnings": []string{}})
}

func hostRootBind(binds []string) bool {
	for _, b := range binds {
		src, _, _ := strings.Cut(b, ":")
		if src == "/" || src == "/etc" || src == "/root" || src == "/var/run/docker.sock" || src == "/proc" || src == "/dev" {
			return true
		}
	}
	return false
}

// randomName is docker's adjective_surname container name.
func randomName(id string) string {
	adj := []string{"admiring", "bold", "clever", "eager", "focused", "gracious", "jolly", "nifty", "quirky", "sharp", "vibrant", "zealous"}
	sur := []string{"babbage", "curie", "darwin", "einstein", "feynman", "hopper", "lovelace", "newton", "pasteur", "tesla", "turing", "wozniak"}
	return adj[int(id[0])%len(adj)] + "_" + sur[int(id[1])%len(sur)]
}

// startFailure is what dockerd answers when runc cannot start the container.
const startFailure = "failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error mounting \"proc\" to rootfs at \"/proc\": mount proc:/proc (via /proc/self/fd/6), flags: 0xe: operation not permitted: unknown"

func (s *server) containerRoute(w http.ResponseWriter, r *http.Request, ref, action string, body []byte, emit func(string, map[string]string)) {
	id, ok := s.lookup(ref)
	if !ok {
		s.errorJSON(w, http.StatusNotFound, "No such container: "+ref)
		return
	}
	switch action {
	case "json":
		writeJSON(w, http.StatusOK, s.inspect(id))
	case "start":
		emit(event.Command, map[string]string{"action": "container-start", "container": id})
		if s.running(id) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		s.errorJSON(w, http.StatusInternalServerError, startFailure)
	case "stop", "restart", "kill", "pause", "unpause":
		emit(event.Command, map[string]string{"action": "container-" + action, "container": id})
		w.WriteHeader(http.StatusNoContent)
	case "wait":
		// Headers now, the status once the container "exits": it never starts.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(hijackHold):
		}
		json.NewEncoder(w).Encode(map[string]any{"StatusCode": 128, "Error": map[string]string{"Message": startFailure}})
	case "attach":
		hijack(w, r, nil, hijackHold, nil)
	case "logs":
		w.Header().Set("Content-Type", "application/vnd.docker.raw-stream")
		w.WriteHeader(http.StatusOK)
	case "top":
		writeJSON(w, http.StatusOK, map[string]any{"Titles": []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}, "Processes": [][]string{{"root", "2841", "2819", "0", "Oct12", "?", "00:00:41", strings.Trim(s.commandOf(id), `"`)}}})
	case "exec":
		s.execCreate(w, id, body, emit)
	}
}

func (s *server) commandOf(id string) string {
	for _, b := range s.baits {
		if b.id == id {
			return b.command
		}
	}
	return ""
}

func (s *server) inspect(id string) map[string]any {
	for _, b := range s.baits {
		if b.id == id {
			return map[string]any{
				"Id": b.id, "Created": b.created.Format(time.RFC3339Nano), "Path": "docker-entrypoint.sh", "Args": []string{},
				"State": map[string]any{"Status": "running", "Running": true, "Paused": false, "Restarting": false, "OOMKilled": false, "Dead": false, "Pid": 2841, "ExitCode": 0, "Error": "", "StartedAt": s.started.Format(time.RFC3339Nano), "FinishedAt": "0001-01-01T00:00:00Z"},
				"Image": b.imageID, "Name": "/" + b.name, "RestartCount": 0, "Driver": "overlay2", "Platform": "linux",
				"HostConfig": map[string]any{"NetworkMode": "bridge", "RestartPolicy": map[string]any{"Name": "unless-stopped", "MaximumRetryCount": 0}, "Privileged": false},
				"Config":     map[string]any{"Hostname": b.id[:12], "Image": b.image, "Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, "Tty": false},
				"Mounts":     []any{},
			}
		}
	}
	s.mu.Lock()
	c := s.created[id]
	s.mu.Unlock()
	return map[string]any{
		"Id": c.id, "Created": c.at.Format(time.RFC3339Nano), "Path": c.command, "Args": []string{},
		"State": map[string]any{"Status": "created", "Running": false, "Paused": false, "Restarting": false, "OOMKilled": false, "Dead": false, "Pid": 0, "ExitCode": 128, "Error": startFailure, "StartedAt": "0001-01-01T00:00:00Z", "FinishedAt": "0001-01-01T00:00:00Z"},
		"Image": "sha256:" + stableID(s.rt.Config.Decky, "img:"+c.image), "Name": "/" + c.name, "RestartCount": 0, "Driver": "overlay2", "Platform": "linux",
		"HostConfig": map[string]any{"NetworkMode": "default", "Privileged": false}, "Config": map[string]any{"Hostname": c.id[:12], "Image": c.image, "Tty": false},
		"Mounts": []any{},
	}
}

func (s *server) execCreate(w http.ResponseWriter, id string, body []byte, emit func(string, map[string]string)) {
	var req struct {
		Cmd        json.RawMessage
		User       string
		Privileged bool
		Tty        bool
	}
	f := map[string]string{"action": "exec-create", "container": id}
	if err := json.Unmarshal(body, &req); err != nil {
		f["error"] = "invalid JSON"
		service.SetPrintableLimit(f, "payload", string(body), 8<<10)
		emit(event.Command, f)
		s.errorJSON(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	service.SetPrintableLimit(f, "command", argv(req.Cmd), maxField)
	if req.User != "" {
		service.SetPrintableLimit(f, "user", req.User, 128)
	}
	if req.Privileged {
		f["privileged"] = "true"
	}
	service.SetPrintableLimit(f, "payload", string(body), 8<<10)
	emit(event.Command, f)
	if !s.running(id) {
		s.errorJSON(w, http.StatusConflict, "Container "+id+" is not running")
		return
	}
	execID := randomID()
	s.mu.Lock()
	if len(s.execs) >= maxCreated {
		for k := range s.execs {
			delete(s.execs, k)
			break
		}
	}
	s.execs[execID] = id
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]string{"Id": execID})
}

func (s *server) execRoute(w http.ResponseWriter, r *http.Request, execID, action string, body []byte, emit func(string, map[string]string)) {
	s.mu.Lock()
	ctr, ok := s.execs[execID]
	s.mu.Unlock()
	if !ok {
		s.errorJSON(w, http.StatusNotFound, "No such exec instance: "+execID)
		return
	}
	switch action {
	case "start":
		emit(event.Command, map[string]string{"action": "exec-start", "container": ctr, "exec_id": execID})
		var req struct{ Detach bool }
		json.Unmarshal(body, &req)
		if req.Detach {
			w.WriteHeader(http.StatusOK)
			return
		}
		// The process runs and prints nothing; the stream ends at once.
		hijack(w, r, nil, 0, nil)
	case "json":
		writeJSON(w, http.StatusOK, map[string]any{
			"ID": execID, "Running": false, "ExitCode": 0, "ProcessConfig": map[string]any{"tty": false, "entrypoint": "", "arguments": []string{}, "privileged": false},
			"OpenStdin": false, "OpenStderr": true, "OpenStdout": true, "CanRemove": false, "ContainerID": ctr, "DetachKeys": "", "Pid": 0,
		})
	case "resize":
		w.WriteHeader(http.StatusOK)
	}
}

// pullFailure is what a host without registry access answers to a pull.
const pullFailure = `Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 127.0.0.53:53: server misbehaving`

func (s *server) pull(w http.ResponseWriter, r *http.Request, emit func(string, map[string]string)) {
	q := r.URL.Query()
	img := q.Get("fromImage")
	if t := q.Get("tag"); t != "" {
		img += ":" + t
	}
	f := map[string]string{"action": "image-pull"}
	service.SetPrintableLimit(f, "image", img, 512)
	if q.Get("fromSrc") != "" {
		service.SetPrintableLimit(f, "url", q.Get("fromSrc"), maxField)
	}
	emit(event.DownloadAttempt, f)
	s.errorJSON(w, http.StatusInternalServerError, pullFailure)
}

// build stores the build context (a tar the client uploads) as an artifact and
// fails at the FROM pull, as the host cannot reach a registry.
func (s *server) build(w http.ResponseWriter, r *http.Request, emit func(string, map[string]string)) {
	sum, size, stored, err := s.rt.SaveArtifact(http.MaxBytesReader(w, r.Body, maxBuildBody))
	f := map[string]string{"action": "image-build", "sha256": sum, "size": strconv.FormatInt(size, 10), "stored": strconv.FormatBool(stored)}
	q := r.URL.Query()
	if t := q.Get("t"); t != "" {
		service.SetPrintableLimit(f, "tag", t, 512)
	}
	if d := q.Get("dockerfile"); d != "" {
		service.SetPrintableLimit(f, "dockerfile", d, 512)
	}
	if err != nil {
		f["error"] = "build context read failed"
	}
	emit(event.FileUpload, f)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.Encode(map[string]string{"stream": "Step 1/1 : FROM scratch"})
	enc.Encode(map[string]any{"errorDetail": map[string]string{"message": pullFailure}, "error": pullFailure})
}
