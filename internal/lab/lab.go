// Package lab owns DECNET's isolated virtual LAN: the place to try DECNET
// safely and the network the integration tests run on.
//
// A lab is a veth pair and a network namespace, all named after Config.Name:
//
//	host namespace                         namespace <name>-attacker
//	<name>-lan0  HostIP/len   <== veth ==>  <name>-att0  AttackerIP/len, lo up
//
// <name>-lan0 is the deckies' macvlan/ipvlan parent. It carries the host's
// own lab address, as a NIC carries the host's address on a real LAN, so the
// engine's interface and subnet detection and its hairpin link work on the lab
// exactly as they do there. The attacker end sits in its own namespace, bound
// under /run/netns like `ip netns add` does (so `ip netns exec <name>-attacker
// …` works too); real tools run there (Lab.Command) and attack the deckies over
// layer 2.
//
// Containment: the attacker namespace has the lab subnet's connected route and
// nothing else, no default route, so a tool run there cannot reach anything
// outside the lab (it gets "network unreachable"). Status treats any other
// route in the namespace as damage. Gateway is a reserved, unassigned address
// (the lab has no router); deckies must avoid it as they avoid a real LAN's
// gateway. IPv6 is disabled on the lab links and in the namespace, so no
// link-local or DAD traffic appears on the lab.
//
// Safety: Up refuses a subnet that overlaps any IPv4 address or route the host
// already has outside the lab, and the package only ever creates, changes or
// deletes links named <name>-lan0/<name>-att0 (and deletes only veth links),
// so the host's real NIC is never touched.
//
// Everything here needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and Linux.
package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NetnsDir is where named network namespaces are bound, as iproute2 does.
const NetnsDir = "/run/netns"

// Lab is a lab LAN that exists on this host.
type Lab struct {
	Config
	// Parent is the host end of the veth pair, the deckies' parent NIC.
	Parent string
	// Peer is the attacker end of the veth pair, inside Namespace.
	Peer string
	// Namespace is the attacker network namespace's name (see NamespacePath).
	Namespace string
	// Notes says what Up did besides plain creation: that it reused a
	// healthy lab, or that it removed a broken or different one, and why.
	Notes []string
	// Problems lists what Status found wrong with a broken lab; it is empty
	// for a healthy one.
	Problems []string
}

func newLab(c Config) *Lab {
	return &Lab{Config: c, Parent: ParentName(c.Name), Peer: PeerName(c.Name), Namespace: NamespaceName(c.Name)}
}

// NamespacePath is the bind-mounted namespace file, e.g.
// /run/netns/decnet-attacker.
func (l *Lab) NamespacePath() string { return filepath.Join(NetnsDir, l.Namespace) }

// Up brings the lab described by cfg up and returns it. It is idempotent: a
// healthy lab with the same configuration is reused as it is; a broken,
// partial or differently configured lab of the same name is removed and
// created anew. Lab.Notes says which happened. Up refuses a subnet that
// overlaps an address or route the host already has on another interface.
func Up(cfg Config) (*Lab, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkHostOverlap(cfg); err != nil {
		return nil, err
	}
	var notes []string
	existing, healthy, err := Status(cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("could not check for an existing lab %q: %w", cfg.Name, err)
	}
	if existing != nil {
		if healthy && existing.Config == cfg {
			existing.Notes = append(existing.Notes, fmt.Sprintf("reused the existing healthy lab %q", cfg.Name))
			return existing, nil
		}
		reason := strings.Join(existing.Problems, "; ")
		if healthy {
			reason = fmt.Sprintf("it was made with %s, not the requested %s", encodeAlias(existing.Config), encodeAlias(cfg))
		}
		if err := Down(cfg.Name); err != nil {
			return nil, fmt.Errorf("could not remove the existing lab %q (%s): %w", cfg.Name, reason, err)
		}
		notes = append(notes, fmt.Sprintf("removed the existing lab %q and created it anew: %s", cfg.Name, reason))
	}
	l, err := create(cfg)
	if err == nil {
		var got *Lab
		var ok bool
		got, ok, err = Status(cfg.Name)
		if err == nil && !ok {
			problems := "it does not exist"
			if got != nil {
				problems = strings.Join(got.Problems, "; ")
			}
			err = fmt.Errorf("the new lab is not healthy: %s", problems)
		}
	}
	if err != nil {
		if derr := Down(cfg.Name); derr != nil {
			err = fmt.Errorf("%w (removing the partial lab failed too: %v)", err, derr)
		}
		return nil, fmt.Errorf("could not bring lab %q up: %w", cfg.Name, err)
	}
	l.Notes = notes
	return l, nil
}

