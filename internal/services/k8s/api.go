package k8s

import (
	"net/http"
	"strings"

	"decnet/internal/event"
	"decnet/internal/service"
)

// groupVersions are the API groups discovery lists (a kubeadm cluster's core set)
// and their resources: name, kind, namespaced, verbs, short names.
type resourceInfo struct {
	name, kind string
	namespaced bool
	short      []string
}

var groups = []struct {
	group, version string
	resources      []resourceInfo
}{
	{"", "v1", []resourceInfo{
		{"configmaps", "ConfigMap", true, []string{"cm"}},
		{"endpoints", "Endpoints", true, []string{"ep"}},
		{"events", "Event", true, []string{"ev"}},
		{"namespaces", "Namespace", false, []string{"ns"}},
		{"nodes", "Node", false, []string{"no"}},
		{"persistentvolumeclaims", "PersistentVolumeClaim", true, []string{"pvc"}},
		{"persistentvolumes", "PersistentVolume", false, []string{"pv"}},
		{"pods", "Pod", true, []string{"po"}},
		{"secrets", "Secret", true, nil},
		{"serviceaccounts", "ServiceAccount", true, []string{"sa"}},
		{"services", "Service", true, []string{"svc"}},
	}},
	{"apps", "v1", []resourceInfo{
		{"daemonsets", "DaemonSet", true, []string{"ds"}},
		{"deployments", "Deployment", true, []string{"deploy"}},
		{"replicasets", "ReplicaSet", true, []string{"rs"}},
		{"statefulsets", "StatefulSet", true, []string{"sts"}},
	}},
	{"batch", "v1", []resourceInfo{
		{"cronjobs", "CronJob", true, []string{"cj"}},
		{"jobs", "Job", true, nil},
	}},
	{"networking.k8s.io", "v1", []resourceInfo{
		{"ingresses", "Ingress", true, []string{"ing"}},
		{"networkpolicies", "NetworkPolicy", true, []string{"netpol"}},
	}},
	{"rbac.authorization.k8s.io", "v1", []resourceInfo{
		{"clusterrolebindings", "ClusterRoleBinding", false, nil},
		{"clusterroles", "ClusterRole", false, nil},
		{"rolebindings", "RoleBinding", true, nil},
		{"roles", "Role", true, nil},
	}},
}

var allVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

func lookupResource(group, version, name string) (resourceInfo, bool) {
	for _, g := range groups {
		if g.group == group && g.version == version {
			for _, r := range g.resources {
				if r.name == name {
					return r, true
				}
			}
		}
	}
	return resourceInfo{}, false
}

// apiRequest is a parsed resource path.
type apiRequest struct {
	group, version, ns, resource, name, sub string
	info                                    resourceInfo
	ok                                      bool // a resource path of a served group
	discovery                               string
}

// parsePath splits /api/v1/..., /apis/<group>/<version>/... into its parts.
func parsePath(p string) apiRequest {
	var a apiRequest
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(parts) >= 1 && parts[0] == "api":
		if len(parts) == 1 {
			a.discovery = "api"
			return a
		}
		a.version, parts = parts[1], parts[2:]
	case len(parts) >= 1 && parts[0] == "apis":
		if len(parts) == 1 {
			a.discovery = "apis"
			return a
		}
		if len(parts) == 2 {
			a.group, a.discovery = parts[1], "group"
			return a
		}
		a.group, a.version, parts = parts[1], parts[2], parts[3:]
	default:
		return a
	}
	if len(parts) == 0 {
		a.discovery = "resources"
		return a
	}
	if parts[0] == "namespaces" && len(parts) >= 3 {
		a.ns, parts = parts[1], parts[2:]
	}
	a.resource = parts[0]
	if len(parts) >= 2 {
		a.name = parts[1]
	}
	if len(parts) >= 3 {
		a.sub = parts[2]
	}
	a.info, a.ok = lookupResource(a.group, a.version, a.resource)
	return a
}

// verb is the RBAC verb of a request.
func verb(r *http.Request, a apiRequest) string {
	switch r.Method {
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		if a.name == "" {
			return "deletecollection"
		}
		return "delete"
	}
	if r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1" {
		return "watch"
	}
	if a.name == "" {
		return "list"
	}
	return "get"
}

