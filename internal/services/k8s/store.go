package k8s

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"decnet/internal/service"
)

// object is one bait API object.
type object struct {
	kind, ns, name string
	created        time.Time
	full           ordered // the object as GET returns it
	cells          []any   // its Table row, without the Age cell's value
}

// store holds a decky's bait cluster: stable per decky.
type store struct {
	decky, host, ns string
	kver, osImage   string
	kernel          string
	caPEM           string // the cluster CA, published in every namespace's kube-root-ca.crt
	start           time.Time
	objects         []object
	rv              int
}

func (st *store) hash(label string) [32]byte {
	return sha256.Sum256([]byte("decnet-k8s\x00" + st.decky + "\x00" + label))
}

// uid is a stable UUID for a label.
func (st *store) uid(label string) string {
	b := st.hash("uid:" + label)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// suffix is a stable name suffix in Kubernetes' alphabet (no vowels, no 0/1/3).
func (st *store) suffix(label string, n int) string {
	const alpha = "bcdfghjklmnpqrstvwxz2456789"
	b := st.hash("sfx:" + label)
	out := make([]byte, n)
	for i := range out {
		out[i] = alpha[int(b[i])%len(alpha)]
	}
	return string(out)
}

// token is a stable string of n characters from alphabet.
func (st *store) token(label, alphabet string, n int) string {
	var out []byte
	for i := 0; len(out) < n; i++ {
		b := st.hash(label + strconv.Itoa(i))
		for _, c := range b {
			if len(out) < n {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out)
}

func storageHash(label string) string {
	sum := sha256.Sum256([]byte(label))
	return base64.StdEncoding.EncodeToString(sum[:8])
}

func newStore(decky, host, ns string, start time.Time, kver, osImage, kernel, caPEM string) *store {
	st := &store{decky: decky, host: host, ns: ns, start: start, kver: kver, osImage: osImage, kernel: kernel, caPEM: caPEM, rv: 1000 + int(binary.BigEndian.Uint16([]byte(decky+"xx")))}
	st.build()
	return st
}

func (st *store) meta(kind, ns, name string, created time.Time, extra ...field) ordered {
	st.rv += 37
	m := ordered{{"name", name}}
	if ns != "" {
		m = append(m, field{"namespace", ns})
	}
	m = append(m, field{"uid", st.uid(kind + "/" + ns + "/" + name)}, field{"resourceVersion", strconv.Itoa(st.rv)},
		field{"creationTimestamp", created.UTC().Format(time.RFC3339)})
	return append(m, extra...)
}

func (st *store) add(kind, apiVersion, ns, name string, created time.Time, metaExtra []field, body []field, cells []any) {
	full := ordered{{"kind", kind}, {"apiVersion", apiVersion}, {"metadata", st.meta(kind, ns, name, created, metaExtra...)}}
	full = append(full, body...)
	st.objects = append(st.objects, object{kind: kind, ns: ns, name: name, created: created, full: full, cells: cells})
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func (st *store) build() {
	day := 24 * time.Hour
	t0 := st.start
	appStart := t0.Add(3 * day)
	for _, n := range []string{"default", "kube-node-lease", "kube-public", "kube-system", st.ns, "monitoring"} {
		created := t0
		if n == st.ns || n == "monitoring" {
			created = appStart
		}
		st.add("Namespace", "v1", "", n, created, []field{{"labels", map[string]string{"kubernetes.io/metadata.name": n}}},
			[]field{{"spec", ordered{{"finalizers", []string{"kubernetes"}}}}, {"status", ordered{{"phase", "Active"}}}},
			[]any{n, "Active"})
	}
	kver := st.kver
	st.add("Node", "v1", "", st.host, t0, []field{{"labels", map[string]string{
		"kubernetes.io/hostname": st.host, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
		"node-role.kubernetes.io/control-plane": ""}}},
		[]field{{"spec", ordered{{"podCIDR", "10.244.0.0/24"}}}, {"status", ordered{
			{"conditions", []any{ordered{{"type", "Ready"}, {"status", "True"}, {"reason", "KubeletReady"}, {"message", "kubelet is posting ready status"}}}},
			{"nodeInfo", ordered{{"kernelVersion", st.kernel}, {"osImage", st.osImage}, {"containerRuntimeVersion", "containerd://1.7.12"},
				{"kubeletVersion", kver}, {"kubeProxyVersion", kver}, {"operatingSystem", "linux"}, {"architecture", "amd64"}}},
		}}},
		[]any{st.host, "Ready", "control-plane", kver})

	type pod struct {
		ns, name, image string
		ip              string
		restarts        int
		created         time.Time
	}
	crs := st.suffix("coredns-rs", 10)
	pods := []pod{
		{"kube-system", "coredns-" + crs + "-" + st.suffix("coredns-1", 5), "registry.k8s.io/coredns/coredns:v1.11.1", "10.244.0.2", 0, t0},
		{"kube-system", "coredns-" + crs + "-" + st.suffix("coredns-2", 5), "registry.k8s.io/coredns/coredns:v1.11.1", "10.244.0.3", 0, t0},
		{"kube-system", "etcd-" + st.host, "registry.k8s.io/etcd:3.5.12-0", "", 1, t0},
		{"kube-system", "kube-apiserver-" + st.host, "registry.k8s.io/kube-apiserver:" + kver, "", 1, t0},
		{"kube-system", "kube-controller-manager-" + st.host, "registry.k8s.io/kube-controller-manager:" + kver, "", 2, t0},
		{"kube-system", "kube-proxy-" + st.suffix("kube-proxy", 5), "registry.k8s.io/kube-proxy:" + kver, "", 0, t0},
		{"kube-system", "kube-scheduler-" + st.host, "registry.k8s.io/kube-scheduler:" + kver, "", 2, t0},
		{st.ns, "api-" + st.suffix("api-rs", 10) + "-" + st.suffix("api-1", 5), "registry.gitlab.com/acme/platform/api:2.14.3", "10.244.0.17", 0, appStart.Add(40 * day)},
		{st.ns, "api-" + st.suffix("api-rs", 10) + "-" + st.suffix("api-2", 5), "registry.gitlab.com/acme/platform/api:2.14.3", "10.244.0.18", 0, appStart.Add(40 * day)},
		{st.ns, "postgres-0", "postgres:15.6", "10.244.0.9", 0, appStart},
		{st.ns, "redis-" + st.suffix("redis-rs", 10) + "-" + st.suffix("redis-1", 5), "redis:7.2-alpine", "10.244.0.11", 0, appStart},
		{"monitoring", "prometheus-0", "quay.io/prometheus/prometheus:v2.51.1", "10.244.0.21", 0, appStart.Add(5 * day)},
	}
	for _, p := range pods {
		ip := p.ip
		if ip == "" {
			ip = "10.0.0.10" // host-network control-plane pods show the node's address
		}
		cname := strings.Split(strings.TrimPrefix(p.image[strings.LastIndex(p.image, "/")+1:], ""), ":")[0]
		st.add("Pod", "v1", p.ns, p.name, p.created, nil, []field{
			{"spec", ordered{{"containers", []any{ordered{{"name", cname}, {"image", p.image}}}}, {"nodeName", st.host}, {"serviceAccountName", "default"}}},
			{"status", ordered{{"phase", "Running"}, {"hostIP", "10.0.0.10"}, {"podIP", ip}, {"startTime", p.created.UTC().Format(time.RFC3339)}}},
		}, []any{p.name, "1/1", "Running", strconv.Itoa(p.restarts), ip, st.host, "<none>", "<none>"})
	}

	awsID := "AKIA" + st.token("aws-id", "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
	awsSecret := st.token("aws-secret", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40)
	dbPass := st.token("db-pass", "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", 20)
	grafana := st.token("grafana", "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", 16)
	regAuth := b64("deploy-bot:" + st.token("registry", "abcdefghijklmnopqrstuvwxyz0123456789", 20))
	type secret struct {
		ns, name, typ string
		data          [][2]string
	}
	secrets := []secret{
		{st.ns, "aws-credentials", "Opaque", [][2]string{{"AWS_ACCESS_KEY_ID", awsID}, {"AWS_DEFAULT_REGION", "eu-west-1"}, {"AWS_SECRET_ACCESS_KEY", awsSecret}}},
		{st.ns, "db-credentials", "Opaque", [][2]string{{"DATABASE_URL", "postgres://app:" + dbPass + "@postgres-0.postgres." + st.ns + ".svc:5432/app"}, {"POSTGRES_PASSWORD", dbPass}, {"POSTGRES_USER", "app"}}},
		{st.ns, "regcred", "kubernetes.io/dockerconfigjson", [][2]string{{".dockerconfigjson", `{"auths":{"registry.gitlab.com":{"auth":"` + regAuth + `"}}}`}}},
		{"monitoring", "grafana-admin", "Opaque", [][2]string{{"admin-password", grafana}, {"admin-user", "admin"}}},
		{"kube-system", "bootstrap-token-" + st.suffix("bt", 6), "bootstrap.kubernetes.io/token", [][2]string{{"auth-extra-groups", "system:bootstrappers:kubeadm:default-node-token"}, {"token-id", st.suffix("bt", 6)}, {"token-secret", st.token("bt-secret", "abcdefghijklmnopqrstuvwxyz0123456789", 16)}, {"usage-bootstrap-authentication", "true"}, {"usage-bootstrap-signing", "true"}}},
	}
	for _, sc := range secrets {
		data := ordered{}
		for _, kv := range sc.data {
			data = append(data, field{kv[0], b64(kv[1])})
		}
		st.add("Secret", "v1", sc.ns, sc.name, appStart.Add(2*day), nil,
			[]field{{"data", data}, {"type", sc.typ}}, []any{sc.name, sc.typ, strconv.Itoa(len(sc.data))})
	}
	for _, n := range []string{"default", "kube-node-lease", "kube-public", "kube-system", st.ns, "monitoring"} {
		st.add("ServiceAccount", "v1", n, "default", t0, nil, nil, []any{"default", "0"})
		if st.caPEM != "" {
			st.add("ConfigMap", "v1", n, "kube-root-ca.crt", t0, nil, []field{{"data", ordered{{"ca.crt", st.caPEM}}}}, []any{"kube-root-ca.crt", "1"})
		}
	}
	st.add("ConfigMap", "v1", st.ns, "app-config", appStart, nil, []field{{"data", ordered{
		{"APP_ENV", "production"}, {"DB_HOST", "postgres-0.postgres." + st.ns + ".svc"}, {"REDIS_URL", "redis://redis:6379/0"},
		{"S3_BUCKET", "acme-prod-uploads"}}}}, []any{"app-config", "4"})
	type svc struct {
		ns, name, ip, ports string
	}
	for _, sv := range []svc{{"default", "kubernetes", "10.96.0.1", "443/TCP"}, {"kube-system", "kube-dns", "10.96.0.10", "53/UDP,53/TCP,9153/TCP"},
		{st.ns, "api", "10.103.44.12", "8080/TCP"}, {st.ns, "postgres", "None", "5432/TCP"}, {st.ns, "redis", "10.110.7.201", "6379/TCP"}} {
		st.add("Service", "v1", sv.ns, sv.name, appStart, nil, []field{{"spec", ordered{{"type", "ClusterIP"}, {"clusterIP", sv.ip}}}},
			[]any{sv.name, "ClusterIP", sv.ip, "<none>", sv.ports})
	}
}

// list returns the objects of a kind (in ns, or all namespaces when ns is "").
func (st *store) list(gv, kind, ns string) []object {
	var out []object
	for _, o := range st.objects {
		if o.kind == kind && (ns == "" || o.ns == ns) && gv == "v1" {
			out = append(out, o)
		}
	}
	return out
}

func (st *store) listObject(gv, kind string, objs []object) ordered {
	items := []any{}
	for _, o := range objs {
		items = append(items, o.full)
	}
	return ordered{{"kind", kind + "List"}, {"apiVersion", gv}, {"metadata", ordered{{"resourceVersion", strconv.Itoa(st.rv + 5000)}}}, {"items", items}}
}

// columns are the Table columns the apiserver prints for a kind (name, type,
// priority); Age is inserted at its place, as the apiserver's printers do.
var columns = map[string][][3]string{
	"Pod":            {{"Name", "string", "0"}, {"Ready", "string", "0"}, {"Status", "string", "0"}, {"Restarts", "string", "0"}, {"Age", "string", "0"}, {"IP", "string", "1"}, {"Node", "string", "1"}, {"Nominated Node", "string", "1"}, {"Readiness Gates", "string", "1"}},
	"Namespace":      {{"Name", "string", "0"}, {"Status", "string", "0"}, {"Age", "string", "0"}},
	"Secret":         {{"Name", "string", "0"}, {"Type", "string", "0"}, {"Data", "string", "0"}, {"Age", "string", "0"}},
	"Node":           {{"Name", "string", "0"}, {"Status", "string", "0"}, {"Roles", "string", "0"}, {"Age", "string", "0"}, {"Version", "string", "0"}},
	"Service":        {{"Name", "string", "0"}, {"Type", "string", "0"}, {"Cluster-IP", "string", "0"}, {"External-IP", "string", "0"}, {"Port(s)", "string", "0"}, {"Age", "string", "0"}},
	"ServiceAccount": {{"Name", "string", "0"}, {"Secrets", "string", "0"}, {"Age", "string", "0"}},
	"ConfigMap":      {{"Name", "string", "0"}, {"Data", "string", "0"}, {"Age", "string", "0"}},
}

func (st *store) table(kind string, objs []object) ordered {
	cols, ok := columns[kind]
	if !ok {
		cols = [][3]string{{"Name", "string", "0"}, {"Age", "string", "0"}}
	}
	var defs []any
	for _, c := range cols {
		prio, _ := strconv.Atoi(c[2])
		format := ""
		if c[0] == "Name" {
			format = "name"
		}
		defs = append(defs, ordered{{"name", c[0]}, {"type", c[1]}, {"format", format}, {"description", c[0]}, {"priority", prio}})
	}
	rows := []any{}
	for _, o := range objs {
		var cells []any
		src := o.cells
		if !ok {
			src = []any{o.name}
		}
		i := 0
		for _, c := range cols {
			if c[0] == "Age" {
				cells = append(cells, humanDuration(time.Since(o.created)))
				continue
			}
			if i < len(src) {
				cells = append(cells, src[i])
			}
			i++
		}
		meta := o.full[2].v
		rows = append(rows, ordered{{"cells", cells}, {"object", ordered{{"kind", "PartialObjectMetadata"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", meta}}}})
	}
	return ordered{{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", ordered{{"resourceVersion", strconv.Itoa(st.rv + 5000)}}},
		{"columnDefinitions", defs}, {"rows", rows}}
}

// humanDuration is apimachinery's duration.HumanDuration (the Age column).
func humanDuration(d time.Duration) string {
	s := int(d.Seconds())
	switch {
	case s < 0:
		return "0s"
	case s < 60*2:
		return strconv.Itoa(s) + "s"
	}
	m := s / 60
	if m < 10 {
		if r := s % 60; r != 0 {
			return fmt.Sprintf("%dm%ds", m, r)
		}
		return fmt.Sprintf("%dm", m)
	}
	if m < 60*3 {
		return strconv.Itoa(m) + "m"
	}
	h := m / 60
	if h < 8 {
		if r := m % 60; r != 0 {
			return fmt.Sprintf("%dh%dm", h, r)
		}
		return fmt.Sprintf("%dh", h)
	}
	if h < 48 {
		return strconv.Itoa(h) + "h"
	}
	if h < 24*8 {
		if r := h % 24; r != 0 {
			return fmt.Sprintf("%dd%dh", h/24, r)
		}
		return fmt.Sprintf("%dd", h/24)
	}
	if h < 24*365*2 {
		return strconv.Itoa(h/24) + "d"
	}
	return strconv.Itoa(h/24/365) + "y"
}

// addPodSpecFields extracts what an attacker's pod asks for: images, commands,
// privileged containers, host namespaces and host paths.
func addPodSpecFields(f map[string]string, body []byte) {
	var pod struct {
		Spec struct {
			HostPID, HostNetwork bool
			Containers           []struct {
				Image           string
				Command, Args   []string
				SecurityContext struct{ Privileged bool }
			}
			Volumes []struct {
				HostPath *struct{ Path string }
			}
		}
	}
	if json.Unmarshal(body, &pod) != nil {
		return
	}
	var images, cmds, paths []string
	priv := false
	for _, c := range pod.Spec.Containers {
		images = append(images, c.Image)
		cmds = append(cmds, strings.Join(append(c.Command, c.Args...), " "))
		priv = priv || c.SecurityContext.Privileged
	}
	for _, v := range pod.Spec.Volumes {
		if v.HostPath != nil {
			paths = append(paths, v.HostPath.Path)
		}
	}
	if len(images) > 0 {
		service.SetPrintableLimit(f, "image", strings.Join(images, ","), 512)
		service.SetPrintableLimit(f, "command", strings.Join(cmds, " ; "), maxField)
	}
	if priv {
		f["privileged"] = "true"
	}
	if pod.Spec.HostPID {
		f["host_pid"] = "true"
	}
	if pod.Spec.HostNetwork {
		f["host_network"] = "true"
	}
	if len(paths) > 0 {
		service.SetPrintableLimit(f, "host_path", strings.Join(paths, ","), 512)
	}
}
