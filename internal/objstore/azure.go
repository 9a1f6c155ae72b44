package objstore

import (
	"context"

	"gocloud.dev/blob"
	"gocloud.dev/blob/azureblob"

	"github.com/ikq-dev/ikq/internal/source"
)

// azureHint says where Azure credentials come from.
const azureHint = "set AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN, " +
	"AZURE_STORAGE_CONNECTION_STRING, or an Azure identity (AZURE_CLIENT_ID…)"

// openAzure opens container name of the storage account the environment
// names, with the credentials it holds, as gocloud's azblob URLs do.
func openAzure(ctx context.Context, name string) (*blob.Bucket, error) {
	svcURL, err := azureblob.NewServiceURL(azureblob.NewDefaultServiceURLOptions())
	if err != nil {
		return nil, permanent(source.KindForbidden, &credentialsError{store: "Azure Blob Storage", err: err, hint: azureHint})
	}
	client, err := azureblob.NewDefaultClient(svcURL, azureblob.ContainerName(name))
	if err != nil {
		return nil, permanent(source.KindForbidden, &credentialsError{store: "Azure Blob Storage", err: err, hint: azureHint})
	}
	b, err := azureblob.OpenBucket(ctx, client, nil)
	if err != nil {
		return nil, permanent(source.KindInvalid, err)
	}
	return b, nil
}
