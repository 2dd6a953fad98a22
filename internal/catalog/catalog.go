// Package catalog holds DECNET's built-in personas: archetypes (what kind of machine a
// decky pretends to be and which services it runs), distros (the OS story its services
// tell: banners, kernel, os-release, hostnames) and OS families (namespaced sysctls that
// shape its TCP/IP fingerprint, and the NIC vendors that fit it). Pure data and lookups.
package catalog

// Archetype is a kind of machine: it picks services, an OS family and fitting distros.
type Archetype struct {
	Slug        string   `json:"slug"`
	Display     string   `json:"display"`
	Description string   `json:"description"`
	Services    []string `json:"services"`
	OSFamily    string   `json:"os_family"`
	Distros     []string `json:"distros"`           // distros that fit; the first is the default
	NmapOS      string   `json:"nmap_os,omitempty"` // DECNET's nmap_os hint
}

// Distro is an OS persona: the facts services use so the whole decky tells one story.
type Distro struct {
	Slug          string `json:"slug"`
	Display       string `json:"display"`   // e.g. "Ubuntu 22.04.4 LTS"
	OSFamily      string `json:"os_family"` // e.g. "linux"
	HostnameStyle string `json:"hostname_style"`
	Kernel        string `json:"kernel"`       // uname -r
	KernelBuild   string `json:"kernel_build"` // uname -v
	Arch          string `json:"arch"`         // uname -m
	OSRelease     string `json:"os_release"`   // full /etc/os-release text
	IssueNet      string `json:"issue_net"`    // /etc/issue.net (telnet/ssh pre-login banner)
	SSHVersion    string `json:"ssh_version"`  // e.g. "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10"
	HTTPServer    string `json:"http_server"`  // default Server header, e.g. "nginx/1.18.0 (Ubuntu)"
	Shell         string `json:"shell"`        // login shell, e.g. /bin/bash
}

// OSFamily shapes the decky's network stack and its hardware.
type OSFamily struct {
	Slug    string            `json:"slug"`
	Display string            `json:"display"`
	TTL     int               `json:"ttl"`
	Sysctls map[string]string `json:"sysctls"` // network-namespaced sysctls only
	// Vendors are NIC vendors that fit the family; each has real IEEE OUIs.
	Vendors []Vendor `json:"vendors"`
}

// Vendor is a NIC vendor with its IEEE-assigned OUIs ("aa:bb:cc").
type Vendor struct {
	Name string   `json:"name"`
	OUIs []string `json:"ouis"`
}