func create(cfg Config) (*Lab, error) {
	l := newLab(cfg)
	ns, err := createNamespace(l.Namespace)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("could not open a netlink handle in namespace %s: %w", l.Namespace, err)
	}
	defer h.Close()

	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		return nil, fmt.Errorf("could not set lo up in namespace %s: %w", l.Namespace, err)
	}

	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: l.Parent},
		PeerName:      l.Peer,
		PeerNamespace: netlink.NsFd(ns),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("could not create veth pair %s/%s: %w", l.Parent, l.Peer, err)
	}
	parent, err := netlink.LinkByName(l.Parent)
	if err != nil {
		return nil, fmt.Errorf("could not find the new link %s: %w", l.Parent, err)
	}
	if err := netlink.LinkSetAlias(parent, encodeAlias(cfg)); err != nil {
		return nil, fmt.Errorf("could not record the lab configuration on %s: %w", l.Parent, err)
	}
	if err := writeSysctl(ipv6Sysctl(l.Parent), "1"); err != nil {
		return nil, err
	}
	if err := netlink.AddrAdd(parent, addrOf(cfg.HostIP, cfg.Subnet)); err != nil {
		return nil, fmt.Errorf("could not add %v/%d to %s: %w", cfg.HostIP, cfg.Subnet.Bits(), l.Parent, err)
	}
	if err := netlink.LinkSetUp(parent); err != nil {
		return nil, fmt.Errorf("could not set %s up: %w", l.Parent, err)
	}

	peer, err := h.LinkByName(l.Peer)
	if err != nil {
		return nil, fmt.Errorf("could not find %s in namespace %s: %w", l.Peer, l.Namespace, err)
	}
	if err := inNamespace(ns, func() error { return writeSysctl(ipv6Sysctl(l.Peer), "1") }); err != nil {
		return nil, err
	}
	if err := h.AddrAdd(peer, addrOf(cfg.AttackerIP, cfg.Subnet)); err != nil {
		return nil, fmt.Errorf("could not add %v/%d to %s: %w", cfg.AttackerIP, cfg.Subnet.Bits(), l.Peer, err)
	}
	if err := h.LinkSetUp(peer); err != nil {
		return nil, fmt.Errorf("could not set %s up in namespace %s: %w", l.Peer, l.Namespace, err)
	}
	return l, nil
}

// Down removes the lab called name: its veth pair (and with it any
// macvlan/ipvlan link on the parent) and its attacker namespace. A lab that
// is already gone, wholly or partly, is not an error.
func Down(name string) error {
	if err := (Config{Name: name}).validateName(); err != nil {
		return err
	}
	var errs []error
	for _, ln := range []string{ParentName(name), PeerName(name)} {
		link, err := netlink.LinkByName(ln)
		if isLinkNotFound(err) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("could not look up link %s: %w", ln, err))
			continue
		}
		if _, ok := link.(*netlink.Veth); !ok {
			errs = append(errs, fmt.Errorf("refusing to delete link %s: it is a %s link, not a lab veth", ln, link.Type()))
			continue
		}
		if err := netlink.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
			errs = append(errs, fmt.Errorf("could not delete link %s: %w", ln, err))
		}
	}
	path := filepath.Join(NetnsDir, NamespaceName(name))
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		errs = append(errs, fmt.Errorf("could not unmount namespace %s: %w", path, err))
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("could not remove namespace file %s: %w", path, err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("could not take lab %q down: %w", name, errors.Join(errs...))
	}
	return nil
}

