package engine

import (
	"net/netip"
	"reflect"
	"testing"

	"decnet/internal/fleet"
)

func TestSummarize(t *testing.T) {
	f := &fleet.Fleet{Deckies: []fleet.Decky{
		{Name: "b", IP: netip.MustParseAddr("10.0.0.2"), MAC: "00:00:00:00:00:02", Hostname: "hb"},
		{Name: "a", IP: netip.MustParseAddr("10.0.0.1"), MAC: "00:00:00:00:00:01", Hostname: "ha"},
	}}
	cs := []ContainerState{
		{Name: "p-a-ssh", Decky: "a", Service: "ssh", Role: "service", State: "running"},
		{Name: "p-zz", Decky: "zz", Role: "base", State: "exited"},
		{Name: "p-a", Decky: "a", Role: "base", State: "running"},
		{Name: "p-a-http", Decky: "a", Service: "http", Role: "service", State: "running"},
		{Name: "p-old", Decky: "old", Role: "base", State: "running"},
	}
	got := Summarize(f, cs)
	want := []DeckyStatus{
		{Name: "b", IP: "10.0.0.2", MAC: "00:00:00:00:00:02", Hostname: "hb"},
		{Name: "a", IP: "10.0.0.1", MAC: "00:00:00:00:00:01", Hostname: "ha", Containers: []ContainerState{cs[2], cs[3], cs[0]}},
		{Name: "old", Containers: []ContainerState{cs[4]}},
		{Name: "zz", Containers: []ContainerState{cs[1]}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if got := Summarize(nil, nil); got != nil {
		t.Fatalf("empty: %+v", got)
	}
}
