package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// LoadConfig reads a service config file written at deploy time.
func LoadConfig(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read service config: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("parse service config %s: %w", path, err)
	}
	return c, nil
}

// Main runs the named service with cfg until ctx ends, writing its events as RFC 5424
// lines to out. It is what `decnet serve <service>` runs inside a service container.
func Main(ctx context.Context, name string, cfg Config, out io.Writer) error {
	spec, ok := Lookup(name)
	if !ok {
		return fmt.Errorf("unknown service %q (see `decnet services`)", name)
	}
	if cfg.Service == "" {
		cfg.Service = name
	}
	if cfg.Service != name {
		return fmt.Errorf("config is for service %q, not %q", cfg.Service, name)
	}
	if cfg.Decky == "" {
		return fmt.Errorf("service config names no decky")
	}
	resolved, err := spec.Resolve(cfg.Persona)
	if err != nil {
		return err
	}
	cfg.Persona = resolved
	rt, err := NewRuntime(cfg)
	if err != nil {
		return err
	}
	rt.Sink = LineSink(out, rt.Log)
	rt.Log.Info("serving", "ports", fmt.Sprint(spec.Ports))
	return spec.Run(ctx, rt)
}
