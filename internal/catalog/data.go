package catalog

// This file holds the built-in persona data. The facts mirror DECNET (Python)'s
// decnet/archetypes.py, decnet/distros.py and decnet/os_fingerprint.py; see doc.go for
// where and why this catalogue departs from them.

// Service slugs used by the archetypes (DECNET's slugs).
const (
	svcSSH       = "ssh"
	svcHTTP      = "http"
	svcFTP       = "ftp"
	svcSMB       = "smb"
	svcRDP       = "rdp"
	svcLDAP      = "ldap"
	svcLLMNR     = "llmnr"
	svcMySQL     = "mysql"
	svcPostgres  = "postgres"
	svcRedis     = "redis"
	svcSMTP      = "smtp"
	svcPOP3      = "pop3"
	svcIMAP      = "imap"
	svcSNMP      = "snmp"
	svcMQTT      = "mqtt"
	svcTelnet    = "telnet"
	svcConpot    = "conpot"
	svcSIP       = "sip"
	svcDockerAPI = "docker_api"
	svcK8s       = "k8s"
)

// OS family slugs (DECNET's nmap_os slugs).
const (
	FamilyLinux         = "linux"
	FamilyWindows       = "windows"
	FamilyWindowsServer = "windows_server"
	FamilyBSD           = "bsd"
	FamilyEmbedded      = "embedded"
	FamilyCisco         = "cisco"
)

// Hostname styles understood by RandomHostname.
const (
	StyleGeneric       = "generic"        // debian/ubuntu: web-prod-03
	StyleRHEL          = "rhel"           // rocky/centos/fedora: app07
	StyleMinimal       = "minimal"        // alpine: sensor-21
	StyleRolling       = "rolling"        // kali/arch: nova-delta
	StyleWindows       = "windows"        // DESKTOP-7K2QJ9A
	StyleWindowsServer = "windows_server" // WIN-3J5K7L9M2N4
	StyleBSD           = "bsd"            // fw-02
	StyleCisco         = "cisco"          // SW-CORE-01
)

