package azurite

import (
	"context"
	"fmt"
	"io"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// Client is a Blob service client for the emulator's development account.
func (s *Server) Client() (*azblob.Client, error) {
	cred, err := azblob.NewSharedKeyCredential(Account, Key)
	if err != nil {
		return nil, fmt.Errorf("azurite credential: %w", err)
	}
	c, err := azblob.NewClientWithSharedKeyCredential(s.Endpoint(), cred, nil)
	if err != nil {
		return nil, fmt.Errorf("azurite client: %w", err)
	}
	return c, nil
}

// CreateContainer creates a container; one that already exists is fine. Pulumi's azblob backend
// expects its container to exist.
func (s *Server) CreateContainer(ctx context.Context, name string) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	if _, err := c.CreateContainer(ctx, name, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return fmt.Errorf("create container %s: %w", name, err)
	}
	return nil
}

// ReadAll returns every blob of a container by name: what the backend really stored.
func (s *Server) ReadAll(ctx context.Context, container string) (map[string][]byte, error) {
	c, err := s.Client()
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	pager := c.NewListBlobsFlatPager(container, &azblob.ListBlobsFlatOptions{MaxResults: to.Ptr(int32(500))})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list blobs of %s: %w", container, err)
		}
		for _, item := range page.Segment.BlobItems {
			name := *item.Name
			resp, err := c.DownloadStream(ctx, container, name, nil)
			if err != nil {
				return nil, fmt.Errorf("download %s/%s: %w", container, name, err)
			}
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return nil, fmt.Errorf("read %s/%s: %w", container, name, err)
			}
			out[name] = data
		}
	}
	return out, nil
}