// Status reports on the lab called name. It returns (nil, false, nil) when no
// part of it exists, (lab, true, nil) when it is complete and healthy, and
// (lab, false, nil) when it is partial or broken, with lab.Problems saying
// what is wrong (lab.Config is then as much as could be recovered). An error
// means the host could not be inspected.
func Status(name string) (*Lab, bool, error) {
	if err := (Config{Name: name}).validateName(); err != nil {
		return nil, false, err
	}
	l := newLab(Config{Name: name})
	var problems []string
	problem := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	exists := false
	cfgKnown := false

	parent, err := netlink.LinkByName(l.Parent)
	switch {
	case isLinkNotFound(err):
		problem("link %s is missing", l.Parent)
	case err != nil:
		return nil, false, fmt.Errorf("could not look up link %s: %w", l.Parent, err)
	default:
		exists = true
		if _, ok := parent.(*netlink.Veth); !ok {
			problem("link %s is a %s link, not a veth", l.Parent, parent.Type())
		}
		if cfg, err := parseAlias(name, parent.Attrs().Alias); err != nil {
			problem("link %s does not record a lab configuration: %v", l.Parent, err)
		} else {
			l.Config, cfgKnown = cfg, true
		}
		if parent.Attrs().Flags&net.FlagUp == 0 {
			problem("link %s is down", l.Parent)
		}
		if cfgKnown {
			if ok, err := hasAddr(netlink.AddrList, parent, l.HostIP, l.Subnet); err != nil {
				return nil, false, err
			} else if !ok {
				problem("link %s lacks address %v/%d", l.Parent, l.HostIP, l.Subnet.Bits())
			}
		}
		if v, err := readSysctl(ipv6Sysctl(l.Parent)); err == nil && v != "1" {
			problem("IPv6 is enabled on link %s", l.Parent)
		}
	}
	if _, err := netlink.LinkByName(l.Peer); err == nil {
		exists = true
		problem("link %s is in the host namespace instead of namespace %s", l.Peer, l.Namespace)
	} else if !isLinkNotFound(err) {
		return nil, false, fmt.Errorf("could not look up link %s: %w", l.Peer, err)
	}

	ns, err := openNamespace(l.NamespacePath())
	switch {
	case errors.Is(err, os.ErrNotExist):
		problem("namespace %s is missing", l.Namespace)
	case err != nil:
		exists = true
		problem("%v", err)
	default:
		exists = true
		defer ns.Close()
		nsProblems, err := inspectNamespace(l, ns, parent, cfgKnown)
		if err != nil {
			return nil, false, err
		}
		problems = append(problems, nsProblems...)
	}
	if !exists {
		return nil, false, nil
	}
	l.Problems = problems
	return l, len(problems) == 0, nil
}

