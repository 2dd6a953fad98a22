package analysis

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"decnet/internal/store"
)

// Behaviour classes, from the most to the least telling: when several match, the
// first in this order is the class and the others stay in the evidence.
const (
	ClassLateral     = "lateral_mover"
	ClassInteractive = "interactive"
	ClassBeacon      = "beacon"
	ClassBruteForcer = "brute_forcer"
	ClassScanner     = "scanner"
	ClassUnknown     = "unknown"
)

// Classification thresholds.
const (
	scanMinPorts       = 10   // distinct destination ports that make a scan
	scanMinServices    = 3    // services probed without logging in or typing
	scanMinConnects    = 10   // connections without logging in or typing
	bruteMinAttempts   = 10   // login attempts
	bruteMinFailRatio  = 0.8  // share of them that failed
	bruteMaxMedianS    = 5.0  // median seconds between events while guessing
	bruteMinDistinct   = 5    // or this many distinct usernames + passwords
	humanMinCommands   = 3    // commands typed
	humanMinPauseS     = 1.0  // median pause between commands: a person reads and types…
	humanMaxPauseS     = 600  // …but does not walk away between every command
	humanMinCV         = 0.2  // and the pauses are irregular (a script's are not)
	beaconMinSessions  = 5    // bursts of activity
	beaconMinIntervalS = 5.0  // mean seconds between their starts
	beaconMaxCV        = 0.15 // and (almost) the same every time
	toolMaxGuesses     = 8
)

// match is a behaviour class and why it applies.
type match struct {
	class string
	why   []string
}

func (a *acc) classify() []match {
	st := &a.st
	var out []match
	engaged := st.AuthSuccesses > 0 || a.row.CommandCount > 0

	if st.LateralMoves > 0 || len(st.Engaged) >= 2 {
		why := []string{fmt.Sprintf("got in on %s, then touched %s (path %s)",
			strings.Join(st.Engaged[:1], ""), plural(st.LateralMoves, "other decky", "other deckies"), a.row.TraversalPath)}
		if len(st.Engaged) >= 2 {
			why = append(why, fmt.Sprintf("logged in or ran commands on %d deckies: %s", len(st.Engaged), strings.Join(st.Engaged, ", ")))
		}
		out = append(out, match{ClassLateral, why})
	}
	if a.row.CommandCount >= humanMinCommands && st.Cmd.W.N >= 2 {
		med, cv := st.Cmd.R.median(), st.Cmd.W.cv()
		if med >= humanMinPauseS && med <= humanMaxPauseS && cv >= humanMinCV {
			out = append(out, match{ClassInteractive, []string{fmt.Sprintf("%d commands with human pauses between them (median %.1f s, cv %.2f, %d pauses measured)",
				a.row.CommandCount, med, cv, st.Cmd.W.N)}})
		}
	}
	if st.Timing.Sessions >= beaconMinSessions && st.Timing.SessW.N >= beaconMinSessions-1 &&
		st.Timing.SessW.Mean >= beaconMinIntervalS && st.Timing.SessW.cv() <= beaconMaxCV {
		out = append(out, match{ClassBeacon, []string{fmt.Sprintf("%d sessions starting every %.1f s (cv %.3f): periodic",
			st.Timing.Sessions, st.Timing.SessW.Mean, st.Timing.SessW.cv())}})
	}
	if st.AuthAttempts >= bruteMinAttempts {
		ratio := float64(st.AuthFailures) / float64(st.AuthAttempts)
		med := st.Timing.R.median()
		distinct := st.Users.count() + st.Passwords.count()
		if ratio >= bruteMinFailRatio && (med <= bruteMaxMedianS || distinct >= bruteMinDistinct) {
			out = append(out, match{ClassBruteForcer, []string{fmt.Sprintf("%d login attempts, %d failed (%.0f%%), %s and %s, median %.2f s between events",
				st.AuthAttempts, st.AuthFailures, 100*ratio, plural(int64(st.Users.count()), "username", "usernames"),
				plural(int64(st.Passwords.count()), "password", "passwords"), med)}})
		}
	}
	var scan []string
	if st.Scans > 0 {
		scan = append(scan, fmt.Sprintf("%d scan events from the sniffer (up to %d ports at once)", st.Scans, st.MaxPortCount))
	}
	if len(st.Ports) >= scanMinPorts {
		scan = append(scan, fmt.Sprintf("%d distinct destination ports", len(st.Ports)))
	}
	if !engaged && st.AuthAttempts == 0 {
		if len(a.row.Services) >= scanMinServices {
			scan = append(scan, fmt.Sprintf("probed %d services (%s) without logging in", len(a.row.Services), strings.Join(a.row.Services, ", ")))
		}
		if st.Connects >= scanMinConnects {
			scan = append(scan, fmt.Sprintf("%d connections without a login attempt", st.Connects))
		}
	}
	for _, t := range []string{"nmap", "masscan", "zmap"} {
		if ta := st.Tools[t]; ta != nil && ta.Conf >= 0.9 {
			scan = append(scan, fmt.Sprintf("%s probes seen (%d)", t, ta.Hits))
		}
	}
	if len(scan) > 0 {
		out = append(out, match{ClassScanner, scan})
	}
	return out
}

