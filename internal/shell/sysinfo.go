package shell

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ---- kernel and host ----

func (s *Shell) procVersion() string {
	p := s.p
	k := p.distro.Kernel
	builder := "(builder@localhost) (gcc (GCC) 12.2.0, GNU ld (GNU Binutils) 2.40)"
	switch {
	case p.id == "ubuntu":
		builder = "(buildd@lcy02-amd64-059) (x86_64-linux-gnu-gcc-12 (Ubuntu 12.3.0-1ubuntu1~22.04) 12.3.0, GNU ld (GNU Binutils for Ubuntu) 2.38)"
		if majorVersion(p.versionID) <= 20 {
			builder = "(buildd@lcy02-amd64-001) (gcc (Ubuntu 9.4.0-1ubuntu1~20.04.2) 9.4.0, GNU ld (GNU Binutils for Ubuntu) 2.34)"
		}
	case p.id == "debian" || p.id == "kali":
		builder = "(debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40)"
	case p.family == "rhel":
		builder = "(mockbuild@iad1-prod-build001.bld.equ.rockylinux.org) (gcc (GCC) 11.4.1 20231218 (Red Hat 11.4.1-3), GNU ld version 2.35.2-42.el9)"
		if p.id == "centos" {
			builder = "(mockbuild@kbuilder.bsys.centos.org) (gcc version 4.8.5 20150623 (Red Hat 4.8.5-44) (GCC) )"
		} else if p.id == "fedora" {
			builder = "(mockbuild@d8ca8a2c5a2b4e8c9dbd4c8f3f1e9b2a) (gcc (GCC) 13.2.1 20231205 (Red Hat 13.2.1-6), GNU ld version 2.40-14.fc39)"
		}
	case p.family == "alpine":
		builder = "(buildozer@build-3-19-x86_64) (gcc (Alpine 13.2.1_git20231014) 13.2.1 20231014, GNU ld (GNU Binutils) 2.41)"
	case p.family == "arch":
		builder = "(linux@archlinux) (gcc (GCC) 13.2.1 20230801, GNU ld (GNU Binutils) 2.42.0)"
	}
	return fmt.Sprintf("Linux version %s %s %s\n", k, builder, p.distro.KernelBuild)
}

func cmdUname(e *env) int {
	s := e.s
	p := s.p
	var want []byte
	for _, a := range e.args {
		if strings.HasPrefix(a, "--") {
			m := map[string]byte{"all": 'a', "kernel-name": 's', "nodename": 'n', "kernel-release": 'r',
				"kernel-version": 'v', "machine": 'm', "processor": 'p', "hardware-platform": 'i', "operating-system": 'o'}
			c, ok := m[a[2:]]
			if !ok {
				if a == "--version" {
					e.printf("uname (GNU coreutils) 9.1\n")
					return 0
				}
				e.errorf("uname: unrecognized option '%s'\nTry 'uname --help' for more information.\n", a)
				return 1
			}
			want = append(want, c)
			continue
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			e.errorf("uname: extra operand '%s'\nTry 'uname --help' for more information.\n", a)
			return 1
		}
		for i := 1; i < len(a); i++ {
			if strings.IndexByte("asnrvmpio", a[i]) < 0 {
				e.errorf("uname: invalid option -- '%c'\nTry 'uname --help' for more information.\n", a[i])
				return 1
			}
			want = append(want, a[i])
		}
	}
	has := map[byte]bool{}
	for _, c := range want {
		has[c] = true
	}
	if len(want) == 0 {
		has['s'] = true
	}
	proc, plat := "unknown", "unknown"
	if p.unameFull {
		proc, plat = p.distro.Arch, p.distro.Arch
	}
	if has['a'] {
		for _, c := range []byte("snrvmo") {
			has[c] = true
		}
		if p.unameFull {
			has['p'], has['i'] = true, true
		}
	}
	osName := "GNU/Linux"
	if p.busybox || p.kernelName() != "Linux" {
		osName = p.kernelName()
	}
	var parts []string
	for _, c := range []byte("snrvmpio") {
		if !has[c] {
			continue
		}
		switch c {
		case 's':
			parts = append(parts, p.kernelName())
		case 'n':
			parts = append(parts, p.hostname)
		case 'r':
			parts = append(parts, p.distro.Kernel)
		case 'v':
			parts = append(parts, p.distro.KernelBuild)
		case 'm':
			parts = append(parts, p.distro.Arch)
		case 'p':
			parts = append(parts, proc)
		case 'i':
			parts = append(parts, plat)
		case 'o':
			parts = append(parts, osName)
		}
	}
	e.printf("%s\n", strings.Join(parts, " "))
	return 0
}

func cmdHostname(e *env) int {
	p := e.s.p
	f := parseFlags(e.args, "")
	switch {
	case f.short['I']:
		e.printf("%s \n", p.ip)
	case f.short['i']:
		e.printf("127.0.1.1\n")
	case f.short['s']:
		e.printf("%s\n", p.shortHost)
	case f.short['d']:
		_, dom, _ := strings.Cut(p.hostname, ".")
		e.printf("%s\n", dom)
	case len(f.rest) > 0:
		if e.s.p.uid != 0 {
			e.errorf("hostname: you must be root to change the host name\n")
			return 1
		}
		return 0
	default:
		e.printf("%s\n", p.hostname)
	}
	return 0
}