var archetypes = []Archetype{
	{
		Slug: "deaddeck", Display: "Deaddeck (Entry Point)",
		Description: "Internet-facing entry point: an interactive SSH host",
		Services:    []string{svcSSH},
		OSFamily:    FamilyLinux, Distros: []string{"debian", "ubuntu22"}, NmapOS: "linux",
	},
	{
		Slug: "database-server", Display: "Database Server",
		Description: "Data tier host: MySQL, PostgreSQL, Redis",
		Services:    []string{svcMySQL, svcPostgres, svcRedis},
		OSFamily:    FamilyLinux, Distros: []string{"debian", "ubuntu22"}, NmapOS: "linux",
	},
	{
		Slug: "devops-host", Display: "DevOps Host",
		Description: "CI/CD or container host: Docker API + SSH + K8s",
		Services:    []string{svcDockerAPI, svcSSH, svcK8s},
		OSFamily:    FamilyLinux, Distros: []string{"ubuntu22", "debian"}, NmapOS: "linux",
	},
	{
		Slug: "domain-controller", Display: "Domain Controller",
		Description: "Active Directory DC: LDAP, SMB, RDP, LLMNR",
		Services:    []string{svcLDAP, svcSMB, svcRDP, svcLLMNR},
		OSFamily:    FamilyWindowsServer, Distros: []string{"windows2019", "windows2022"}, NmapOS: "windows",
	},
	{
		Slug: "file-server", Display: "File Server",
		Description: "SMB/FTP/SFTP file storage node",
		Services:    []string{svcSMB, svcFTP, svcSSH},
		OSFamily:    FamilyLinux, Distros: []string{"debian", "ubuntu22", "rocky9"}, NmapOS: "linux",
	},
	{
		Slug: "industrial-control", Display: "Industrial Control System",
		Description: "ICS/SCADA node: Conpot (Modbus/S7/DNP3) + SNMP",
		Services:    []string{svcConpot, svcSNMP},
		OSFamily:    FamilyEmbedded, Distros: []string{"debian"}, NmapOS: "embedded",
	},
	{
		Slug: "iot-device", Display: "IoT Device",
		Description: "Embedded/IoT device: MQTT, SNMP, Telnet",
		Services:    []string{svcMQTT, svcSNMP, svcTelnet},
		OSFamily:    FamilyEmbedded, Distros: []string{"alpine"}, NmapOS: "embedded",
	},
	{
		Slug: "linux-server", Display: "Linux Server",
		Description: "General-purpose Linux host: SSH + HTTP",
		Services:    []string{svcSSH, svcHTTP},
		OSFamily:    FamilyLinux, Distros: []string{"debian", "ubuntu22", "rocky9", "fedora"}, NmapOS: "linux",
	},
	{
		Slug: "mail-server", Display: "Mail Server",
		Description: "SMTP/IMAP/POP3 mail relay",
		Services:    []string{svcSMTP, svcPOP3, svcIMAP},
		OSFamily:    FamilyLinux, Distros: []string{"debian", "ubuntu22"}, NmapOS: "linux",
	},
	{
		Slug: "monitoring-node", Display: "Monitoring Node",
		Description: "Infrastructure monitoring host: SNMP + SSH",
		Services:    []string{svcSNMP, svcSSH},
		OSFamily:    FamilyLinux, Distros: []string{"debian", "rocky9"}, NmapOS: "linux",
	},
	{
		Slug: "printer", Display: "Network Printer",
		Description: "Network-attached printer: SNMP + FTP",
		Services:    []string{svcSNMP, svcFTP},
		OSFamily:    FamilyEmbedded, Distros: []string{"alpine", "debian"}, NmapOS: "embedded",
	},
	{
		Slug: "voip-server", Display: "VoIP Server",
		Description: "SIP PBX / VoIP gateway",
		Services:    []string{svcSIP},
		OSFamily:    FamilyLinux, Distros: []string{"debian", "ubuntu22"}, NmapOS: "linux",
	},
	{
		Slug: "web-server", Display: "Web Server",
		Description: "Public-facing web host: HTTP + FTP",
		Services:    []string{svcHTTP, svcFTP},
		OSFamily:    FamilyLinux, Distros: []string{"debian", "ubuntu22", "ubuntu20"}, NmapOS: "linux",
	},
	{
		Slug: "windows-server", Display: "Windows Server",
		Description: "Windows domain member: SMB, RDP, and LDAP directory",
		Services:    []string{svcSMB, svcRDP, svcLDAP},
		OSFamily:    FamilyWindowsServer, Distros: []string{"windows2019", "windows2022"}, NmapOS: "windows",
	},
	{
		Slug: "windows-workstation", Display: "Windows Workstation",
		Description: "Corporate Windows desktop: SMB shares + RDP access",
		Services:    []string{svcSMB, svcRDP},
		OSFamily:    FamilyWindows, Distros: []string{"windows10", "windows11"}, NmapOS: "windows",
	},
}

// rhelIssue is what RHEL-like systems show for "\S\nKernel \r on an \m".
func rhelIssue(pretty, kernel, arch string) string {
	return pretty + "\nKernel " + kernel + " on an " + arch + "\n"
}

