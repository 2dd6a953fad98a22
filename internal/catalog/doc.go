// # Where the data comes from
//
// The fifteen archetypes, their service lists, the nine Linux distros and the six OS
// families with their sysctl values follow DECNET (Python): decnet/archetypes.py,
// decnet/distros.py and decnet/os_fingerprint.py. Version strings (kernels, OpenSSH
// banners, HTTP Server headers) are what each distro really shipped in one mid-2024
// snapshot, so the facts of one decky agree with each other.
//
// # Where it departs from DECNET, and why
//
//   - Distros are OS personas, not base images. DECNET gave Windows archetypes the
//     debian/ubuntu22 images (the image only held the IP). Here a distro is the story the
//     services tell, so the Windows archetypes get Windows personas (windows10, windows11,
//     windows2019, windows2022) and the bsd and cisco families get freebsd and ios. The
//     nine Linux slugs are kept exactly, so DECNET configs naming them still resolve, and
//     any distro may still be combined with any archetype by configuration.
//   - How a decky's distro is chosen: the archetype's Distros list (the first is the
//     default); without an archetype, DefaultDistro of its OS family. Services read the
//     distro (SSHVersion, HTTPServer, ...) and the family (e.g. http answers as IIS for
//     the windows families because the windows distros say Microsoft-IIS/10.0).
//   - For non-Linux personas the Linux-shaped fields hold the OS's own equivalent:
//     Kernel is the build (10.0.19045, 14.1-RELEASE, 15.2(7)E10), KernelBuild the `ver`
//     or `uname -v` or IOS version line, OSRelease the system's self-description
//     (systeminfo head, FreeBSD's real /etc/os-release, IOS `show version` head).
//   - IssueNet is the pre-login banner as a client sees it, with getty escapes already
//     expanded (RHEL's "\S\nKernel \r on an \m" becomes its text).
//   - deaddeck runs "ssh": DECNET's separate real_ssh service was later folded into ssh.
//   - windows-server and domain-controller use the windows_server family (DECNET defined
//     it for Server 2016/2019 but its archetypes still pointed at windows); NmapOS keeps
//     DECNET's hint.
//   - Windows keeps TCP timestamps on, as DECNET's corrected table does: nmap sees TS in
//     modern Windows replies, and timestamps off looked like an ancient stack.
//   - Every family also sets net.ipv4.tcp_synack_retries and always
//     net.ipv4.ip_unprivileged_port_start=0, so service containers bind low ports with no
//     capability. Only network-namespaced sysctls appear (see NamespacedSysctl).
//   - MACs come from real IEEE OUIs of vendors that fit the family, narrowed for
//     printers, IoT and ICS archetypes (ArchetypeVendors); never Docker's 02:42.
//   - Hostnames are single DNS labels (DECNET's RHEL style added ".localdomain").
package catalog