func inspectNamespace(l *Lab, ns netns.NsHandle, parent netlink.Link, cfgKnown bool) ([]string, error) {
	var problems []string
	problem := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("could not open a netlink handle in namespace %s: %w", l.Namespace, err)
	}
	defer h.Close()

	if lo, err := h.LinkByName("lo"); err != nil {
		return nil, fmt.Errorf("could not look up lo in namespace %s: %w", l.Namespace, err)
	} else if lo.Attrs().Flags&net.FlagUp == 0 {
		problem("lo is down in namespace %s", l.Namespace)
	}

	peer, err := h.LinkByName(l.Peer)
	switch {
	case isLinkNotFound(err):
		problem("link %s is missing from namespace %s", l.Peer, l.Namespace)
	case err != nil:
		return nil, fmt.Errorf("could not look up link %s in namespace %s: %w", l.Peer, l.Namespace, err)
	default:
		if _, ok := peer.(*netlink.Veth); !ok {
			problem("link %s in namespace %s is a %s link, not a veth", l.Peer, l.Namespace, peer.Type())
		}
		if peer.Attrs().Flags&net.FlagUp == 0 {
			problem("link %s in namespace %s is down", l.Peer, l.Namespace)
		}
		// A veth's IFLA_LINK is its peer's index (in the peer's namespace).
		if parent != nil && (parent.Attrs().ParentIndex != peer.Attrs().Index || peer.Attrs().ParentIndex != parent.Attrs().Index) {
			problem("links %s and %s are not the two ends of one veth pair", l.Parent, l.Peer)
		}
		if cfgKnown {
			if ok, err := hasAddr(h.AddrList, peer, l.AttackerIP, l.Subnet); err != nil {
				return nil, err
			} else if !ok {
				problem("link %s lacks address %v/%d", l.Peer, l.AttackerIP, l.Subnet.Bits())
			}
		}
		var v string
		err := inNamespace(ns, func() (err error) { v, err = readSysctl(ipv6Sysctl(l.Peer)); return err })
		if err == nil && v != "1" {
			problem("IPv6 is enabled on link %s", l.Peer)
		}
	}

	routes, err := retryDump(func() ([]netlink.Route, error) { return h.RouteList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("could not list routes in namespace %s: %w", l.Namespace, err)
	}
	for _, r := range routes {
		dst := prefixOf(r.Dst)
		if !dst.IsValid() || dst.Bits() == 0 {
			problem("namespace %s has a default route, which could let traffic leave the lab", l.Namespace)
			continue
		}
		if cfgKnown && !(dst.Addr().Is4() && dst.Bits() >= l.Subnet.Bits() && l.Subnet.Contains(dst.Addr())) {
			problem("namespace %s has a route to %v, outside the lab subnet %v", l.Namespace, dst, l.Subnet)
		}
	}
	return problems, nil
}

// Command returns a command that runs name with args inside the attacker
// namespace; ctx kills it as exec.CommandContext does.
//
// It runs through nsenter(1) (util-linux, present wherever `mount` is):
// exec.Cmd forks on whatever OS thread calls Start, and Command cannot
// control that thread, so the child cannot inherit the namespace from Go.
// nsenter enters the namespace and then execs name, so the process that runs
// (and that ctx kills) is name itself. Unlike `ip netns exec` it does not
// remount /sys, so /sys/class/net inside still shows the host's links; the
// tools' view of the network (sockets, netlink, /proc/net) is the namespace's.
func (l *Lab) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	argv := append([]string{"--net=" + l.NamespacePath(), "--", name}, args...)
	return exec.CommandContext(ctx, "nsenter", argv...)
}

// Do runs fn on an OS thread that is inside the attacker namespace. Sockets
// fn opens belong to the namespace and keep working after fn returns.
// Goroutines fn starts do not run in the namespace (so fn must not resolve
// host names or use anything that hands work to other goroutines to open
// sockets). A panic in fn is re-raised in the caller.
func (l *Lab) Do(fn func() error) error {
	ns, err := openNamespace(l.NamespacePath())
	if err != nil {
		return err
	}
	defer ns.Close()
	return inNamespace(ns, fn)
}

// DialContext connects from the attacker namespace to address, which must be
// a literal IP and port (a name lookup would run outside the namespace).
func (l *Lab) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if _, err := netip.ParseAddrPort(address); err != nil {
		return nil, fmt.Errorf("lab dial address %q must be a literal IP:port: %w", address, err)
	}
	var conn net.Conn
	err := l.Do(func() (err error) {
		var d net.Dialer
		conn, err = d.DialContext(ctx, network, address)
		return err
	})
	return conn, err
}

// Listen listens in the attacker namespace on address, a literal IP and port
// ("tcp", "tcp4", "unix", … as net.Listen).
func (l *Lab) Listen(network, address string) (net.Listener, error) {
	if _, err := netip.ParseAddrPort(address); err != nil {
		return nil, fmt.Errorf("lab listen address %q must be a literal IP:port: %w", address, err)
	}
	var ln net.Listener
	err := l.Do(func() (err error) {
		ln, err = net.Listen(network, address)
		return err
	})
	return ln, err
}

