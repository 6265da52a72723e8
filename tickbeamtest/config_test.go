package tickbeamtest_test

import (
	"testing"

	"github.com/tickbeam/tickbeam/tickbeamtest"
)

func TestConfigValidate(t *testing.T) {
	for _, ok := range []tickbeamtest.Config{{}, {Project: "tickbeam-test", Require: true}} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
	const want = `tickbeamtest: Project: bigqueryx: project "Bad_Project": want 6-30 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen`
	if err := (tickbeamtest.Config{Project: "Bad_Project"}).Validate(); err == nil || err.Error() != want {
		t.Errorf("bad project: got %v, want %q", err, want)
	}
}
