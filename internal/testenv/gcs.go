package testenv

import (
	"net/url"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// FakeGCS runs an in-process fake-gcs-server holding objects and points the
// GCS clients of this process at it through STORAGE_EMULATOR_HOST (prism
// runs the SDK harness in-process, so pipelines see it too).
func FakeGCS(t testing.TB, objects ...fakestorage.Object) *fakestorage.Server {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		InitialObjects: objects,
		Scheme:         "http",
		Host:           "127.0.0.1",
		// Object reads go to the "public" host; without a port it matches
		// 127.0.0.1 on any port, so the listener can pick its own.
		PublicHost: "127.0.0.1",
	})
	if err != nil {
		t.Fatalf("fake GCS: %v", err)
	}
	t.Cleanup(srv.Stop)
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("STORAGE_EMULATOR_HOST", u.Host)
	return srv
}
