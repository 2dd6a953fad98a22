package cli

import (
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a flag value holding a size in bytes, written as a number with an
// optional unit: 1048576, 512MiB, 1GiB, 2G (units are powers of 1024; "unbounded"
// or -1 means no bound).
type byteSize int64

func (b *byteSize) String() string {
	v := int64(*b)
	switch {
	case v < 0:
		return "unbounded"
	case v > 0 && v%(1<<30) == 0:
		return strconv.FormatInt(v>>30, 10) + "GiB"
	case v > 0 && v%(1<<20) == 0:
		return strconv.FormatInt(v>>20, 10) + "MiB"
	}
	return strconv.FormatInt(v, 10)
}

func (b *byteSize) Type() string { return "size" }

func (b *byteSize) Set(s string) error {
	v, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(v)
	return nil
}

func parseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "unbounded" || t == "-1" {
		return -1, nil
	}
	units := []struct {
		suffix string
		mul    int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1}}
	mul := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mul = strings.TrimSuffix(t, u.suffix), u.mul
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mul {
		return 0, fmt.Errorf("%q is not a size: write a positive number with an optional unit (KiB, MiB, GiB, TiB), e.g. 512MiB, or \"unbounded\"", s)
	}
	return n * mul, nil
}
