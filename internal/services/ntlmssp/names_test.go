package ntlmssp

import (
	"strings"
	"testing"
)

func TestNameChecks(t *testing.T) {
	for _, ok := range []string{"CORP", "WIN-3J5K7L9M2N4", "DESKTOP-7K2QJ9A", "A"} {
		if err := CheckNetBIOSName(ok); err != nil {
			t.Errorf("CheckNetBIOSName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "SIXTEEN-CHARS-XX", "a.b", "a b", `a\b`, "a,b", "a=b", "a;b", "a#b", "é", "a\x00"} {
		if err := CheckNetBIOSName(bad); err == nil {
			t.Errorf("CheckNetBIOSName(%q) accepted", bad)
		}
	}
	for _, ok := range []string{"WORKGROUP", "corp.local", strings.Repeat("a", 255)} {
		if err := CheckDomainName(ok); err != nil {
			t.Errorf("CheckDomainName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", strings.Repeat("a", 256), "corp\x1b.local", "cörp"} {
		if err := CheckDomainName(bad); err == nil {
			t.Errorf("CheckDomainName(%q) accepted", bad)
		}
	}
}