func (s *Shell) uptimeText() string {
	up := s.now().Sub(s.p.bootAt)
	days := int(up.Hours()) / 24
	h := int(up.Hours()) % 24
	m := int(up.Minutes()) % 60
	var b strings.Builder
	b.WriteString("up ")
	if days > 0 {
		if days == 1 {
			b.WriteString("1 day, ")
		} else {
			fmt.Fprintf(&b, "%d days, ", days)
		}
	}
	if h > 0 {
		fmt.Fprintf(&b, "%2d:%02d", h, m)
	} else {
		fmt.Fprintf(&b, "%d min", m)
	}
	return b.String()
}

func (s *Shell) loadavg(sep string) string {
	// Low, slowly moving load figures, stable within a minute.
	t := s.now().Unix() / 60
	a := float64((t*7919+int64(s.p.cores))%23) / 100
	b := float64((t*104729+3)%17) / 100
	c := float64((t*1299709+5)%11) / 100
	return fmt.Sprintf("%.2f%s%.2f%s%.2f", a, sep, b, sep, c)
}

func (s *Shell) uptimeLine() string {
	return fmt.Sprintf(" %s %s,  1 user,  load average: %s\n", s.now().Format("15:04:05"), s.uptimeText(), s.loadavg(", "))
}

func cmdUptime(e *env) int {
	f := parseFlags(e.args, "")
	if f.short['p'] {
		up := e.s.now().Sub(e.s.p.bootAt)
		days := int(up.Hours()) / 24
		weeks := days / 7
		days %= 7
		var parts []string
		if weeks > 0 {
			parts = append(parts, plural(weeks, "week"))
		}
		if days > 0 {
			parts = append(parts, plural(days, "day"))
		}
		parts = append(parts, plural(int(up.Hours())%24, "hour"), plural(int(up.Minutes())%60, "minute"))
		e.printf("up %s\n", strings.Join(parts, ", "))
		return 0
	}
	if f.short['s'] {
		e.printf("%s\n", e.s.p.bootAt.Format("2006-01-02 15:04:05"))
		return 0
	}
	e.printf("%s", e.s.uptimeLine())
	return 0
}

func plural(n int, w string) string {
	if n == 1 {
		return "1 " + w
	}
	return fmt.Sprintf("%d %ss", n, w)
}

func (s *Shell) loginAt() string { return s.start.Format("15:04") }

func cmdW(e *env) int {
	s := e.s
	idle := s.now().Sub(s.start)
	e.printf("%s", s.uptimeLine())
	e.printf("USER     TTY      FROM             LOGIN@   IDLE   JCPU   PCPU WHAT\n")
	_ = idle
	e.printf("%-8s pts/0    %-16s %-7s  0.00s  0.02s  0.00s w\n", trunc(s.p.user, 8), trunc(s.p.clientIP, 16), s.loginAt())
	return 0
}

func trunc(v string, n int) string {
	if len(v) > n {
		return v[:n]
	}
	return v
}

func cmdWho(e *env) int {
	s := e.s
	f := parseFlags(e.args, "")
	if f.short['b'] {
		e.printf("         system boot  %s\n", s.p.bootAt.Format("2006-01-02 15:04"))
		return 0
	}
	if f.short['q'] {
		e.printf("%s\n# users=1\n", s.p.user)
		return 0
	}
	e.printf("%-8s pts/0        %s (%s)\n", s.p.user, s.start.Format("2006-01-02 15:04"), s.p.clientIP)
	return 0
}

func cmdUsers(e *env) int { e.printf("%s\n", e.s.p.user); return 0 }

func cmdLast(e *env) int {
	s := e.s
	e.printf("%-8s pts/0        %-16s %s   still logged in\n", s.p.user, trunc(s.p.clientIP, 16), s.start.Format("Mon Jan _2 15:04"))
	prev := s.p.bootAt.Add(3*time.Hour + 17*time.Minute)
	if prev.Before(s.start) {
		e.printf("%-8s pts/0        %-16s %s - %s  (00:%02d)\n", s.p.user, s.p.neighbour.String(), prev.Format("Mon Jan _2 15:04"), prev.Add(23*time.Minute).Format("15:04"), 23)
	}
	e.printf("reboot   system boot  %-16s %s   still running\n", s.p.distro.Kernel, s.p.bootAt.Format("Mon Jan _2 15:04"))
	e.printf("\nwtmp begins %s\n", s.p.installAt.Format("Mon Jan _2 15:04:05 2006"))
	return 0
}

// ---- memory, disks, cpu ----

type memFigures struct{ total, used, free, shared, buff, avail, swapTotal, swapUsed int }

func (s *Shell) mem() memFigures {
	p := s.p
	t := p.memKB
	// Used memory varies a little minute to minute; the rest follows.
	jitter := int(s.now().Unix()/60%13) * 1024
	used := t/6 + t/40 + jitter + len(p.procs)*900
	buff := t / 5
	shared := 1200 + t/900
	free := t - used - buff
	avail := free + buff*9/10
	return memFigures{t, used, free, shared, buff, avail, p.swapKB, 0}
}

func (s *Shell) meminfo() string {
	m := s.mem()
	return fmt.Sprintf("MemTotal:       %8d kB\nMemFree:        %8d kB\nMemAvailable:   %8d kB\nBuffers:        %8d kB\nCached:         %8d kB\nSwapCached:     %8d kB\nActive:         %8d kB\nInactive:       %8d kB\nShmem:          %8d kB\nSwapTotal:      %8d kB\nSwapFree:       %8d kB\nDirty:          %8d kB\nSlab:           %8d kB\nVmallocTotal:   34359738367 kB\nHugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n",
		m.total, m.free, m.avail, m.buff/8, m.buff*7/8, 0, m.used, m.buff, m.shared, m.swapTotal, m.swapTotal-m.swapUsed, 120, m.total/60)
}

