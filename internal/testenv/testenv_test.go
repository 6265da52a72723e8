package testenv

import (
	"net"
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestPubSubEmulatorListens(t *testing.T) {
	host := PubSub(t)
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatalf("dial %s: %v", host, err)
	}
	c.Close()
	if os.Getenv("PUBSUB_EMULATOR_HOST") != host {
		t.Errorf("PUBSUB_EMULATOR_HOST = %q, want %q", os.Getenv("PUBSUB_EMULATOR_HOST"), host)
	}
}
