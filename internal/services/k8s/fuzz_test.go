package k8s

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary paths, tokens and pod bodies to the hand-written parsers.
func FuzzParse(f *testing.F) {
	f.Add("/api/v1/namespaces/prod/pods/x/exec", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", `{"spec":{"containers":[{"image":"a","command":["sh"]}],"volumes":[{"hostPath":{"path":"/"}}]}}`)
	f.Add("/apis/apps/v1/deployments", "a.b.c", "{}")
	f.Add("/apis", "", "null")
	f.Fuzz(func(t *testing.T, path, token, body string) {
		a := parsePath(path)
		if a.ok && a.resource == "" {
			t.Fatal("resource path without a resource")
		}
		if sub := jwtSubject(token); sub != "" && !strings.Contains(token, ".") {
			t.Fatal("subject from a token that is not a JWT")
		}
		fields := map[string]string{}
		addPodSpecFields(fields, []byte(body))
	})
}