func cmdFree(e *env) int {
	f := parseFlags(e.args, "s")
	m := e.s.mem()
	conv := func(kb int) string { return strconv.Itoa(kb) }
	switch {
	case f.short['h']:
		conv = func(kb int) string {
			if kb == 0 {
				return "0B"
			}
			v := float64(kb)
			units := []string{"Ki", "Mi", "Gi", "Ti"}
			i := 0
			for v >= 1024 && i < len(units)-1 {
				v /= 1024
				i++
			}
			if v < 10 {
				return fmt.Sprintf("%.1f%s", v, units[i])
			}
			return fmt.Sprintf("%.0f%s", v, units[i])
		}
	case f.short['m']:
		conv = func(kb int) string { return strconv.Itoa(kb / 1024) }
	case f.short['g']:
		conv = func(kb int) string { return strconv.Itoa(kb / 1024 / 1024) }
	case f.short['b']:
		conv = func(kb int) string { return strconv.Itoa(kb * 1024) }
	}
	e.printf("%20s%12s%12s%12s%12s%12s\n", "total", "used", "free", "shared", "buff/cache", "available")
	e.printf("%-8s%12s%12s%12s%12s%12s%12s\n", "Mem:", conv(m.total), conv(m.used), conv(m.free), conv(m.shared), conv(m.buff), conv(m.avail))
	e.printf("%-8s%12s%12s%12s\n", "Swap:", conv(m.swapTotal), conv(m.swapUsed), conv(m.swapTotal-m.swapUsed))
	return 0
}

type dfRow struct {
	fs, mount string
	sizeKB    int64
	usedKB    int64
	typ       string
}

func (s *Shell) dfRows() []dfRow {
	p := s.p
	memK := int64(p.memKB)
	disk := int64(p.diskGB) * 1024 * 1024 * 98 / 100
	used := int64(p.diskUsedGB * 1024 * 1024)
	root := "/dev/sda1"
	if p.family == "rhel" {
		root = "/dev/mapper/rl-root"
		if p.id == "centos" {
			root = "/dev/mapper/centos-root"
		}
	}
	rows := []dfRow{}
	if p.family == "debian" {
		rows = append(rows, dfRow{"udev", "/dev", memK / 2, 0, "devtmpfs"})
	} else {
		rows = append(rows, dfRow{"devtmpfs", "/dev", 4096, 0, "devtmpfs"})
	}
	rows = append(rows,
		dfRow{"tmpfs", "/run", memK / 10, 1100 + memK/2000, "tmpfs"},
		dfRow{root, "/", disk, used, "ext4"},
		dfRow{"tmpfs", "/dev/shm", memK / 2, 0, "tmpfs"},
	)
	if p.family == "debian" {
		rows = append(rows, dfRow{"tmpfs", "/run/lock", 5120, 0, "tmpfs"})
	}
	if p.family != "alpine" {
		rows = append(rows, dfRow{"/dev/sda15", "/boot/efi", 106858, 6186, "vfat"})
		rows = append(rows, dfRow{"tmpfs", fmt.Sprintf("/run/user/%d", p.uid), memK / 10, 4, "tmpfs"})
	}
	return rows
}

func cmdDf(e *env) int {
	f := parseFlags(e.args, "t")
	hum := f.short['h']
	showType := f.short['T']
	head := "Filesystem     1K-blocks    Used Available Use% Mounted on"
	if hum {
		head = "Filesystem      Size  Used Avail Use% Mounted on"
	}
	if showType {
		head = strings.Replace(head, "Filesystem    ", "Filesystem     Type    ", 1)
	}
	rows := e.s.dfRows()
	w := 15
	for _, r := range rows {
		if len(r.fs) > w {
			w = len(r.fs)
		}
	}
	head = strings.Replace(head, "Filesystem     ", fmt.Sprintf("%-*s", w, "Filesystem"), 1)
	e.printf("%s\n", head)
	for _, r := range rows {
		avail := r.sizeKB - r.usedKB
		pct := 0
		if r.sizeKB > 0 {
			pct = int((r.usedKB*100 + r.sizeKB - 1) / r.sizeKB)
		}
		typ := ""
		if showType {
			typ = fmt.Sprintf("%-8s", r.typ)
		}
		if hum {
			sz := func(k int64) string {
				if k == 0 {
					return "0"
				}
				return human(k * 1024)
			}
			e.printf("%-*s %s%4s %5s %5s %3d%% %s\n", w, r.fs, typ, sz(r.sizeKB), sz(r.usedKB), sz(avail), pct, r.mount)
		} else {
			e.printf("%-*s%s%10d %7d %9d %3d%% %s\n", w, r.fs, typ, r.sizeKB, r.usedKB, avail, pct, r.mount)
		}
	}
	return 0
}

func (s *Shell) mounts() string {
	var b strings.Builder
	b.WriteString("sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n")
	for _, r := range s.dfRows() {
		opts := "rw,nosuid,nodev,relatime"
		if r.mount == "/" {
			opts = "rw,relatime,errors=remount-ro"
		}
		fmt.Fprintf(&b, "%s %s %s %s 0 0\n", r.fs, r.mount, r.typ, opts)
	}
	return b.String()
}

