package docker

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"decnet/internal/compose"
)

// ensureHairpin makes the host hairpin link exist as h says: a macvlan (bridge) or
// ipvlan (l2) link on the parent, up, holding HostIP/32, with a route to the decky range
// through it. A link of that name with another type or parent is replaced. It reports
// whether it created the link.
func ensureHairpin(h compose.Hairpin) (created bool, err error) {
	parent, err := netlink.LinkByName(h.Parent)
	if err != nil {
		return false, fmt.Errorf("parent interface %s of the hairpin link %s: %w", h.Parent, h.Link, err)
	}
	link, err := netlink.LinkByName(h.Link)
	var nf netlink.LinkNotFoundError
	switch {
	case errors.As(err, &nf):
		link = nil
	case err != nil:
		return false, fmt.Errorf("cannot look up the hairpin link %s: %w", h.Link, err)
	case !hairpinMatches(link, h, parent.Attrs().Index):
		if err := netlink.LinkDel(link); err != nil {
			return false, fmt.Errorf("cannot replace the hairpin link %s (wrong type or parent): %w", h.Link, err)
		}
		link = nil
	}
	if link == nil {
		attrs := netlink.NewLinkAttrs()
		attrs.Name = h.Link
		attrs.ParentIndex = parent.Attrs().Index
		var nl netlink.Link
		switch h.Kind {
		case "macvlan":
			nl = &netlink.Macvlan{LinkAttrs: attrs, Mode: netlink.MACVLAN_MODE_BRIDGE}
		case "ipvlan":
			nl = &netlink.IPVlan{LinkAttrs: attrs, Mode: netlink.IPVLAN_MODE_L2}
		default:
			return false, fmt.Errorf("unknown hairpin link kind %q", h.Kind)
		}
		if err := netlink.LinkAdd(nl); err != nil {
			if errors.Is(err, unix.EOPNOTSUPP) {
				return false, fmt.Errorf("cannot create the %s hairpin link %s on %s: this kernel has no %s support: %w", h.Kind, h.Link, h.Parent, h.Kind, err)
			}
			return false, fmt.Errorf("cannot create the hairpin link %s on %s: %w", h.Link, h.Parent, err)
		}
		created = true
		if link, err = netlink.LinkByName(h.Link); err != nil {
			return created, fmt.Errorf("hairpin link %s vanished after creation: %w", h.Link, err)
		}
	}
	addr, err := netlink.ParseAddr(h.HostIP + "/32")
	if err != nil {
		return created, fmt.Errorf("hairpin address %q: %w", h.HostIP, err)
	}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return created, fmt.Errorf("cannot put %s on the hairpin link %s: %w", addr.IPNet, h.Link, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return created, fmt.Errorf("cannot bring the hairpin link %s up: %w", h.Link, err)
	}
	_, dst, err := net.ParseCIDR(h.Route)
	if err != nil {
		return created, fmt.Errorf("hairpin route %q: %w", h.Route, err)
	}
	route := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: dst, Scope: netlink.SCOPE_LINK, Src: addr.IP}
	if err := netlink.RouteReplace(route); err != nil {
		return created, fmt.Errorf("cannot route %s through the hairpin link %s: %w", h.Route, h.Link, err)
	}
	return created, nil
}

func hairpinMatches(l netlink.Link, h compose.Hairpin, parentIndex int) bool {
	if l.Attrs().ParentIndex != parentIndex {
		return false
	}
	switch v := l.(type) {
	case *netlink.Macvlan:
		return h.Kind == "macvlan" && v.Mode == netlink.MACVLAN_MODE_BRIDGE
	case *netlink.IPVlan:
		return h.Kind == "ipvlan" && v.Mode == netlink.IPVLAN_MODE_L2
	}
	return false
}

// removeHairpin deletes the hairpin link (its address and route go with it). A missing
// link is not an error; a link of that name that is not a macvlan/ipvlan is left alone.
func removeHairpin(h compose.Hairpin) error {
	link, err := netlink.LinkByName(h.Link)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot look up the hairpin link %s: %w", h.Link, err)
	}
	switch link.(type) {
	case *netlink.Macvlan, *netlink.IPVlan:
	default:
		return fmt.Errorf("link %s is a %s, not a DECNET hairpin; not removing it", h.Link, link.Type())
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("cannot remove the hairpin link %s: %w", h.Link, err)
	}
	return nil
}
