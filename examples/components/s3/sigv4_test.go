package s3_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/examples/components/s3"
)

// The examples of AWS's documentation "Signature Calculations for the
// Authorization Header: Transferring Payload in a Single Chunk", whose
// signatures AWS publishes.
func TestSignV4AWSExamples(t *testing.T) {
	const keyID = "AKIAIOSFODNN7EXAMPLE"
	secret := connection.NewSecret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	at := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, url string
		headers   map[string]string
		signed    string
		signature string
	}{
		{
			name:      "GET Object",
			url:       "https://examplebucket.s3.amazonaws.com/test.txt",
			headers:   map[string]string{"Range": "bytes=0-9"},
			signed:    "host;range;x-amz-content-sha256;x-amz-date",
			signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
		},
		{
			name:      "GET Bucket lifecycle",
			url:       "https://examplebucket.s3.amazonaws.com/?lifecycle",
			signed:    "host;x-amz-content-sha256;x-amz-date",
			signature: "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
		},
		{
			name:      "GET Bucket (List Objects)",
			url:       "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J",
			signed:    "host;x-amz-content-sha256;x-amz-date",
			signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			if err := s3.SignV4(req, keyID, secret, "us-east-1", "s3", at); err != nil {
				t.Fatal(err)
			}
			want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=" +
				tc.signed + ", Signature=" + tc.signature
			if got := req.Header.Get("Authorization"); got != want {
				t.Errorf("Authorization:\n got %s\nwant %s", got, want)
			}
			if got := req.Header.Get("X-Amz-Date"); got != "20130524T000000Z" {
				t.Errorf("X-Amz-Date = %q", got)
			}
			if got := req.Header.Get("X-Amz-Content-Sha256"); got != s3.EmptyPayloadHash {
				t.Errorf("X-Amz-Content-Sha256 = %q", got)
			}
		})
	}
}

func TestSignV4Refuses(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://s3.amazonaws.com/", nil)
	if err := s3.SignV4(req, "", connection.NewSecret("x"), "us-east-1", "s3", time.Now()); err == nil {
		t.Error("signed without an access key id")
	}
	if err := s3.SignV4(req, "AKID", connection.Secret{}, "us-east-1", "s3", time.Now()); err == nil {
		t.Error("signed without a secret")
	}
	if req.Header.Get("Authorization") != "" {
		t.Error("a refused signature set Authorization")
	}
}