func cmdMount(e *env) int {
	if len(e.args) > 0 {
		if e.s.p.uid != 0 {
			e.errorf("mount: only root can do that\n")
			return 1
		}
		e.errorf("mount: %s: special device %s does not exist.\n", e.args[len(e.args)-1], e.args[0])
		return 32
	}
	for _, l := range strings.Split(strings.TrimSpace(e.s.mounts()), "\n") {
		f := strings.Fields(l)
		e.printf("%s on %s type %s (%s)\n", f[0], f[1], f[2], f[3])
	}
	return 0
}

func cmdNproc(e *env) int { e.printf("%d\n", e.s.p.cores); return 0 }

func (s *Shell) cpuinfo() string {
	p := s.p
	var b strings.Builder
	if p.distro.Arch == "aarch64" || p.distro.Arch == "arm64" {
		for i := 0; i < p.cores; i++ {
			fmt.Fprintf(&b, "processor\t: %d\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\n", i)
		}
		return b.String()
	}
	vendor := "GenuineIntel"
	family, model, stepping := 6, 79, 1
	if strings.HasPrefix(p.cpuModel, "AMD") {
		vendor, family, model, stepping = "AuthenticAMD", 25, 1, 1
	}
	mhz, _ := strconv.ParseFloat(p.cpuMHz, 64)
	for i := 0; i < p.cores; i++ {
		fmt.Fprintf(&b, "processor\t: %d\nvendor_id\t: %s\ncpu family\t: %d\nmodel\t\t: %d\nmodel name\t: %s\nstepping\t: %d\nmicrocode\t: 0xb000040\ncpu MHz\t\t: %s\ncache size\t: 36608 KB\nphysical id\t: 0\nsiblings\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\napicid\t\t: %d\ninitial apicid\t: %d\nfpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: 13\nwp\t\t: yes\nflags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon rep_good nopl xtopology cpuid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch invpcid_single pti ssbd ibrs ibpb stibp fsgsbase tsc_adjust bmi1 hle avx2 smep bmi2 erms invpcid rtm rdseed adx smap xsaveopt arat md_clear arch_capabilities\nbugs\t\t: cpu_meltdown spectre_v1 spectre_v2 spec_store_bypass l1tf mds swapgs taa itlb_multihit mmio_stale_data retbleed\nbogomips\t: %.2f\nclflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 46 bits physical, 48 bits virtual\npower management:\n\n",
			i, vendor, family, model, p.cpuModel, stepping, p.cpuMHz, p.cores, i, p.cores, i, i, mhz*2)
	}
	return b.String()
}

func cmdLscpu(e *env) int {
	p := e.s.p
	vendor := "GenuineIntel"
	if strings.HasPrefix(p.cpuModel, "AMD") {
		vendor = "AuthenticAMD"
	}
	model := p.cpuModel
	if p.distro.Arch == "aarch64" || p.distro.Arch == "arm64" {
		vendor, model = "ARM", "Neoverse-N1"
	}
	e.printf("Architecture:            %s\n  CPU op-mode(s):        32-bit, 64-bit\n  Address sizes:         46 bits physical, 48 bits virtual\n  Byte Order:            Little Endian\nCPU(s):                  %d\n  On-line CPU(s) list:   0-%d\nVendor ID:               %s\n  Model name:            %s\n    CPU family:          6\n    Thread(s) per core:  1\n    Core(s) per socket:  %d\n    Socket(s):           1\n    BogoMIPS:            4800.00\nVirtualization features: \n  Hypervisor vendor:     KVM\n  Virtualization type:   full\nCaches (sum of all):     \n  L1d:                   %d KiB (%d instances)\n  L1i:                   %d KiB (%d instances)\n  L2:                    %d MiB (%d instances)\n  L3:                    35.8 MiB (1 instance)\nNUMA:                    \n  NUMA node(s):          1\n  NUMA node0 CPU(s):     0-%d\n",
		p.distro.Arch, p.cores, p.cores-1, vendor, model, p.cores, 32*p.cores, p.cores, 32*p.cores, p.cores, p.cores, p.cores, p.cores-1)
	return 0
}

// ---- processes ----

func (s *Shell) sessionProcs(cmd string) []proc {
	p := s.p
	sshdPid := s.bashPid - 7
	st := s.start.Format("15:04")
	shell := "-" + pathBase(p.shellPath)
	return []proc{
		{pid: sshdPid - 3, ppid: 1, user: "root", cmd: "sshd: " + p.user + " [priv]", tty: "?", start: st, vsz: 17180, rss: 10940, stat: "Ss", cpu: "0:00"},
		{pid: sshdPid, ppid: sshdPid - 3, user: p.user, cmd: "sshd: " + p.user + "@pts/0", tty: "?", start: st, vsz: 17460, rss: 7820, stat: "S", cpu: "0:00"},
		{pid: s.bashPid, ppid: sshdPid, user: p.user, cmd: shell, tty: "pts/0", start: st, vsz: 8764, rss: 5400, stat: "Ss", cpu: "0:00"},
		{pid: s.bashPid + 1 + len(s.history), ppid: s.bashPid, user: p.user, cmd: cmd, tty: "pts/0", start: s.now().Format("15:04"), vsz: 10072, rss: 3420, stat: "R+", cpu: "0:00"},
	}
}

func (s *Shell) allProcs(cmd string) []proc {
	ps := append(append([]proc{}, s.p.procs...), s.sessionProcs(cmd)...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].pid < ps[j].pid })
	return ps
}

