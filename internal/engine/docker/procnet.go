package docker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"

	"decnet/internal/compose"
	"decnet/internal/fleet"
)

// Listening lists the ports open in a decky's network namespace: TCP sockets in
// LISTEN and bound UDP sockets, read from /proc/<pid>/net of its base container.
// It is passive (nothing is sent to the decky, so no event is made) and needs
// DECNET to run in the host's PID namespace, as it does as root on the host.
func (e *Engine) Listening(ctx context.Context, project, decky string) ([]fleet.Port, error) {
	list, err := e.list(ctx, project, decky)
	if err != nil {
		return nil, err
	}
	for _, c := range list {
		if c.Labels[compose.LabelRole] != compose.RoleBase {
			continue
		}
		in, err := e.cli.ContainerInspect(ctx, c.ID)
		if err != nil {
			return nil, fmt.Errorf("cannot inspect %s: %w", containerName(c), err)
		}
		if in.State == nil || in.State.Status != container.StateRunning || in.State.Pid <= 0 {
			return nil, fmt.Errorf("the base container %s of decky %s is not running", containerName(c), decky)
		}
		return listeningIn(filepath.Join("/proc", strconv.Itoa(in.State.Pid), "net"))
	}
	return nil, fmt.Errorf("decky %s has no base container in project %s", decky, project)
}

// listeningIn reads the tcp, tcp6, udp and udp6 tables of a /proc/<pid>/net
// directory. A table that is missing (no IPv6) is skipped.
func listeningIn(dir string) ([]fleet.Port, error) {
	seen := map[fleet.Port]bool{}
	var out []fleet.Port
	read := 0
	for _, f := range []struct{ name, proto string }{{"tcp", "tcp"}, {"tcp6", "tcp"}, {"udp", "udp"}, {"udp6", "udp"}} {
		b, err := os.ReadFile(filepath.Join(dir, f.name))
		if errors.Is(err, os.ErrNotExist) && f.name != "tcp" {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read the decky's sockets (is DECNET in the host's PID namespace?): %w", err)
		}
		read++
		ports, err := parseProcNet(b, f.proto)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, f.name), err)
		}
		for _, p := range ports {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// Socket states in /proc/net/{tcp,udp} (include/net/tcp_states.h).
const (
	tcpListen = 0x0A
	udpBound  = 0x07 // TCP_CLOSE: an unconnected UDP socket
)

// parseProcNet reads the local ports of the listening sockets of one
// /proc/net/{tcp,tcp6,udp,udp6} table (proto "tcp" or "udp"):
//
//	sl  local_address rem_address   st ...
//	 0: 00000000:0016 00000000:0000 0A ...
//
// Written by hand: it is a kernel text table of fixed columns, which no Go
// library reads without pulling in a process-inspection framework.
func parseProcNet(b []byte, proto string) ([]fleet.Port, error) {
	want := int64(tcpListen)
	if proto == "udp" {
		want = udpBound
	}
	var out []fleet.Port
	sc := bufio.NewScanner(bytes.NewReader(b))
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			if !strings.Contains(line, "local_address") {
				return nil, errors.New("not a /proc/net socket table (no header)")
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			return nil, fmt.Errorf("short socket line %q", line)
		}
		i := strings.LastIndexByte(f[1], ':')
		if i < 0 {
			return nil, fmt.Errorf("bad local address %q", f[1])
		}
		port, err := strconv.ParseUint(f[1][i+1:], 16, 16)
		if err != nil {
			return nil, fmt.Errorf("bad local port in %q", f[1])
		}
		st, err := strconv.ParseInt(f[3], 16, 16)
		if err != nil {
			return nil, fmt.Errorf("bad socket state %q", f[3])
		}
		if st == want && port != 0 {
			out = append(out, fleet.Port{Number: int(port), Proto: proto})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if first {
		return nil, errors.New("empty socket table")
	}
	return out, nil
}
