// Package docker implements engine.Engine on a local Docker Engine through the moby Go
// client. It owns everything DECNET creates on the host for a fleet: the service image,
// the decoy network (macvlan or ipvlan on the parent NIC), the host hairpin link and the
// containers, all labelled with the compose project so that status and teardown work
// from labels, never from a possibly stale file.
//
// The client negotiates the API version: Debian's docker.io is Engine 20.10 (API 1.41),
// where a container's MAC goes in its config (MacAddress), not in the endpoint settings.
package docker

import (
	"context"
	"fmt"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"decnet/internal/compose"
	"decnet/internal/engine"
)

// StopTimeout is how long a container gets to exit after SIGTERM before it is killed.
const StopTimeout = 5 * time.Second

// Engine is the Docker implementation of engine.Engine.
type Engine struct {
	cli *client.Client
}

var _ engine.Engine = (*Engine)(nil)

// New connects to the Docker daemon named by the environment (DOCKER_HOST, default the
// local socket) and negotiates the API version.
func New(ctx context.Context) (*Engine, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("cannot set up the Docker client: %w", err)
	}
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		return nil, fmt.Errorf("cannot reach the Docker daemon (is dockerd running?): %w", err)
	}
	cli.NegotiateAPIVersion(ctx)
	return &Engine{cli: cli}, nil
}

// Client exposes the underlying Docker client (the collector follows container logs).
func (e *Engine) Client() *client.Client { return e.cli }

// APIVersion is the negotiated Docker API version.
func (e *Engine) APIVersion() string { return e.cli.ClientVersion() }

// Close releases the client's connections.
func (e *Engine) Close() error { return e.cli.Close() }

// Status lists every container labelled with the project, running or not.
func (e *Engine) Status(ctx context.Context, project string) ([]engine.ContainerState, error) {
	list, err := e.list(ctx, project, "")
	if err != nil {
		return nil, err
	}
	out := make([]engine.ContainerState, 0, len(list))
	for _, c := range list {
		out = append(out, engine.ContainerState{
			Name:    containerName(c),
			Decky:   c.Labels[compose.LabelDecky],
			Service: c.Labels[compose.LabelService],
			Role:    c.Labels[compose.LabelRole],
			State:   string(c.State),
			Status:  c.Status,
		})
	}
	return out, nil
}

// list returns the containers of project (and of one decky when decky != "").
func (e *Engine) list(ctx context.Context, project, decky string) ([]container.Summary, error) {
	args := filters.NewArgs(filters.Arg("label", compose.LabelProject+"="+project))
	if decky != "" {
		args.Add("label", compose.LabelDecky+"="+decky)
	}
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return nil, fmt.Errorf("cannot list the containers of project %s: %w", project, err)
	}
	return list, nil
}

func containerName(c container.Summary) string {
	if len(c.Names) == 0 {
		return c.ID[:12]
	}
	n := c.Names[0]
	if len(n) > 0 && n[0] == '/' {
		n = n[1:]
	}
	return n
}

// removeContainer stops (SIGTERM, then SIGKILL after StopTimeout) and removes a
// container. A container that is already gone is not an error.
func (e *Engine) removeContainer(ctx context.Context, id, name string) error {
	secs := int(StopTimeout / time.Second)
	// A failed stop (container stuck or already gone) is settled by the forced removal.
	_ = e.cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs})
	if err := e.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("cannot remove container %s: %w", name, err)
	}
	return nil
}

// progressCounter drives an engine.Progress callback.
type progressCounter struct {
	mu          sync.Mutex
	fn          engine.Progress
	done, total int
}

func (p *progressCounter) step(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if p.done > p.total {
		p.total = p.done
	}
	if p.fn != nil {
		p.fn(s, p.done, p.total)
	}
}