func cmdPs(e *env) int {
	s := e.s
	args := strings.Join(e.args, " ")
	cmdline := "ps"
	if args != "" {
		cmdline += " " + args
	}
	bsd := len(e.args) > 0 && !strings.HasPrefix(e.args[0], "-")
	f := parseFlags(e.args, "opuC")
	all := f.short['e'] || f.short['A'] || (bsd && strings.ContainsAny(e.args[0], "ax"))
	procs := s.allProcs(cmdline)
	if !all {
		var mine []proc
		for _, p := range procs {
			if p.tty == "pts/0" {
				mine = append(mine, p)
			}
		}
		procs = mine
	}
	mem := s.p.memKB
	switch {
	case bsd && strings.Contains(e.args[0], "u"):
		e.printf("USER         PID %%CPU %%MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n")
		for _, p := range procs {
			e.printf("%-8s %7d %4.1f %4.1f %6d %5d %-8s %-4s %5s %6s %s\n", psUser(p.user), p.pid, 0.0,
				float64(p.rss)*100/float64(mem), p.vsz, p.rss, p.tty, p.stat, p.start, p.cpu, p.cmd)
		}
	case bsd:
		e.printf("    PID TTY      STAT   TIME COMMAND\n")
		for _, p := range procs {
			e.printf("%7d %-8s %-6s %4s %s\n", p.pid, p.tty, p.stat, p.cpu, p.cmd)
		}
	case f.short['f'] || f.short['F']:
		e.printf("UID          PID    PPID  C STIME TTY          TIME CMD\n")
		for _, p := range procs {
			e.printf("%-8s %8d %7d  0 %5s %-8s %8s %s\n", psUser(p.user), p.pid, p.ppid, p.start, p.tty, "00:"+leftPad(p.cpu, 5), p.cmd)
		}
	default:
		e.printf("    PID TTY          TIME CMD\n")
		for _, p := range procs {
			name := pathBase(strings.Fields(p.cmd + " x")[0])
			name = strings.TrimPrefix(strings.TrimSuffix(name, ":"), "-")
			if strings.HasPrefix(p.cmd, "[") {
				name = strings.Trim(p.cmd, "[]")
			}
			e.printf("%7d %-8s %8s %s\n", p.pid, p.tty, "00:"+leftPad(p.cpu, 5), name)
		}
	}
	return 0
}

func leftPad(v string, n int) string {
	v = strings.ReplaceAll(v, ":", ":")
	if len(v) < n {
		v = strings.Repeat("0", n-len(v)) + v
	}
	return v
}

func cmdTop(e *env) int {
	s := e.s
	f := parseFlags(e.args, "dnp")
	if !f.short['b'] && (!s.tty || e.inPipe) {
		e.errorf("top: failed tty get\n")
		return 1
	}
	m := s.mem()
	procs := s.allProcs("top")
	e.printf("top - %s %s,  1 user,  load average: %s\n", s.now().Format("15:04:05"), s.uptimeText(), s.loadavg(", "))
	e.printf("Tasks: %3d total,   1 running, %3d sleeping,   0 stopped,   0 zombie\n", len(procs), len(procs)-1)
	e.printf("%%Cpu(s):  0.0 us,  3.1 sy,  0.0 ni, 96.9 id,  0.0 wa,  0.0 hi,  0.0 si,  0.0 st\n")
	e.printf("MiB Mem : %8.1f total, %8.1f free, %8.1f used, %8.1f buff/cache\n", float64(m.total)/1024, float64(m.free)/1024, float64(m.used)/1024, float64(m.buff)/1024)
	e.printf("MiB Swap: %8.1f total, %8.1f free, %8.1f used. %8.1f avail Mem\n\n", float64(m.swapTotal)/1024, float64(m.swapTotal)/1024, 0.0, float64(m.avail)/1024)
	e.printf("    PID USER      PR  NI    VIRT    RES    SHR S  %%CPU  %%MEM     TIME+ COMMAND\n")
	for _, p := range procs {
		name := pathBase(strings.Fields(p.cmd + " x")[0])
		if strings.HasPrefix(p.cmd, "[") {
			name = strings.Trim(p.cmd, "[]")
		}
		st := "S"
		if strings.HasPrefix(p.stat, "R") {
			st = "R"
		}
		e.printf("%7d %-9s 20   0 %7d %6d %6d %s   0.0 %5.1f   %s.00 %s\n", p.pid, trunc(p.user, 9), p.vsz, p.rss, p.rss/2, st, float64(p.rss)*100/float64(m.total), p.cpu, trunc(name, 15))
	}
	if !f.short['b'] {
		// An interactive top would take over the terminal; the session shows one frame.
		return 0
	}
	return 0
}

func cmdPgrep(e *env) int {
	f := parseFlags(e.args, "u")
	if len(f.rest) == 0 {
		e.errorf("pgrep: no matching criteria specified\nTry `pgrep --help' for more information.\n")
		return 2
	}
	found := 1
	for _, p := range e.s.allProcs("pgrep") {
		hay := p.cmd
		if !f.short['f'] {
			hay = pathBase(strings.Fields(p.cmd + " x")[0])
		}
		if strings.Contains(hay, f.rest[0]) && !strings.HasPrefix(p.cmd, "pgrep") {
			if f.short['l'] {
				e.printf("%d %s\n", p.pid, hay)
			} else {
				e.printf("%d\n", p.pid)
			}
			found = 0
		}
	}
	return found
}

