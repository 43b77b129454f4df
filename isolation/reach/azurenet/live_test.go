package azurenet_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/connectsoft/tenantctl/isolation/reach/azurenet"
)

// TestLiveRead lists a real subscription when TENANTCTL_AZURE_LIVE=1 and
// TENANTCTL_AZURE_SUBSCRIPTION name one, with the default Azure credential. It never runs in CI.
func TestLiveRead(t *testing.T) {
	if os.Getenv("TENANTCTL_AZURE_LIVE") != "1" {
		t.Skip("set TENANTCTL_AZURE_LIVE=1 and TENANTCTL_AZURE_SUBSCRIPTION to read a real subscription")
	}
	sub := os.Getenv("TENANTCTL_AZURE_SUBSCRIPTION")
	if sub == "" {
		t.Fatal("TENANTCTL_AZURE_SUBSCRIPTION is not set")
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := azurenet.Read(ctx, cred, sub)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		var env struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(r.Raw, &env); err != nil || env.ID != r.ID {
			t.Errorf("%s: raw JSON is not the resource's ARM JSON (%v)", r.ID, err)
		}
	}
	t.Logf("read %d network resources from subscription %s", len(res), sub)
}
