package azurite_test

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/internal/azurite"
)

// TestEmulatorRoundTrip starts the real emulator, writes blobs through the Blob API, reads them
// back, and checks that Stop frees the port.
func TestEmulatorRoundTrip(t *testing.T) {
	s := azurite.ForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.CreateContainer(ctx, "state"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateContainer(ctx, "state"); err != nil {
		t.Errorf("creating an existing container: %v", err)
	}
	c, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{
		".pulumi/meta.yaml":          []byte("version: 1\n"),
		".pulumi/stacks/p/dev.json":  bytes.Repeat([]byte("x"), 70_000),
		".pulumi/locks/p/dev/1.json": []byte(`{"pid":1}`),
	}
	for name, data := range want {
		if _, err := c.UploadBuffer(ctx, "state", name, data, nil); err != nil {
			t.Fatalf("upload %s: %v", name, err)
		}
	}
	got, err := s.ReadAll(ctx, "state")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("blobs read back (-want +got):\n%s", diff)
	}
	if _, err := s.ReadAll(ctx, "missing"); err == nil {
		t.Error("reading a container that does not exist succeeded")
	}

	s.Stop()
	if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		c.Close()
		t.Errorf("port %s still answers after Stop", s.Addr)
	}
}

func TestBackendURL(t *testing.T) {
	s := &azurite.Server{Addr: "127.0.0.1:10000"}
	tests := []struct{ name, got, want string }{
		{"backend", s.BackendURL("state"), "azblob://state?localemu=true&protocol=http&domain=127.0.0.1:10000"},
		{"endpoint", s.Endpoint(), "http://127.0.0.1:10000/devstoreaccount1/"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	if diff := cmp.Diff(map[string]string{"AZURE_STORAGE_ACCOUNT": azurite.Account, "AZURE_STORAGE_KEY": azurite.Key}, s.Env()); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
}