var (
	reDebianish = regexp.MustCompile(`(?i)debian|ubuntu|raspbian|el[6-9]|fedora|\bLinux\b`)
	reWindows   = regexp.MustCompile(`(?i)for_Windows|windows`)
	reBSD       = regexp.MustCompile(`(?i)FreeBSD`)
)

// osGuess votes over the SYN signatures seen (p0f-like table), falling back to the
// initial TTL and then to OS hints in SSH client versions.
func (a *acc) osGuess() (string, float64, []string) {
	votes := map[string]float64{}
	best := map[string]float64{}
	var why []string
	total := 0.0
	for _, s := range a.st.Syn {
		m, desc, ok := matchSyn(s.Sig)
		w := float64(s.Count)
		switch {
		case ok && m.Tool:
			continue // a crafted probe says nothing of the sender's OS
		case ok:
			votes[m.Label] += m.Conf * w
			best[m.Label] = max(best[m.Label], m.Conf)
			why = append(why, fmt.Sprintf("os %s: %s, %d SYN(s)", m.Label, desc, s.Count))
		default:
			label, conf, desc := fallbackOS(s.Sig)
			if label == "" {
				continue
			}
			votes[label] += conf * w
			best[label] = max(best[label], conf)
			why = append(why, fmt.Sprintf("os %s: %s, %d SYN(s)", label, desc, s.Count))
		}
		total += w
	}
	if total == 0 {
		for _, f := range a.row.Fingerprints {
			if f.Kind != "client_version" {
				continue
			}
			switch {
			case reWindows.MatchString(f.Value):
				return "Windows", 0.5, []string{fmt.Sprintf("os Windows: SSH client %q", f.Value)}
			case reBSD.MatchString(f.Value):
				return "FreeBSD", 0.4, []string{fmt.Sprintf("os FreeBSD: SSH client %q", f.Value)}
			case reDebianish.MatchString(f.Value):
				return "Linux", 0.4, []string{fmt.Sprintf("os Linux: SSH client %q names a Linux distribution", f.Value)}
			}
		}
		return "", 0, nil
	}
	label, v := "", 0.0
	for l, x := range votes {
		if x > v || x == v && l < label {
			label, v = l, x
		}
	}
	share := 0.0
	for _, x := range votes {
		share += x
	}
	conf := best[label] * v / share
	return label, math.Round(conf*100) / 100, why
}