func cmdPkill(e *env) int {
	f := parseFlags(e.args, "u")
	if len(f.rest) == 0 {
		e.errorf("%s: no process name specified\n", e.name)
		return 2
	}
	for _, p := range e.s.p.procs {
		if strings.Contains(p.cmd, f.rest[0]) {
			if e.s.p.uid != 0 && p.user != e.s.p.user {
				if e.name == "killall" {
					e.errorf("%s(%d): Operation not permitted\n", f.rest[0], p.pid)
				} else {
					e.errorf("pkill: killing pid %d failed: Operation not permitted\n", p.pid)
				}
				return 1
			}
			return 0
		}
	}
	if e.name == "killall" {
		e.errorf("%s: no process found\n", f.rest[0])
	}
	return 1
}

// ---- network ----

func (s *Shell) linkLocal() string {
	var b [6]byte
	fmt.Sscanf(s.p.mac, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5])
	return fmt.Sprintf("fe80::%x:%x:%x:%x", uint16(b[0]^2)<<8|uint16(b[1]), uint16(b[2])<<8|0xff, 0xfe00|uint16(b[3]), uint16(b[4])<<8|uint16(b[5]))
}

func broadcast(pf netip.Prefix) netip.Addr {
	a := pf.Masked().Addr().As4()
	bits := pf.Bits()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= (1 << (32 - bits)) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func netmask(bits int) string {
	v := ^uint32(0) << (32 - bits)
	return fmt.Sprintf("%d.%d.%d.%d", byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func cmdIP(e *env) int {
	s := e.s
	p := s.p
	args := e.args
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		args = args[1:]
	}
	obj := "help"
	if len(args) > 0 {
		obj = args[0]
	}
	sub := ""
	if len(args) > 1 {
		sub = args[1]
	}
	switch {
	case obj == "help" && len(args) == 0:
		e.errorf("Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n       ip [ -force ] -batch filename\nwhere  OBJECT := { address | addrlabel | amt | fou | help | ila | ioam | l2tp |\n                   link | macsec | maddress | monitor | mptcp | mroute | mrule |\n                   neighbor | neighbour | netconf | netns | nexthop | ntable |\n                   ntbl | route | rule | sr | tap | tcpmetrics |\n                   token | tunnel | tuntap | vrf | xfrm }\n")
		return 255
	case strings.HasPrefix("address", obj) || obj == "a":
		if sub != "" && sub != "show" && sub != "list" && sub != "s" && sub != "ls" {
			if p.uid != 0 {
				e.errorf("RTNETLINK answers: Operation not permitted\n")
				return 2
			}
			return 0
		}
		e.printf("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n    inet6 ::1/128 scope host \n       valid_lft forever preferred_lft forever\n")
		e.printf("2: %s: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000\n    link/ether %s brd ff:ff:ff:ff:ff:ff\n    inet %s/%d brd %s scope global %s\n       valid_lft forever preferred_lft forever\n    inet6 %s/64 scope link \n       valid_lft forever preferred_lft forever\n",
			p.iface, p.mac, p.ip, p.prefix.Bits(), broadcast(p.prefix), p.iface, s.linkLocal())
	case strings.HasPrefix("link", obj) || obj == "l":
		e.printf("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n")
		e.printf("2: %s: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP mode DEFAULT group default qlen 1000\n    link/ether %s brd ff:ff:ff:ff:ff:ff\n", p.iface, p.mac)
	case strings.HasPrefix("route", obj) || obj == "r":
		if sub != "" && sub != "show" && sub != "list" && sub != "ls" {
			if p.uid != 0 {
				e.errorf("RTNETLINK answers: Operation not permitted\n")
				return 2
			}
			return 0
		}
		proto := "static"
		if p.family == "debian" && p.id == "ubuntu" {
			proto = "dhcp src " + p.ip.String() + " metric 100"
		}
		e.printf("default via %s dev %s proto %s \n%s dev %s proto kernel scope link src %s \n", p.gateway, p.iface, proto, p.prefix.Masked(), p.iface, p.ip)
	case strings.HasPrefix("neighbour", obj) || strings.HasPrefix("neighbor", obj) || obj == "n":
		e.printf("%s dev %s lladdr 00:1a:8c:%02x:%02x:%02x REACHABLE\n", p.gateway, p.iface, p.ip.As4()[3], 0x4e, 0x11)
	default:
		e.errorf("Object \"%s\" is unknown, try \"ip help\".\n", obj)
		return 1
	}
	return 0
}

func cmdIfconfig(e *env) int {
	s := e.s
	p := s.p
	if p.busybox {
		e.printf("%-9s Link encap:Ethernet  HWaddr %s  \n          inet addr:%s  Bcast:%s  Mask:%s\n          inet6 addr: %s/64 Scope:Link\n          UP BROADCAST RUNNING MULTICAST  MTU:1500  Metric:1\n          RX packets:%d errors:0 dropped:0 overruns:0 frame:0\n          TX packets:%d errors:0 dropped:0 overruns:0 carrier:0\n          collisions:0 txqueuelen:1000 \n\nlo        Link encap:Local Loopback  \n          inet addr:127.0.0.1  Mask:255.0.0.0\n          UP LOOPBACK RUNNING  MTU:65536  Metric:1\n\n",
			p.iface, strings.ToUpper(p.mac), p.ip, broadcast(p.prefix), netmask(p.prefix.Bits()), s.linkLocal(), s.rxPackets(), s.rxPackets()/2)
		return 0
	}
	rx := s.rxPackets()
	e.printf("%s: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500\n        inet %s  netmask %s  broadcast %s\n        inet6 %s  prefixlen 64  scopeid 0x20<link>\n        ether %s  txqueuelen 1000  (Ethernet)\n        RX packets %d  bytes %d (%s)\n        RX errors 0  dropped 0  overruns 0  frame 0\n        TX packets %d  bytes %d (%s)\n        TX errors 0  dropped 0 overruns 0  carrier 0  collisions 0\n\n",
		p.iface, p.ip, netmask(p.prefix.Bits()), broadcast(p.prefix), s.linkLocal(), p.mac, rx, rx*612, humanNet(rx*612), rx/2, rx*210, humanNet(rx*210))
	e.printf("lo: flags=73<UP,LOOPBACK,RUNNING>  mtu 65536\n        inet 127.0.0.1  netmask 255.0.0.0\n        inet6 ::1  prefixlen 128  scopeid 0x10<host>\n        loop  txqueuelen 1000  (Local Loopback)\n        RX packets 1184  bytes 98120 (98.1 KB)\n        RX errors 0  dropped 0  overruns 0  frame 0\n        TX packets 1184  bytes 98120 (98.1 KB)\n        TX errors 0  dropped 0 overruns 0  carrier 0  collisions 0\n\n")
	return 0
}

func (s *Shell) rxPackets() int64 {
	return int64(s.now().Sub(s.p.bootAt).Seconds()) / 3 * int64(1+s.p.cores)
}

func humanNet(b int64) string {
	switch {
	case b >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(b)/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(b)/1e6)
	}
	return fmt.Sprintf("%.1f KB", float64(b)/1e3)
}

func cmdRoute(e *env) int {
	p := e.s.p
	e.printf("Kernel IP routing table\nDestination     Gateway         Genmask         Flags Metric Ref    Use Iface\n")
	e.printf("%-15s %-15s %-15s UG    0      0        0 %s\n", "0.0.0.0", p.gateway, "0.0.0.0", p.iface)
	e.printf("%-15s %-15s %-15s U     0      0        0 %s\n", p.prefix.Masked().Addr(), "0.0.0.0", netmask(p.prefix.Bits()), p.iface)
	return 0
}

func (s *Shell) sockets(listenOnly bool) [][5]string {
	var rows [][5]string
	for _, l := range s.p.listeners {
		rows = append(rows, [5]string{l.proto, "LISTEN", fmt.Sprintf("0.0.0.0:%d", l.port), "0.0.0.0:*", fmt.Sprintf("%d/%s", l.pid, l.prog)})
	}
	if !listenOnly {
		rows = append(rows, [5]string{"tcp", "ESTAB", s.p.ip.String() + ":22", s.p.clientIP + ":" + strings.Fields(s.vars["SSH_CLIENT"] + " 0 0")[1], fmt.Sprintf("%d/sshd: %s", s.bashPid-7, s.p.user)})
	}
	return rows
}

func cmdSs(e *env) int {
	f := parseFlags(e.args, "")
	listen := f.short['l']
	e.printf("%-6s %-7s %-6s %-6s %-30s %-30s%s\n", "Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port", map[bool]string{true: "Process", false: ""}[f.short['p']])
	for _, r := range e.s.sockets(listen) {
		if f.short['t'] && !f.short['u'] && r[0] != "tcp" || f.short['u'] && !f.short['t'] && r[0] != "udp" {
			continue
		}
		state := r[1]
		if r[0] == "udp" {
			state = "UNCONN"
		}
		proc := ""
		if f.short['p'] && e.s.p.uid == 0 {
			pid, prog, _ := strings.Cut(r[4], "/")
			proc = fmt.Sprintf("users:((\"%s\",pid=%s,fd=3))", prog, pid)
		}
		e.printf("%-6s %-7s %-6s %-6s %-30s %-30s%s\n", r[0], state, "0", "128", r[2], r[3], proc)
	}
	return 0
}

func cmdNetstat(e *env) int {
	f := parseFlags(e.args, "")
	if f.short['r'] {
		return cmdRoute(e)
	}
	e.printf("Active Internet connections (%s)\n", map[bool]string{true: "only servers", false: "servers and established"}[f.short['l']])
	e.printf("Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name    \n")
	for _, r := range e.s.sockets(f.short['l']) {
		state := map[string]string{"LISTEN": "LISTEN", "ESTAB": "ESTABLISHED"}[r[1]]
		if r[0] == "udp" {
			state = ""
		}
		prog := "-"
		if f.short['p'] && e.s.p.uid == 0 {
			prog = r[4]
		}
		e.printf("%-5s %6d %6d %-23s %-23s %-11s %s\n", r[0], 0, 0, r[2], r[3], state, prog)
	}
	return 0
}

// ---- environment ----

func cmdEnv(e *env) int {
	if len(e.args) > 0 {
		args := e.args
		for len(args) > 0 && (strings.Contains(args[0], "=") || strings.HasPrefix(args[0], "-")) {
			args = args[1:]
		}
		if len(args) > 0 {
			return e.s.dispatch(args, nil, e.stdin, e.out, e.err, e.depth, e.inPipe)
		}
	}
	for _, k := range e.s.envKeys() {
		e.printf("%s=%s\n", k, e.s.vars[k])
	}
	return 0
}

func cmdPrintenv(e *env) int {
	if len(e.args) == 0 {
		return cmdEnv(e)
	}
	status := 0
	for _, k := range e.args {
		if v, ok := e.s.vars[k]; ok && e.s.exports[k] {
			e.printf("%s\n", v)
		} else {
			status = 1
		}
	}
	return status
}

func cmdDate(e *env) int {
	t := e.s.now().UTC()
	for _, a := range e.args {
		if strings.HasPrefix(a, "+") {
			e.printf("%s\n", strftime(a[1:], t))
			return 0
		}
		if a == "-s" || strings.HasPrefix(a, "--set") {
			if e.s.p.uid != 0 {
				e.errorf("date: cannot set date: Operation not permitted\n")
				return 1
			}
		}
	}
	e.printf("%s\n", t.Format("Mon Jan _2 03:04:05 PM MST 2006"))
	return 0
}

func strftime(f string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'Y':
			b.WriteString(t.Format("2006"))
		case 'm':
			b.WriteString(t.Format("01"))
		case 'd':
			b.WriteString(t.Format("02"))
		case 'H':
			b.WriteString(t.Format("15"))
		case 'M':
			b.WriteString(t.Format("04"))
		case 'S':
			b.WriteString(t.Format("05"))
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 'y':
			b.WriteString(t.Format("06"))
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'b':
			b.WriteString(t.Format("Jan"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case 'n':
			b.WriteByte('\n')
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

func cmdLsbRelease(e *env) int {
	p := e.s.p
	if p.family != "debian" {
		return e.s.notFoundExit(e)
	}
	f := parseFlags(e.args, "")
	id := p.osr["NAME"]
	if p.id == "ubuntu" {
		id = "Ubuntu"
	} else if p.id == "debian" {
		id = "Debian"
	} else if p.id == "kali" {
		id = "Kali"
	}
	code := p.osr["VERSION_CODENAME"]
	if code == "" {
		code = "n/a"
	}
	if f.short['a'] || len(e.args) == 0 {
		e.errorf("No LSB modules are available.\n")
	}
	if f.short['a'] || f.short['i'] {
		e.printf("Distributor ID:\t%s\n", id)
	}
	if f.short['a'] || f.short['d'] || len(e.args) == 0 {
		e.printf("Description:\t%s\n", p.pretty)
	}
	if f.short['a'] || f.short['r'] {
		e.printf("Release:\t%s\n", p.versionID)
	}
	if f.short['a'] || f.short['c'] {
		e.printf("Codename:\t%s\n", code)
	}
	return 0
}

// notFoundExit prints the shell's "command not found" for commands this persona lacks.
func (s *Shell) notFoundExit(e *env) int {
	e.errorf("%s", s.notFound(e.name))
	return 127
}

func cmdHostnamectl(e *env) int {
	p := e.s.p
	if !p.systemd {
		return e.s.notFoundExit(e)
	}
	e.printf(" Static hostname: %s\n       Icon name: computer-vm\n         Chassis: vm\n      Machine ID: %s\n         Boot ID: %s\n  Virtualization: kvm\nOperating System: %s\n          Kernel: Linux %s\n    Architecture: %s\n Hardware Vendor: QEMU\n  Hardware Model: Standard PC _i440FX + PIIX, 1996_\n",
		p.hostname, randHex(newRand(p.hostname+"machine"), 32), randHex(newRand(p.hostname+p.bootAt.String()), 32), p.pretty, p.distro.Kernel, map[string]string{"x86_64": "x86-64", "aarch64": "arm64"}[p.distro.Arch])
	return 0
}

func cmdGetent(e *env) int {
	if len(e.args) == 0 {
		e.errorf("getent: missing argument\n")
		return 1
	}
	var src string
	switch e.args[0] {
	case "passwd":
		src = e.s.passwdText()
	case "group":
		src = e.s.groupText()
	case "hosts":
		e.printf("127.0.0.1       localhost\n%s\t%s\n", e.s.p.ip, e.s.p.hostname)
		return 0
	default:
		e.errorf("Unknown database: %s\nTry `getent --help' or `getent --usage' for more information.\n", e.args[0])
		return 1
	}
	if len(e.args) == 1 {
		e.printf("%s", src)
		return 0
	}
	status := 2
	for _, l := range strings.Split(src, "\n") {
		for _, k := range e.args[1:] {
			if strings.HasPrefix(l, k+":") {
				e.printf("%s\n", l)
				status = 0
			}
		}
	}
	return status
}

func cmdDmesg(e *env) int {
	p := e.s.p
	if p.uid != 0 && p.family == "debian" {
		e.errorf("dmesg: read kernel buffer failed: Operation not permitted\n")
		return 1
	}
	e.printf("[    0.000000] %s", e.s.procVersion())
	e.printf("[    0.000000] Command line: %s", e.s.fs.mustRead("/proc/cmdline"))
	e.printf("[    0.000000] BIOS-provided physical RAM map:\n[    0.000000] Hypervisor detected: KVM\n[    0.000000] kvm-clock: Using msrs 4b564d01 and 4b564d00\n")
	e.printf("[    0.412003] smpboot: Allowing %d CPUs, 0 hotplug CPUs\n", p.cores)
	if p.iface != "eth0" { // systemd/udev renames the kernel's eth0 to the predictable name
		e.printf("[    1.102877] virtio_net virtio0 %s: renamed from eth0\n", p.iface)
	}
	e.printf("[    2.337410] EXT4-fs (sda1): mounted filesystem with ordered data mode. Quota mode: none.\n")
	return 0
}

func (f *memFS) mustRead(p string) string {
	n, err := f.walk(p, true)
	if err != nil {
		return ""
	}
	return string(n.content())
}

// psUser is how procps shows a user name wider than its column.
func psUser(u string) string {
	if len(u) > 8 {
		return u[:7] + "+"
	}
	return u
}