// checkHostOverlap refuses a lab subnet that overlaps an IPv4 address or a
// (non-default) route of any host link that is not part of the lab itself.
func checkHostOverlap(cfg Config) error {
	links, err := retryDump(netlink.LinkList)
	if err != nil {
		return fmt.Errorf("could not list the host's links: %w", err)
	}
	names := map[int]string{}
	own := map[int]bool{}
	for _, ln := range links {
		a := ln.Attrs()
		names[a.Index] = a.Name
		if a.Name == ParentName(cfg.Name) || a.Name == PeerName(cfg.Name) {
			own[a.Index] = true
		}
	}
	for _, ln := range links {
		a := ln.Attrs()
		switch ln.Type() {
		case "macvlan", "macvtap", "ipvlan", "ipvtap", "vlan":
			// Links stacked on the lab parent (the engine's hairpin) are the lab's.
			if a.NetNsID < 0 && own[a.ParentIndex] {
				own[a.Index] = true
			}
		}
	}
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return netlink.AddrList(nil, netlink.FAMILY_V4) })
	if err != nil {
		return fmt.Errorf("could not list the host's addresses: %w", err)
	}
	for _, a := range addrs {
		if own[a.LinkIndex] {
			continue
		}
		p := prefixOf(a.IPNet)
		if p.IsValid() && p.Masked().Overlaps(cfg.Subnet) {
			return fmt.Errorf("lab subnet %v overlaps address %v on host interface %s: choose another lab subnet", cfg.Subnet, p, names[a.LinkIndex])
		}
	}
	routes, err := retryDump(func() ([]netlink.Route, error) {
		return netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return fmt.Errorf("could not list the host's routes: %w", err)
	}
	for _, r := range routes {
		dst := prefixOf(r.Dst)
		if !dst.IsValid() || dst.Bits() == 0 || own[r.LinkIndex] {
			continue
		}
		if dst.Masked().Overlaps(cfg.Subnet) {
			via := names[r.LinkIndex]
			if via == "" {
				via = "another path"
			}
			return fmt.Errorf("lab subnet %v overlaps the host's route to %v via %s: choose another lab subnet", cfg.Subnet, dst, via)
		}
	}
	return nil
}

// createNamespace creates and binds the named network namespace, with IPv6
// off by default inside it, and returns a handle to it.
func createNamespace(name string) (netns.NsHandle, error) {
	if err := ensureNetnsDir(); err != nil {
		return netns.None(), err
	}
	type result struct {
		ns  netns.NsHandle
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// The thread is never unlocked: it exits with this goroutine, so no
		// other goroutine ever runs in the namespace it enters.
		runtime.LockOSThread()
		ns, err := netns.NewNamed(name)
		if err != nil {
			ch <- result{netns.None(), fmt.Errorf("could not create network namespace %s: %w", name, err)}
			return
		}
		for _, k := range []string{"all", "default"} {
			if err := writeSysctl(ipv6Sysctl(k), "1"); err != nil {
				ns.Close()
				ch <- result{netns.None(), fmt.Errorf("in namespace %s: %w", name, err)}
				return
			}
		}
		ch <- result{ns, nil}
	}()
	r := <-ch
	return r.ns, r.err
}