// toolGuesses turns the tool evidence into guesses, adding those that only the
// whole profile shows.
func (a *acc) toolGuesses(classes []match) []store.ToolGuess {
	has := func(c string) bool {
		for _, m := range classes {
			if m.class == c {
				return true
			}
		}
		return false
	}
	tools := map[string]*toolAcc{}
	for k, v := range a.st.Tools {
		c := *v
		c.Evidence = append([]string(nil), v.Evidence...)
		tools[k] = &c
	}
	if t := tools["hydra"]; t != nil && tools["libssh"] != nil && has(ClassBruteForcer) {
		t.Conf = max(t.Conf, 0.85)
		t.Evidence = append(t.Evidence, fmt.Sprintf("a libssh client guessing passwords (%d attempts): hydra's ssh module", a.st.AuthAttempts))
	}
	if t := tools["medusa"]; t != nil && tools["libssh2"] != nil && has(ClassBruteForcer) {
		t.Conf = max(t.Conf, 0.75)
		t.Evidence = append(t.Evidence, fmt.Sprintf("a libssh2 client guessing passwords (%d attempts): medusa's ssh module", a.st.AuthAttempts))
	}
	if n := a.st.Paths.count(); n >= 50 && a.st.Requests > 0 && float64(a.st.NotFound)/float64(a.st.Requests) >= 0.5 &&
		tools["gobuster"] == nil && tools["nikto"] == nil && tools["ffuf"] == nil && tools["dirbuster"] == nil {
		tools["gobuster"] = &toolAcc{Conf: 0.35, Hits: 1, Evidence: []string{fmt.Sprintf("%d distinct paths requested, %d of %d answered 404: a content-discovery brute force like gobuster's", n, a.st.NotFound, a.st.Requests)}}
	}
	out := make([]store.ToolGuess, 0, len(tools))
	for name, t := range tools {
		conf := math.Min(0.99, t.Conf+0.05*float64(max(len(t.Evidence)-1, 0)))
		out = append(out, store.ToolGuess{Tool: name, Confidence: math.Round(conf*100) / 100, Evidence: t.Evidence})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Confidence != out[j].Confidence {
			return out[i].Confidence > out[j].Confidence
		}
		return out[i].Tool < out[j].Tool
	})
	if len(out) > toolMaxGuesses {
		out = out[:toolMaxGuesses]
	}
	return out
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

func (a *acc) timingStats() store.TimingStats {
	tm := &a.st.Timing
	ts := store.TimingStats{
		Events: tm.Events, Intervals: tm.W.N, MeanS: round3(tm.W.Mean), MedianS: round3(tm.R.median()),
		StdevS: round3(tm.W.stdev()), CV: round3(tm.W.cv()), MinS: round3(tm.W.Min), MaxS: round3(tm.W.Max),
		Bursts: tm.Bursts, LongestBurst: tm.Longest,
	}
	if span := tm.Last.Sub(tm.First); span > time.Second {
		ts.EventsPerMin = round3(float64(tm.Events) / span.Minutes())
	}
	return ts
}

// profile builds the attacker_behavior row.
func (a *acc) profile(now time.Time) store.Behavior {
	classes := a.classify()
	b := store.Behavior{AttackerUUID: a.row.UUID, BehaviorClass: ClassUnknown, Timing: a.timingStats(), UpdatedAt: now}
	if len(classes) > 0 {
		b.BehaviorClass = classes[0].class
	}
	for i, m := range classes {
		prefix := m.class + ": "
		if i == 0 && len(classes) > 1 {
			prefix = m.class + " (chosen: the most telling of " + fmt.Sprint(len(classes)) + " matches): "
		}
		for _, w := range m.why {
			b.Evidence = append(b.Evidence, prefix+w)
		}
	}
	if len(classes) == 0 {
		b.Evidence = append(b.Evidence, fmt.Sprintf("unknown: %d events, no rule matched yet", a.row.EventCount))
	}
	var osWhy []string
	b.OSGuess, b.OSConfidence, osWhy = a.osGuess()
	b.Evidence = append(b.Evidence, osWhy...)
	b.ToolGuesses = a.toolGuesses(classes)
	b.Phases = append([]store.Phase(nil), a.st.Phases...)
	sort.SliceStable(b.Phases, func(i, j int) bool { return b.Phases[i].First.Before(b.Phases[j].First) })
	return b
}
