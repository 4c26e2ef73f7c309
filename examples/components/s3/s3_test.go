package s3_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/examples/components/internal/componenttest"
	"github.com/connkit/connkit/examples/components/s3"
	"github.com/connkit/connkit/template"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	keyID  = "AKIAIOSFODNN7EXAMPLE"
	secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

var authShape = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=(\w+)/(\d{8})/([a-z0-9-]+)/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$`)

// fakeS3 answers GET / (ListBuckets) for one key pair and region. It checks
// the Authorization header's shape and then the signature itself, by
// signing the request it received again with the secret it knows.
func fakeS3(t *testing.T, region string) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/xml")
		fail := func(status int, code string) {
			w.WriteHeader(status)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>refused</Message></Error>`, code)
		}
		m := authShape.FindStringSubmatch(r.Header.Get("Authorization"))
		switch {
		case r.Method != http.MethodGet || r.URL.Path != "/":
			fail(http.StatusBadRequest, "InvalidRequest")
			return
		case m == nil:
			fail(http.StatusForbidden, "AuthorizationHeaderMalformed")
			return
		case m[1] != keyID:
			fail(http.StatusForbidden, "InvalidAccessKeyId")
			return
		case m[3] != region:
			fail(http.StatusBadRequest, "AuthorizationHeaderMalformed")
			return
		}
		at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
		if err != nil || m[2] != at.Format("20060102") {
			fail(http.StatusForbidden, "AccessDenied")
			return
		}
		again := r.Clone(r.Context())
		again.URL.Host = r.Host
		again.Header = http.Header{
			"X-Amz-Content-Sha256": r.Header.Values("X-Amz-Content-Sha256"),
		}
		if err := s3.SignV4(again, keyID, connection.NewSecret(secret), region, "s3", at); err != nil {
			t.Error(err)
		}
		if again.Header.Get("Authorization") != r.Header.Get("Authorization") {
			fail(http.StatusForbidden, "SignatureDoesNotMatch")
			return
		}
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>
<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Owner><ID>owner-id</ID><DisplayName>demo</DisplayName></Owner>
  <Buckets>
    <Bucket><Name>invoices</Name><CreationDate>2024-01-15T09:30:00.000Z</CreationDate></Bucket>
    <Bucket><Name>logs</Name><CreationDate>2025-03-02T18:00:00.000Z</CreationDate></Bucket>
  </Buckets>
</ListAllMyBucketsResult>`)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestListBuckets(t *testing.T) {
	api, _ := fakeS3(t, "eu-west-1")
	h := componenttest.New(t, componenttest.Config{Component: s3.Component(), Action: "list-buckets"})
	h.SetValues(t, map[string]string{
		s3.FieldAccessKeyID:     keyID,
		s3.FieldSecretAccessKey: secret,
		s3.FieldRegion:          "eu-west-1",
		s3.FieldEndpoint:        api.URL,
	})
	if got := h.Health(t).Status; got != connection.StatusConfigured {
		t.Fatalf("status after the values are set = %q, want configured (yellow)", got)
	}
	out, err := h.Run(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []s3.Bucket{
		{Name: "invoices", CreationDate: time.Date(2024, 1, 15, 9, 30, 0, 0, time.UTC)},
		{Name: "logs", CreationDate: time.Date(2025, 3, 2, 18, 0, 0, 0, time.UTC)},
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("buckets (-want +got):\n%s", diff)
	}
	if got := h.Health(t).Status; got != connection.StatusWorking {
		t.Errorf("status after a successful step = %q, want working (green)", got)
	}
	componenttest.AssertNoSecret(t, "logs", h.LogText(t), secret)
}

func TestListBucketsWrongSecret(t *testing.T) {
	api, calls := fakeS3(t, "eu-west-1")
	h := componenttest.New(t, componenttest.Config{Component: s3.Component(), Action: "list-buckets"})
	const wrong = "not-the-secret-access-key-0123456789"
	h.SetValues(t, map[string]string{
		s3.FieldAccessKeyID:     keyID,
		s3.FieldSecretAccessKey: wrong,
		s3.FieldRegion:          "eu-west-1",
		s3.FieldEndpoint:        api.URL,
	})
	_, err := h.Run(t, nil)
	if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("err = %v, want the S3 error code SignatureDoesNotMatch", err)
	}
	if calls.Load() != 1 {
		t.Errorf("S3 saw %d requests; a 403 must not be retried", calls.Load())
	}
	hl := h.Health(t)
	if hl.Status != connection.StatusError || !strings.Contains(hl.Reason, "403") {
		t.Errorf("health = %+v, want error (red) naming the 403", hl)
	}
	componenttest.AssertNoSecret(t, "step error", err.Error(), wrong)
	componenttest.AssertNoSecret(t, "logs", h.LogText(t), wrong)
}

func TestListBucketsValuesChecked(t *testing.T) {
	h := componenttest.New(t, componenttest.Config{Component: s3.Component(), Action: "list-buckets"})
	h.SetValues(t, map[string]string{s3.FieldAccessKeyID: keyID})
	_, err := h.Run(t, nil)
	var ve *connection.ValidationError
	if !errors.As(err, &ve) || len(ve.Field(s3.FieldSecretAccessKey)) == 0 {
		t.Fatalf("err = %v, want a validation error naming the secret access key", err)
	}
	if err := h.Host.SetValues(t.Context(), h.Ref(), template.AudienceCustomer, connection.ValuesOf(map[string]string{
		s3.FieldRegion: "eu-west-1/../x",
	})); err == nil {
		t.Error("a region that is not a host name label was accepted")
	}
}

func TestEndpoint(t *testing.T) {
	for _, tc := range []struct {
		values map[string]string
		want   string
	}{
		{map[string]string{s3.FieldRegion: "eu-central-1"}, "https://s3.eu-central-1.amazonaws.com"},
		{map[string]string{s3.FieldRegion: "us-east-1", s3.FieldEndpoint: "https://minio.internal:9000/"}, "https://minio.internal:9000"},
	} {
		if got := s3.Endpoint(connection.ValuesOf(tc.values)); got != tc.want {
			t.Errorf("Endpoint(%v) = %q, want %q", tc.values, got, tc.want)
		}
	}
}