var distros = []Distro{
	// --- DECNET's nine Linux distros -------------------------------------------------
	{
		Slug: "debian", Display: "Debian GNU/Linux 12 (bookworm)", OSFamily: FamilyLinux,
		HostnameStyle: StyleGeneric,
		Kernel:        "6.1.0-23-amd64",
		KernelBuild:   "#1 SMP PREEMPT_DYNAMIC Debian 6.1.99-1 (2024-07-15)",
		Arch:          "x86_64",
		OSRelease: `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
`,
		IssueNet:   "Debian GNU/Linux 12\n",
		SSHVersion: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
		HTTPServer: "Apache/2.4.61 (Debian)",
		Shell:      "/bin/bash",
	},
	{
		Slug: "ubuntu22", Display: "Ubuntu 22.04.4 LTS", OSFamily: FamilyLinux,
		HostnameStyle: StyleGeneric,
		Kernel:        "5.15.0-116-generic",
		KernelBuild:   "#126-Ubuntu SMP Mon Jul 1 10:14:24 UTC 2024",
		Arch:          "x86_64",
		OSRelease: `PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=jammy
`,
		IssueNet:   "Ubuntu 22.04.4 LTS\n",
		SSHVersion: "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10",
		HTTPServer: "nginx/1.18.0 (Ubuntu)",
		Shell:      "/bin/bash",
	},
	{
		Slug: "ubuntu20", Display: "Ubuntu 20.04.6 LTS", OSFamily: FamilyLinux,
		HostnameStyle: StyleGeneric,
		Kernel:        "5.4.0-187-generic",
		KernelBuild:   "#207-Ubuntu SMP Mon Jun 10 08:16:10 UTC 2024",
		Arch:          "x86_64",
		OSRelease: `NAME="Ubuntu"
VERSION="20.04.6 LTS (Focal Fossa)"
ID=ubuntu
ID_LIKE=debian
PRETTY_NAME="Ubuntu 20.04.6 LTS"
VERSION_ID="20.04"
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
VERSION_CODENAME=focal
UBUNTU_CODENAME=focal
`,
		IssueNet:   "Ubuntu 20.04.6 LTS\n",
		SSHVersion: "SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.11",
		HTTPServer: "Apache/2.4.41 (Ubuntu)",
		Shell:      "/bin/bash",
	},
	{
		Slug: "rocky9", Display: "Rocky Linux 9.4 (Blue Onyx)", OSFamily: FamilyLinux,
		HostnameStyle: StyleRHEL,
		Kernel:        "5.14.0-427.22.1.el9_4.x86_64",
		KernelBuild:   "#1 SMP PREEMPT_DYNAMIC Wed Jun 26 19:17:35 UTC 2024",
		Arch:          "x86_64",
		OSRelease: `NAME="Rocky Linux"
VERSION="9.4 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"
ANSI_COLOR="0;32"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:rocky:rocky:9::baseos"
HOME_URL="https://rockylinux.org/"
BUG_REPORT_URL="https://bugs.rockylinux.org/"
SUPPORT_END="2032-05-31"
ROCKY_SUPPORT_PRODUCT="Rocky-Linux-9"
ROCKY_SUPPORT_PRODUCT_VERSION="9.4"
REDHAT_SUPPORT_PRODUCT="Rocky Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.4"
`,
		IssueNet:   rhelIssue("Rocky Linux 9.4 (Blue Onyx)", "5.14.0-427.22.1.el9_4.x86_64", "x86_64"),
		SSHVersion: "SSH-2.0-OpenSSH_8.7",
		HTTPServer: "Apache/2.4.57 (Rocky Linux)",
		Shell:      "/bin/bash",
	},
	{
		Slug: "centos7", Display: "CentOS Linux 7 (Core)", OSFamily: FamilyLinux,
		HostnameStyle: StyleRHEL,
		Kernel:        "3.10.0-1160.119.1.el7.x86_64",
		KernelBuild:   "#1 SMP Tue Jun 4 14:43:51 UTC 2024",
		Arch:          "x86_64",
		OSRelease: `NAME="CentOS Linux"
VERSION="7 (Core)"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="7"
PRETTY_NAME="CentOS Linux 7 (Core)"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:centos:centos:7"
HOME_URL="https://www.centos.org/"
BUG_REPORT_URL="https://bugs.centos.org/"

CENTOS_MANTISBT_PROJECT="CentOS-7"
CENTOS_MANTISBT_PROJECT_VERSION="7"
REDHAT_SUPPORT_PRODUCT="centos"
REDHAT_SUPPORT_PRODUCT_VERSION="7"

`,
		IssueNet:   rhelIssue("CentOS Linux 7 (Core)", "3.10.0-1160.119.1.el7.x86_64", "x86_64"),
		SSHVersion: "SSH-2.0-OpenSSH_7.4",
		HTTPServer: "Apache/2.4.6 (CentOS)",
		Shell:      "/bin/bash",
	},
	{
		Slug: "alpine", Display: "Alpine Linux v3.19", OSFamily: FamilyLinux,
		HostnameStyle: StyleMinimal,
		Kernel:        "6.6.32-0-lts",
		KernelBuild:   "#1-Alpine SMP PREEMPT_DYNAMIC Thu, 30 May 2024 06:41:21 +0000",
		Arch:          "x86_64",
		OSRelease: `NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.2
PRETTY_NAME="Alpine Linux v3.19"
HOME_URL="https://alpinelinux.org/"
BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"
`,
		IssueNet:   "Welcome to Alpine Linux 3.19\n",
		SSHVersion: "SSH-2.0-OpenSSH_9.6",
		HTTPServer: "nginx/1.24.0",
		Shell:      "/bin/ash",
	},
	{
		Slug: "fedora", Display: "Fedora Linux 39 (Server Edition)", OSFamily: FamilyLinux,
		HostnameStyle: StyleRHEL,
		Kernel:        "6.8.9-200.fc39.x86_64",
		KernelBuild:   "#1 SMP PREEMPT_DYNAMIC Thu May  2 18:50:49 UTC 2024",
		Arch:          "x86_64",
		OSRelease: `NAME="Fedora Linux"
VERSION="39 (Server Edition)"
ID=fedora
VERSION_ID=39
VERSION_CODENAME=""
PLATFORM_ID="platform:f39"
PRETTY_NAME="Fedora Linux 39 (Server Edition)"
ANSI_COLOR="0;38;2;60;110;180"
LOGO=fedora-logo-icon
CPE_NAME="cpe:/o:fedoraproject:fedora:39"
HOME_URL="https://fedoraproject.org/"
DOCUMENTATION_URL="https://docs.fedoraproject.org/en-US/fedora/f39/system-administrators-guide/"
SUPPORT_URL="https://ask.fedoraproject.org/"
BUG_REPORT_URL="https://bugzilla.redhat.com/"
REDHAT_BUGZILLA_PRODUCT="Fedora"
REDHAT_BUGZILLA_PRODUCT_VERSION=39
REDHAT_SUPPORT_PRODUCT="Fedora"
REDHAT_SUPPORT_PRODUCT_VERSION=39
SUPPORT_END=2024-11-12
VARIANT="Server Edition"
VARIANT_ID=server
`,
		IssueNet:   rhelIssue("Fedora Linux 39 (Server Edition)", "6.8.9-200.fc39.x86_64", "x86_64"),
		SSHVersion: "SSH-2.0-OpenSSH_9.3",
		HTTPServer: "Apache/2.4.59 (Fedora Linux)",
		Shell:      "/bin/bash",
	},
	{
		Slug: "kali", Display: "Kali GNU/Linux Rolling", OSFamily: FamilyLinux,
		HostnameStyle: StyleRolling,
		Kernel:        "6.8.11-amd64",
		KernelBuild:   "#1 SMP PREEMPT_DYNAMIC Kali 6.8.11-1kali2 (2024-05-30)",
		Arch:          "x86_64",
		OSRelease: `PRETTY_NAME="Kali GNU/Linux Rolling"
NAME="Kali GNU/Linux"
VERSION_ID="2024.2"
VERSION="2024.2"
VERSION_CODENAME=kali-rolling
ID=kali
ID_LIKE=debian
HOME_URL="https://www.kali.org/"
SUPPORT_URL="https://forums.kali.org/"
BUG_REPORT_URL="https://bugs.kali.org/"
ANSI_COLOR="1;31"
`,
		IssueNet:   "Kali GNU/Linux Rolling\n",
		SSHVersion: "SSH-2.0-OpenSSH_9.7p1 Debian-5",
		HTTPServer: "Apache/2.4.59 (Debian)",
		Shell:      "/usr/bin/zsh",
	},
	{
		Slug: "arch", Display: "Arch Linux", OSFamily: FamilyLinux,
		HostnameStyle: StyleRolling,
		Kernel:        "6.9.7-arch1-1",
		KernelBuild:   "#1 SMP PREEMPT_DYNAMIC Fri, 28 Jun 2024 04:32:50 +0000",
		Arch:          "x86_64",
		OSRelease: `NAME="Arch Linux"
PRETTY_NAME="Arch Linux"
ID=arch
BUILD_ID=rolling
ANSI_COLOR="38;2;23;147;209"
HOME_URL="https://archlinux.org/"
DOCUMENTATION_URL="https://wiki.archlinux.org/"
SUPPORT_URL="https://bbs.archlinux.org/"
BUG_REPORT_URL="https://gitlab.archlinux.org/groups/archlinux/-/issues"
PRIVACY_POLICY_URL="https://terms.archlinux.org/docs/privacy-policy/"
LOGO=archlinux-logo
`,
		IssueNet:   "Arch Linux 6.9.7-arch1-1\n",
		SSHVersion: "SSH-2.0-OpenSSH_9.8",
		HTTPServer: "nginx/1.26.1",
		Shell:      "/bin/bash",
	},

	// --- OS personas for the non-Linux families (not in DECNET; see doc.go) ------------
	{
		Slug: "windows10", Display: "Windows 10 Pro 22H2", OSFamily: FamilyWindows,
		HostnameStyle: StyleWindows,
		Kernel:        "10.0.19045",
		KernelBuild:   "Microsoft Windows [Version 10.0.19045.4529]",
		Arch:          "AMD64",
		OSRelease: `OS Name:                   Microsoft Windows 10 Pro
OS Version:                10.0.19045 N/A Build 19045
OS Manufacturer:           Microsoft Corporation
OS Configuration:          Member Workstation
OS Build Type:             Multiprocessor Free
System Type:               x64-based PC
`,
		IssueNet:   "Welcome to Microsoft Telnet Service \n",
		SSHVersion: "SSH-2.0-OpenSSH_for_Windows_8.1",
		HTTPServer: "Microsoft-IIS/10.0",
		Shell:      `C:\Windows\system32\cmd.exe`,
	},
	{
		Slug: "windows11", Display: "Windows 11 Pro 23H2", OSFamily: FamilyWindows,
		HostnameStyle: StyleWindows,
		Kernel:        "10.0.22631",
		KernelBuild:   "Microsoft Windows [Version 10.0.22631.3737]",
		Arch:          "AMD64",
		OSRelease: `OS Name:                   Microsoft Windows 11 Pro
OS Version:                10.0.22631 N/A Build 22631
OS Manufacturer:           Microsoft Corporation
OS Configuration:          Member Workstation
OS Build Type:             Multiprocessor Free
System Type:               x64-based PC
`,
		IssueNet:   "Welcome to Microsoft Telnet Service \n",
		SSHVersion: "SSH-2.0-OpenSSH_for_Windows_9.5",
		HTTPServer: "Microsoft-IIS/10.0",
		Shell:      `C:\Windows\system32\cmd.exe`,
	},
	{
		Slug: "windows2019", Display: "Windows Server 2019 Standard", OSFamily: FamilyWindowsServer,
		HostnameStyle: StyleWindowsServer,
		Kernel:        "10.0.17763",
		KernelBuild:   "Microsoft Windows [Version 10.0.17763.5936]",
		Arch:          "AMD64",
		OSRelease: `OS Name:                   Microsoft Windows Server 2019 Standard
OS Version:                10.0.17763 N/A Build 17763
OS Manufacturer:           Microsoft Corporation
OS Configuration:          Member Server
OS Build Type:             Multiprocessor Free
System Type:               x64-based PC
`,
		IssueNet:   "Welcome to Microsoft Telnet Service \n",
		SSHVersion: "SSH-2.0-OpenSSH_for_Windows_7.7",
		HTTPServer: "Microsoft-IIS/10.0",
		Shell:      `C:\Windows\system32\cmd.exe`,
	},
	{
		Slug: "windows2022", Display: "Windows Server 2022 Standard", OSFamily: FamilyWindowsServer,
		HostnameStyle: StyleWindowsServer,
		Kernel:        "10.0.20348",
		KernelBuild:   "Microsoft Windows [Version 10.0.20348.2527]",
		Arch:          "AMD64",
		OSRelease: `OS Name:                   Microsoft Windows Server 2022 Standard
OS Version:                10.0.20348 N/A Build 20348
OS Manufacturer:           Microsoft Corporation
OS Configuration:          Member Server
OS Build Type:             Multiprocessor Free
System Type:               x64-based PC
`,
		IssueNet:   "Welcome to Microsoft Telnet Service \n",
		SSHVersion: "SSH-2.0-OpenSSH_for_Windows_8.1",
		HTTPServer: "Microsoft-IIS/10.0",
		Shell:      `C:\Windows\system32\cmd.exe`,
	},
	{
		Slug: "freebsd", Display: "FreeBSD 14.1-RELEASE", OSFamily: FamilyBSD,
		HostnameStyle: StyleBSD,
		Kernel:        "14.1-RELEASE",
		KernelBuild:   "FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC",
		Arch:          "amd64",
		OSRelease: `NAME=FreeBSD
VERSION="14.1-RELEASE"
VERSION_ID="14.1"
ID=freebsd
ANSI_COLOR="0;31"
PRETTY_NAME="FreeBSD 14.1-RELEASE"
CPE_NAME="cpe:/o:freebsd:freebsd:14.1"
HOME_URL="https://FreeBSD.org/"
BUG_REPORT_URL="https://bugs.FreeBSD.org/"
`,
		IssueNet:   "FreeBSD/amd64\n",
		SSHVersion: "SSH-2.0-OpenSSH_9.7 FreeBSD-20240318",
		HTTPServer: "nginx/1.26.1",
		Shell:      "/bin/sh",
	},
	{
		Slug: "ios", Display: "Cisco IOS 15.2(7)E10", OSFamily: FamilyCisco,
		HostnameStyle: StyleCisco,
		Kernel:        "15.2(7)E10",
		KernelBuild:   "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E10, RELEASE SOFTWARE (fc1)",
		Arch:          "WS-C2960X-24TS-L",
		OSRelease: `Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E10, RELEASE SOFTWARE (fc1)
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2024 by Cisco Systems, Inc.
Compiled Thu 28-Mar-24 05:16 by mcpre

ROM: Bootstrap program is C2960X boot loader
BOOTLDR: C2960X Boot Loader (C2960X-HBOOT-M) Version 15.2(7r)E, RELEASE SOFTWARE (fc1)
`,
		IssueNet:   "\nUser Access Verification\n\n",
		SSHVersion: "SSH-2.0-Cisco-1.25",
		HTTPServer: "cisco-IOS",
		Shell:      "exec",
	},
}

