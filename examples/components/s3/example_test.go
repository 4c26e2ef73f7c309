package s3_test

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/examples/components/s3"
)

// Sign a ListBuckets request the way the list-buckets step does.
func ExampleSignV4() {
	req, _ := http.NewRequest(http.MethodGet, "https://s3.eu-west-1.amazonaws.com/", nil)
	secret := connection.NewSecret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := s3.SignV4(req, "AKIAIOSFODNN7EXAMPLE", secret, "eu-west-1", "s3", at); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(req.Header.Get("X-Amz-Date"))
	for _, part := range strings.Split(req.Header.Get("Authorization"), ", ") {
		fmt.Println(part)
	}
	// Output:
	// 20250601T120000Z
	// AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250601/eu-west-1/s3/aws4_request
	// SignedHeaders=host;x-amz-content-sha256;x-amz-date
	// Signature=bdbf2ffc756b6c3852f81d7214845f471488369162cf9abb15ecbfb8f7a64907
}
