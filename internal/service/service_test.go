package service

import (
	"context"
	"errors"
	"strings"
	"testing"

	"decnet/internal/fleet"
)

func TestResolveAndValidate(t *testing.T) {
	spec := Spec{Name: "demo", Keys: []Key{
		{Name: "version", Kind: String, Default: "1.0"},
		{Name: "port_count", Kind: Int, Default: "3"},
		{Name: "verbose", Kind: Bool, Default: "false"},
		{Name: "users", Kind: List},
		{Name: "mode", Kind: String, Check: func(v string) error {
			if v != "a" && v != "b" {
				return errors.New("must be a or b")
			}
			return nil
		}},
	}}
	got, err := spec.Resolve(map[string]string{"verbose": " Yes ", "users": " root:toor ,, admin:admin ", "port_count": "07"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"version": "1.0", "port_count": "7", "verbose": "true", "users": "root:toor,admin:admin"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["mode"]; ok {
		t.Error("a key without default and value must be absent")
	}
	for _, tc := range []struct{ key, val, msg string }{
		{"nope", "1", `service demo: key "nope": unknown key (known: version, port_count, verbose, users, mode)`},
		{"verbose", "maybe", `service demo: key "verbose": "maybe" is not a boolean (use true/false, yes/no, on/off, 1/0)`},
		{"port_count", "3x", `service demo: key "port_count": "3x" is not a whole number`},
		{"mode", "c", `service demo: key "mode": must be a or b`},
	} {
		_, err := spec.ValidateKey(tc.key, tc.val)
		var ke *KeyError
		if !errors.As(err, &ke) || err.Error() != tc.msg {
			t.Errorf("ValidateKey(%s=%s) = %v, want %s", tc.key, tc.val, err, tc.msg)
		}
	}
}

func TestRegisterRejectsBadSpecs(t *testing.T) {
	run := func(context.Context, *Runtime) error { return nil }
	ports := []fleet.Port{{Number: 1, Proto: "tcp"}}
	for want, spec := range map[string]Spec{
		"needs Name, Ports and Run":    {Name: "x1", Run: run},
		"empty or duplicate key a":     {Name: "x2", Ports: ports, Run: run, Keys: []Key{{Name: "a"}, {Name: "a"}}},
		"bad default for n":            {Name: "x3", Ports: ports, Run: run, Keys: []Key{{Name: "n", Kind: Int, Default: "many"}}},
		"service: x4 registered twice": {Name: "x4", Ports: ports, Run: run},
	} {
		if spec.Name == "x4" {
			Register(spec)
		}
		func() {
			defer func() {
				r, _ := recover().(string)
				if !strings.Contains(r, want) {
					t.Errorf("Register(%s) panicked with %q, want %q", spec.Name, r, want)
				}
			}()
			Register(spec)
		}()
	}
}

func TestSplitListAndParseBool(t *testing.T) {
	if got := SplitList(" a, ,b ,c,"); strings.Join(got, "|") != "a|b|c" {
		t.Errorf("SplitList = %q", got)
	}
	for in, want := range map[string]bool{"1": true, "TRUE": true, "on": true, "no": false, "Off": false, "0": false} {
		if got, err := ParseBool(in); err != nil || got != want {
			t.Errorf("ParseBool(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseBool("truthy"); err == nil {
		t.Error("ParseBool accepted a truthy string")
	}
}
