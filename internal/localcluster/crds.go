package localcluster

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"time"

	"sigs.k8s.io/yaml"
)

// The local cluster serves the API types tenant stacks create beyond Kubernetes' own: the
// CustomResourceDefinitions of the Secrets Store CSI driver, so that a SecretProviderClass is a
// real API object that the API server validates against the driver's schema, as on AKS (where the
// azure-keyvault-secrets-provider add-on installs them). No driver runs here: without a kubelet
// nothing is mounted, so classes are stored and admitted, never used.
//
// The files are copied unchanged from the driver's module, which the Go module proxy serves:
// sigs.k8s.io/secrets-store-csi-driver v1.5.4, config/crd/bases/. CRDSources names each file's
// origin and SHA-256; TestEmbeddedCRDsAreTheModules checks both against the module itself.

//go:embed crds/*.yaml
var crdFiles embed.FS

// CRDModule is the module version the embedded CRDs come from.
const CRDModule = "sigs.k8s.io/secrets-store-csi-driver@v1.5.4"

// CRDSource is one embedded CRD file: its path in CRDModule and its SHA-256.
type CRDSource struct {
	File   string // under crds/
	Origin string // path in the module
	SHA256 string
}

// CRDSources are the embedded CRDs, installed in this order.
var CRDSources = []CRDSource{
	{"secrets-store.csi.x-k8s.io_secretproviderclasses.yaml", "config/crd/bases/secrets-store.csi.x-k8s.io_secretproviderclasses.yaml",
		"ef1623b34403bb11311fc92763b5b364ba456a166f1637eeec8d29052dd115f3"},
	{"secrets-store.csi.x-k8s.io_secretproviderclasspodstatuses.yaml", "config/crd/bases/secrets-store.csi.x-k8s.io_secretproviderclasspodstatuses.yaml",
		"3396be6b30e393eab9810dd97ec24fce01cece33cdf4caf57788d960ea8384d8"},
}

// EmbeddedCRD returns the bytes of an embedded CRD file.
func EmbeddedCRD(file string) ([]byte, error) { return crdFiles.ReadFile(path.Join("crds", file)) }

const crdAPI = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"

// installCRDs creates (or, on a restarted cluster whose etcd already holds them, replaces) every
// embedded CRD and waits until the API server serves each one.
func (c *Cluster) installCRDs(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ReadyTimeout)
	defer cancel()
	client := c.httpClient()
	client.Timeout = 10 * time.Second
	for _, src := range CRDSources {
		raw, err := EmbeddedCRD(src.File)
		if err != nil {
			return fmt.Errorf("local cluster: CRD %s: %w", src.File, err)
		}
		body, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return fmt.Errorf("local cluster: CRD %s: %w", src.File, err)
		}
		var crd struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(body, &crd); err != nil || crd.Metadata.Name == "" {
			return fmt.Errorf("local cluster: CRD %s has no name: %v", src.File, err)
		}
		if err := c.applyCRD(ctx, client, crd.Metadata.Name, body); err != nil {
			return fmt.Errorf("local cluster: install CRD %s (from %s %s): %w", crd.Metadata.Name, CRDModule, src.Origin, err)
		}
		if err := c.waitEstablished(ctx, client, crd.Metadata.Name); err != nil {
			return fmt.Errorf("local cluster: CRD %s: %w", crd.Metadata.Name, err)
		}
	}
	return nil
}

// applyCRD creates the CRD, or replaces the one a previous start of the same state dir left.
func (c *Cluster) applyCRD(ctx context.Context, client *http.Client, name string, body []byte) error {
	status, resp, err := c.call(ctx, client, http.MethodPost, crdAPI, body)
	if err != nil || status == http.StatusCreated {
		return err
	}
	if status != http.StatusConflict {
		return fmt.Errorf("create: HTTP %d: %s", status, bytes.TrimSpace(resp))
	}
	status, resp, err = c.call(ctx, client, http.MethodGet, crdAPI+"/"+name, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("read existing: HTTP %d: %s", status, bytes.TrimSpace(resp))
	}
	var existing struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(resp, &existing); err != nil {
		return fmt.Errorf("read existing: %w", err)
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		return err
	}
	obj["metadata"].(map[string]any)["resourceVersion"] = existing.Metadata.ResourceVersion
	replaced, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	status, resp, err = c.call(ctx, client, http.MethodPut, crdAPI+"/"+name, replaced)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("replace: HTTP %d: %s", status, bytes.TrimSpace(resp))
	}
	return nil
}

// waitEstablished waits for the CRD's Established condition: from then on its resources are
// served.
func (c *Cluster) waitEstablished(ctx context.Context, client *http.Client, name string) error {
	for {
		status, resp, err := c.call(ctx, client, http.MethodGet, crdAPI+"/"+name, nil)
		if err == nil && status == http.StatusOK {
			var crd struct {
				Status struct {
					Conditions []struct{ Type, Status string } `json:"conditions"`
				} `json:"status"`
			}
			if json.Unmarshal(resp, &crd) == nil {
				for _, cond := range crd.Status.Conditions {
					if cond.Type == "Established" && cond.Status == "True" {
						return nil
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not established: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// call sends one request with the admin token and returns the status and body.
func (c *Cluster) call(ctx context.Context, client *http.Client, method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Server+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, out, err
}