// ensureNetnsDir makes NetnsDir a shared mount point, as `ip netns add`
// does, so namespace binds made later propagate to mount namespaces cloned
// from this one and unmounting them frees the namespace everywhere.
func ensureNetnsDir() error {
	if err := os.MkdirAll(NetnsDir, 0o755); err != nil {
		return fmt.Errorf("could not create %s: %w", NetnsDir, err)
	}
	err := unix.Mount("", NetnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if errors.Is(err, unix.EINVAL) { // not a mount point yet
		if err = unix.Mount(NetnsDir, NetnsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err == nil {
			err = unix.Mount("", NetnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
		}
	}
	if err != nil {
		return fmt.Errorf("could not make %s a shared mount point: %w", NetnsDir, err)
	}
	return nil
}

// openNamespace opens a bound network namespace file. A missing file gives
// an error matching os.ErrNotExist; a file that is not a mounted network
// namespace gives a descriptive error.
func openNamespace(path string) (netns.NsHandle, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return netns.None(), &os.PathError{Op: "open namespace", Path: path, Err: err}
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		unix.Close(fd)
		return netns.None(), fmt.Errorf("could not stat namespace file %s: %w", path, err)
	}
	if st.Type != unix.NSFS_MAGIC {
		unix.Close(fd)
		return netns.None(), fmt.Errorf("namespace file %s exists but no namespace is mounted on it", path)
	}
	if t, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE); err != nil || t != unix.CLONE_NEWNET {
		unix.Close(fd)
		return netns.None(), fmt.Errorf("namespace file %s is not a network namespace", path)
	}
	return netns.NsHandle(fd), nil
}

// inNamespace runs fn on a fresh OS thread inside ns. The thread stays locked
// and dies with its goroutine, so the namespace never leaks to other
// goroutines (the Go runtime starts new threads from a clean template thread
// while a thread is locked).
func inNamespace(ns netns.NsHandle, fn func() error) error {
	type result struct {
		err      error
		panicked bool
		value    any
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		defer func() {
			if r := recover(); r != nil {
				ch <- result{panicked: true, value: r}
			}
		}()
		if err := netns.Set(ns); err != nil {
			ch <- result{err: fmt.Errorf("could not enter the lab's network namespace: %w", err)}
			return
		}
		ch <- result{err: fn()}
	}()
	r := <-ch
	if r.panicked {
		panic(r.value)
	}
	return r.err
}

func ipv6Sysctl(link string) string {
	return filepath.Join("/proc/sys/net/ipv6/conf", link, "disable_ipv6")
}

// writeSysctl writes a sysctl of the calling thread's network namespace. A
// missing IPv6 sysctl means the kernel has no IPv6, which is what we want.
func writeSysctl(path, value string) error {
	err := os.WriteFile(path, []byte(value), 0o644)
	if err != nil && !(errors.Is(err, os.ErrNotExist) && strings.HasPrefix(path, "/proc/sys/net/ipv6/")) {
		return fmt.Errorf("could not set sysctl %s: %w", path, err)
	}
	return nil
}

func readSysctl(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

func hasAddr(list func(netlink.Link, int) ([]netlink.Addr, error), link netlink.Link, ip netip.Addr, subnet netip.Prefix) (bool, error) {
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return list(link, netlink.FAMILY_V4) })
	if err != nil {
		return false, fmt.Errorf("could not list addresses of %s: %w", link.Attrs().Name, err)
	}
	want := netip.PrefixFrom(ip, subnet.Bits())
	for _, a := range addrs {
		if prefixOf(a.IPNet) == want {
			return true, nil
		}
	}
	return false, nil
}

func addrOf(ip netip.Addr, subnet netip.Prefix) *netlink.Addr {
	return &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(subnet.Bits(), 32)}}
}

// prefixOf converts a net.IPNet to a netip.Prefix keeping the host bits; an
// invalid prefix for nil or malformed input.
func prefixOf(n *net.IPNet) netip.Prefix {
	if n == nil {
		return netip.Prefix{}
	}
	ip, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}
	}
	ones, bits := n.Mask.Size()
	if bits == 0 {
		return netip.Prefix{}
	}
	ip = ip.Unmap()
	if ip.BitLen() != bits {
		if bits == 128 && ip.Is4() {
			ones -= 96
		} else {
			return netip.Prefix{}
		}
	}
	return netip.PrefixFrom(ip, ones)
}

func isLinkNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}

// retryDump repeats a netlink dump the kernel interrupted (the lists changed
// while being read), so callers never act on a partial list.
func retryDump[T any](f func() ([]T, error)) ([]T, error) {
	var err error
	for range 5 {
		var r []T
		r, err = f()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return r, err
		}
	}
	return nil, err
}