// defaultDistro is the distro a decky of each family gets when nothing else chooses.
var defaultDistro = map[string]string{
	FamilyLinux:         "debian",
	FamilyWindows:       "windows10",
	FamilyWindowsServer: "windows2019",
	FamilyBSD:           "freebsd",
	FamilyEmbedded:      "alpine",
	FamilyCisco:         "ios",
}

// Vendors, each with IEEE OUIs checked against the IEEE registry (as mirrored by
// nmap's nmap-mac-prefixes; the tests re-check them when that file is present).
var (
	vDell       = Vendor{Name: "Dell", OUIs: []string{"00:14:22", "f8:bc:12", "d0:67:e5", "18:db:f2", "b8:ca:3a", "54:bf:64", "98:e7:43", "e4:54:e8"}}
	vHP         = Vendor{Name: "Hewlett Packard", OUIs: []string{"3c:d9:2b", "9c:8e:99", "ec:8e:b5", "c8:d9:d2", "a0:48:1c", "f4:ce:46"}}
	vHPE        = Vendor{Name: "Hewlett Packard Enterprise", OUIs: []string{"94:18:82", "48:df:37", "1c:98:ec", "e0:07:1b"}}
	vLenovo     = Vendor{Name: "Lenovo", OUIs: []string{"10:c5:95", "80:96:21", "a4:11:94", "a4:8c:db"}}
	vIntel      = Vendor{Name: "Intel", OUIs: []string{"a0:36:9f", "90:e2:ba", "3c:fd:fe", "00:1b:21", "b4:96:91", "68:05:ca", "a4:c3:f0"}}
	vSupermicro = Vendor{Name: "Super Micro Computer", OUIs: []string{"0c:c4:7a", "ac:1f:6b", "00:25:90", "3c:ec:ef"}}
	vVMware     = Vendor{Name: "VMware", OUIs: []string{"00:50:56", "00:0c:29"}}
	vHyperV     = Vendor{Name: "Microsoft", OUIs: []string{"00:15:5d"}}
	vASUS       = Vendor{Name: "Asustek Computer", OUIs: []string{"00:24:8c", "9c:5c:8e", "a8:5e:45", "f4:6d:04"}}
	vCisco      = Vendor{Name: "Cisco Systems", OUIs: []string{"00:1b:54", "00:1e:49", "00:24:f7", "58:97:bd", "70:db:98", "f0:1d:2d", "e8:b7:48", "a8:9d:21", "68:3b:78"}}
	vRPi        = Vendor{Name: "Raspberry Pi", OUIs: []string{"b8:27:eb", "dc:a6:32", "e4:5f:01", "28:cd:c1"}}
	vEspressif  = Vendor{Name: "Espressif", OUIs: []string{"24:0a:c4", "30:ae:a4", "a4:cf:12"}}
	vHikvision  = Vendor{Name: "Hikvision", OUIs: []string{"44:19:b6", "c0:56:e3"}}
	vAxis       = Vendor{Name: "Axis Communications", OUIs: []string{"00:40:8c", "ac:cc:8e"}}
	vTPLink     = Vendor{Name: "Tp-link Technologies", OUIs: []string{"50:c7:bf", "14:cc:20"}}
	vSiemens    = Vendor{Name: "Siemens AG", OUIs: []string{"00:0e:8c", "00:1b:1b", "00:01:e3"}}
	vRockwell   = Vendor{Name: "Rockwell Automation", OUIs: []string{"00:00:bc", "00:1d:9c"}}
	vSchneider  = Vendor{Name: "Schneider Electric", OUIs: []string{"00:00:54"}}
	vMoxa       = Vendor{Name: "Moxa Technologies", OUIs: []string{"00:90:e8"}}
	vPhoenix    = Vendor{Name: "Phoenix Contact", OUIs: []string{"00:a0:45"}}
	vBeckhoff   = Vendor{Name: "Beckhoff Automation", OUIs: []string{"00:01:05"}}
	vWago       = Vendor{Name: "Wago Kontakttechnik", OUIs: []string{"00:30:de"}}
	vBrother    = Vendor{Name: "Brother Industries", OUIs: []string{"00:80:77", "30:05:5c", "3c:2a:f4"}}
	vCanon      = Vendor{Name: "Canon", OUIs: []string{"00:00:85", "00:1e:8f", "18:0c:ac"}}
	vLexmark    = Vendor{Name: "Lexmark International", OUIs: []string{"00:20:00", "00:21:b7"}}
	vEpson      = Vendor{Name: "Seiko Epson", OUIs: []string{"00:00:48", "00:26:ab"}}
	vXerox      = Vendor{Name: "Xerox", OUIs: []string{"00:00:aa"}}
	vRicoh      = Vendor{Name: "Ricoh Company", OUIs: []string{"00:26:73", "58:38:79"}}
)

