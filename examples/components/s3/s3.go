// Package s3 is an example component for Amazon S3 and S3-compatible
// services: a connection type holding an access key pair and a region, and a
// step that lists the account's buckets.
//
// S3 authenticates every request with AWS Signature Version 4, which signs
// the request itself rather than attaching a credential, so the connection
// type declares no auth method ([connection.AuthNone]) and the step signs
// its request with [SignV4] before sending it through the connection's
// *http.Client. That client still retries, redacts and reports the
// connection's health: a 403 for a wrong key turns it red.
package s3

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
)

// Field keys of the connection type.
const (
	FieldAccessKeyID     = "accessKeyId"
	FieldSecretAccessKey = "secretAccessKey"
	FieldRegion          = "region"
	FieldEndpoint        = "endpoint"
)

// Type returns the S3 connection type.
func Type() connection.Type {
	return connection.Type{
		Key:         "s3",
		Label:       "Amazon S3",
		Description: "An AWS access key pair with permission to list buckets (s3:ListAllMyBuckets).",
		Fields: []connection.Field{
			{Key: FieldAccessKeyID, Label: "Access Key ID", Required: true, Rule: "alphanum,min=16,max=128",
				Placeholder: "AKIAIOSFODNN7EXAMPLE", Comments: "IAM > Users > Security credentials > Access keys."},
			{Key: FieldSecretAccessKey, Label: "Secret Access Key", Kind: connection.KindPassword, Required: true},
			{Key: FieldRegion, Label: "Region", Required: true, Default: "us-east-1", Rule: "hostname_rfc1123",
				Example: "eu-west-1"},
			{Key: FieldEndpoint, Label: "Endpoint", Kind: connection.KindURL,
				Placeholder: "https://s3.eu-west-1.amazonaws.com",
				Comments:    "Leave empty for AWS. Set it for an S3-compatible service such as MinIO or Ceph."},
		},
		Auth: connection.Auth{Method: connection.AuthNone}, // requests are signed in the step
	}
}

// Component returns the S3 component: the connection type and the
// list-buckets action.
func Component() component.Component {
	return component.Component{
		Key:         "s3",
		Label:       "Amazon S3",
		Connections: []connection.Type{Type()},
		Actions: []component.Action{{
			Key:     "list-buckets",
			Label:   "List buckets",
			Inputs:  []component.Input{{Key: "connection", Label: "S3 connection", Connection: "s3"}},
			Perform: ListBuckets,
		}},
	}
}

// Bucket is one bucket of the account.
type Bucket struct {
	// Name is the bucket's name.
	Name string `xml:"Name" json:"name"`
	// CreationDate is when the bucket was created, as S3 reports it.
	CreationDate time.Time `xml:"CreationDate" json:"creationDate"`
}

// listAllMyBucketsResult is the ListBuckets response body.
type listAllMyBucketsResult struct {
	Owner struct {
		ID          string `xml:"ID"`
		DisplayName string `xml:"DisplayName"`
	} `xml:"Owner"`
	Buckets []Bucket `xml:"Buckets>Bucket"`
}

// s3Error is the body of an S3 error response.
type s3Error struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// Endpoint returns the S3 endpoint a connection's values select: the
// Endpoint field when set, else the region's AWS endpoint.
func Endpoint(values connection.Values) string {
	if e := values.String(FieldEndpoint); e != "" {
		return strings.TrimSuffix(e, "/")
	}
	return "https://s3." + values.String(FieldRegion) + ".amazonaws.com"
}

// ListBuckets is the list-buckets action: GET / on the endpoint, signed,
// returning the account's buckets ([]Bucket).
func ListBuckets(ctx context.Context, sc *component.Context) (any, error) {
	conn, err := sc.Connection("connection")
	if err != nil {
		return nil, err
	}
	keyID, err := conn.Field(FieldAccessKeyID)
	if err != nil {
		return nil, err
	}
	secret, err := conn.Secret(FieldSecretAccessKey)
	if err != nil {
		return nil, err
	}
	region, err := conn.Field(FieldRegion)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, Endpoint(conn.Values())+"/", nil)
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	if err := SignV4(req, keyID, secret, region, "s3", time.Now()); err != nil {
		return nil, err
	}
	resp, err := conn.HTTPClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("s3: list buckets: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("s3: list buckets: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e s3Error
		if xml.Unmarshal(body, &e) == nil && e.Code != "" {
			return nil, fmt.Errorf("s3: list buckets: HTTP %d: %s: %s", resp.StatusCode, e.Code, e.Message)
		}
		return nil, fmt.Errorf("s3: list buckets: HTTP %d", resp.StatusCode)
	}
	var out listAllMyBucketsResult
	if err := xml.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("s3: list buckets: response is not a ListAllMyBucketsResult: %w", err)
	}
	if out.Buckets == nil {
		out.Buckets = []Bucket{}
	}
	return out.Buckets, nil
}