func (s *server) api(w http.ResponseWriter, r *http.Request, u user, body []byte, emit func(string, map[string]string)) {
	a := parsePath(r.URL.Path)
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch a.discovery {
	case "api":
		writeJSON(w, r, http.StatusOK, ordered{{"kind", "APIVersions"}, {"versions", []string{"v1"}},
			{"serverAddressByClientCIDRs", []any{ordered{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", s.serverAddress()}}}}})
		return
	case "apis":
		var list []any
		for _, g := range groups[1:] {
			gv := g.group + "/" + g.version
			list = append(list, ordered{{"name", g.group}, {"versions", []any{ordered{{"groupVersion", gv}, {"version", g.version}}}},
				{"preferredVersion", ordered{{"groupVersion", gv}, {"version", g.version}}}})
		}
		writeJSON(w, r, http.StatusOK, ordered{{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", list}})
		return
	case "resources":
		for _, g := range groups {
			if g.group == a.group && g.version == a.version {
				writeJSON(w, r, http.StatusOK, resourceList(g.group, g.version, g.resources))
				return
			}
		}
	}
	if a.resource == "" || !a.ok {
		s.status(w, r, http.StatusNotFound, "NotFound", "the server could not find the requested resource", ordered{})
		return
	}
	v := verb(r, a)
	resource := a.resource
	if a.sub != "" {
		resource += "/" + a.sub
	}
	if u.anonymous {
		s.forbidden(w, r, u, v, r.URL.Path, resource, a.name, a.group, a.ns)
		return
	}
	// A read-only service account: get, list, watch of the main resources.
	if !get || a.sub != "" {
		f := map[string]string{"alert": "k8s-" + v, "resource": service.Printable(resource, 128), "namespace": service.Printable(a.ns, 128)}
		if a.name != "" {
			f["name"] = service.Printable(a.name, 256)
		}
		if a.sub == "exec" || a.sub == "attach" {
			q := r.URL.Query()
			service.SetPrintableLimit(f, "command", strings.Join(q["command"], " "), maxField)
			service.SetPrintableLimit(f, "container", q.Get("container"), 128)
		}
		if len(body) > 0 {
			addPodSpecFields(f, body)
			service.SetPrintableLimit(f, "payload", string(body), 8<<10)
		}
		emit(event.Alert, f)
		s.forbidden(w, r, u, v, r.URL.Path, resource, a.name, a.group, a.ns)
		return
	}
	if v == "watch" {
		s.forbidden(w, r, u, v, r.URL.Path, resource, a.name, a.group, a.ns)
		return
	}
	gv := a.version
	if a.group != "" {
		gv = a.group + "/" + a.version
	}
	objs := s.store.list(gv, a.info.kind, a.ns)
	if a.name != "" {
		for _, o := range objs {
			if o.name == a.name {
				if a.info.kind == "Secret" {
					emit(event.Alert, map[string]string{"alert": "k8s-secret-read", "namespace": service.Printable(a.ns, 128), "name": service.Printable(a.name, 256)})
				}
				writeJSON(w, r, http.StatusOK, o.full)
				return
			}
		}
		s.status(w, r, http.StatusNotFound, "NotFound", a.resource+" \""+a.name+"\" not found", ordered{{"name", a.name}, {"kind", a.resource}})
		return
	}
	if a.info.kind == "Secret" && len(objs) > 0 {
		emit(event.Alert, map[string]string{"alert": "k8s-secret-list", "namespace": service.Printable(a.ns, 128)})
	}
	if wantsTable(r) {
		writeJSON(w, r, http.StatusOK, s.store.table(a.info.kind, objs))
		return
	}
	writeJSON(w, r, http.StatusOK, s.store.listObject(gv, a.info.kind, objs))
}

func (s *server) serverAddress() string {
	ip := s.rt.Config.IP
	if ip == "" {
		ip = "127.0.0.1"
	}
	return ip + ":6443"
}

func resourceList(group, version string, rs []resourceInfo) ordered {
	gv := version
	if group != "" {
		gv = group + "/" + version
	}
	var list []any
	for _, r := range rs {
		o := ordered{{"name", r.name}, {"singularName", strings.ToLower(r.kind)}, {"namespaced", r.namespaced}, {"kind", r.kind}, {"verbs", allVerbs}}
		if len(r.short) > 0 {
			o = append(o, field{"shortNames", r.short})
		}
		o = append(o, field{"storageVersionHash", storageHash(gv + "/" + r.name)})
		list = append(list, o)
	}
	return ordered{{"kind", "APIResourceList"}, {"groupVersion", gv}, {"resources", list}}
}

// wantsTable reports whether the client asked for server-side printing (kubectl get).
func wantsTable(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "as=Table")
}