// allowedSysctls is the set of network-namespaced sysctls a family may set.
var allowedSysctls = map[string]bool{
	"net.ipv4.ip_default_ttl":             true,
	"net.ipv4.tcp_timestamps":             true,
	"net.ipv4.tcp_window_scaling":         true,
	"net.ipv4.tcp_sack":                   true,
	"net.ipv4.tcp_ecn":                    true,
	"net.ipv4.tcp_syn_retries":            true,
	"net.ipv4.tcp_synack_retries":         true,
	"net.ipv4.tcp_fin_timeout":            true,
	"net.ipv4.ip_no_pmtu_disc":            true,
	"net.ipv4.icmp_ratelimit":             true,
	"net.ipv4.icmp_ratemask":              true,
	"net.ipv4.ip_unprivileged_port_start": true,
}

// sysctls builds a family's sysctl map (DECNET's os_fingerprint.py values) and adds
// ip_unprivileged_port_start=0, which every decky needs so its services bind low
// ports without any capability.
func sysctls(ttl, synRetries, synackRetries, timestamps, wscale, sack, ecn, noPMTU, finTimeout, icmpRate, icmpMask string) map[string]string {
	return map[string]string{
		"net.ipv4.ip_default_ttl":             ttl,
		"net.ipv4.tcp_syn_retries":            synRetries,
		"net.ipv4.tcp_synack_retries":         synackRetries,
		"net.ipv4.tcp_timestamps":             timestamps,
		"net.ipv4.tcp_window_scaling":         wscale,
		"net.ipv4.tcp_sack":                   sack,
		"net.ipv4.tcp_ecn":                    ecn,
		"net.ipv4.ip_no_pmtu_disc":            noPMTU,
		"net.ipv4.tcp_fin_timeout":            finTimeout,
		"net.ipv4.icmp_ratelimit":             icmpRate,
		"net.ipv4.icmp_ratemask":              icmpMask,
		"net.ipv4.ip_unprivileged_port_start": "0",
	}
}

