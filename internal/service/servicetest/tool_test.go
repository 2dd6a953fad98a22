package servicetest

import (
	"errors"
	"os/exec"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	out, err := Run(t, 10*time.Second, []string{"DNT_RUN_TEST=from-env"}, "sh", "-c", `echo "$DNT_RUN_TEST"; echo oops >&2; exit 3`)
	if out != "from-env\noops\n" {
		t.Errorf("output %q, want stdout and stderr together", out)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("error %v, want exit status 3", err)
	}
	if out, err := Run(t, 10*time.Second, nil, "sh", "-c", "echo ok"); out != "ok\n" || err != nil {
		t.Errorf("Run = %q, %v", out, err)
	}
}
