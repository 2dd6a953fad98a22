package dockerapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"decnet/internal/service"
)

// FuzzServeHTTP drives the router with arbitrary methods, paths and bodies.
func FuzzServeHTTP(f *testing.F) {
	rt, err := service.NewRuntime(service.Config{Decky: "d", Distro: "ubuntu22", Service: "docker_api"})
	if err != nil {
		f.Fatal(err)
	}
	s := newServer(rt)
	f.Add("POST", "/v1.43/containers/create?name=x", []byte(`{"Image":"ubuntu:22.04","Cmd":["id"],"HostConfig":{"Binds":["/:/h"],"Privileged":true}}`))
	f.Add("POST", "/containers/web/exec", []byte(`{"Cmd":"id"}`))
	f.Add("GET", "/v1.99/version", []byte(nil))
	f.Add("POST", "/images/create?fromImage=alpine&tag=3", []byte(nil))
	f.Add("DELETE", "/containers/web", []byte(nil))
	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		if len(path) == 0 || path[0] != '/' {
			path = "/" + path
		}
		req, err := http.NewRequest(method, "http://x"+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		if bytes.Contains([]byte(path), []byte("/attach")) || bytes.Contains([]byte(path), []byte("/wait")) || bytes.Contains([]byte(path), []byte("/start")) && bytes.Contains([]byte(path), []byte("/exec/")) {
			return // these hold or hijack the connection
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code == 0 {
			t.Fatal("no status")
		}
	})
}