var osFamilies = []OSFamily{
	{
		Slug: FamilyBSD, Display: "BSD (FreeBSD)", TTL: 64,
		// FreeBSD: TTL 64, timestamps/wscale/SACK on, no ECN, looser ICMP limit.
		Sysctls: sysctls("64", "6", "3", "1", "1", "1", "0", "0", "60", "250", "6168"),
		Vendors: []Vendor{vSupermicro, vIntel, vDell},
	},
	{
		Slug: FamilyCisco, Display: "Cisco IOS", TTL: 255,
		// IOS: TTL 255, no TCP options beyond MSS, DF off, short FIN timeout.
		Sysctls: sysctls("255", "2", "2", "0", "0", "0", "0", "1", "15", "0", "0"),
		Vendors: []Vendor{vCisco},
	},
	{
		Slug: FamilyEmbedded, Display: "Embedded / IoT", TTL: 255,
		// Small embedded stacks: TTL 255, no timestamps/wscale/SACK, DF off.
		Sysctls: sysctls("255", "3", "2", "0", "0", "0", "0", "1", "15", "0", "0"),
		Vendors: []Vendor{vRPi, vEspressif, vSiemens, vMoxa, vBrother, vCanon, vAxis},
	},
	{
		Slug: FamilyLinux, Display: "Linux", TTL: 64,
		// Linux defaults: TTL 64, all options on, ECN when requested, ICMP rate limited.
		Sysctls: sysctls("64", "6", "5", "1", "1", "1", "2", "0", "60", "1000", "6168"),
		Vendors: []Vendor{vDell, vHPE, vSupermicro, vIntel, vVMware},
	},
	{
		Slug: FamilyWindows, Display: "Windows 10/11", TTL: 128,
		// Windows 10/11: TTL 128, 2 SYN retries, no ECN, no ICMP rate limit. Timestamps
		// stay on: modern Windows answers nmap's timestamped probes with TS (SEQ.TS=A);
		// DECNET learned that timestamps off fingerprints as an ancient stack.
		Sysctls: sysctls("128", "2", "2", "1", "1", "1", "0", "0", "30", "0", "0"),
		Vendors: []Vendor{vDell, vHP, vLenovo, vIntel, vASUS},
	},
	{
		Slug: FamilyWindowsServer, Display: "Windows Server 2016-2022", TTL: 128,
		// Same NT stack as the workstation; servers negotiate ECN (nmap ECN.CC=Y).
		Sysctls: sysctls("128", "2", "2", "1", "1", "1", "1", "0", "30", "0", "0"),
		Vendors: []Vendor{vDell, vHPE, vSupermicro, vVMware, vHyperV},
	},
}

// archetypeVendors narrows NIC vendors for archetypes whose hardware is specific
// (a printer has a printer maker's NIC, a PLC an automation vendor's). Others use
// their family's vendors.
var archetypeVendors = map[string][]Vendor{
	"printer":            {vHP, vBrother, vCanon, vLexmark, vEpson, vXerox, vRicoh},
	"iot-device":         {vRPi, vEspressif, vHikvision, vAxis, vTPLink},
	"industrial-control": {vSiemens, vRockwell, vSchneider, vMoxa, vPhoenix, vBeckhoff, vWago},
}
