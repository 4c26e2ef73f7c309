package s3

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/connkit/connkit/connection"
)

// EmptyPayloadHash is the hex SHA-256 of an empty body, the
// x-amz-content-sha256 of requests without one.
const EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

const (
	sigAlgorithm = "AWS4-HMAC-SHA256"
	amzDate      = "20060102T150405Z"
)

// SignV4 signs req in place with AWS Signature Version 4 (header-based) for
// the given service ("s3") and region, at time at. It sets X-Amz-Date, sets
// X-Amz-Content-Sha256 to [EmptyPayloadHash] unless the caller set it (for a
// body, set it to the body's hex SHA-256 or "UNSIGNED-PAYLOAD" first), and
// sets Authorization. The signed headers are Host, every X-Amz-* header,
// and Content-Type, Content-MD5 and Range when present.
//
// Only the signature leaves this function; the secret access key does not
// appear in the request.
func SignV4(req *http.Request, accessKeyID string, secretAccessKey connection.Secret, region, service string, at time.Time) error {
	if accessKeyID == "" || secretAccessKey.IsZero() {
		return errors.New("s3: SignV4 needs an access key id and a secret access key")
	}
	if region == "" || service == "" {
		return errors.New("s3: SignV4 needs a region and a service")
	}
	at = at.UTC()
	req.Header.Set("X-Amz-Date", at.Format(amzDate))
	payload := req.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		payload = EmptyPayloadHash
		req.Header.Set("X-Amz-Content-Sha256", payload)
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}

	// Canonical headers: lower-case names, sorted, values trimmed with
	// inner runs of spaces collapsed.
	headers := map[string]string{"host": host}
	for name, values := range req.Header {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "x-amz-") || lower == "content-type" || lower == "content-md5" || lower == "range" {
			trimmed := make([]string, len(values))
			for i, v := range values {
				trimmed[i] = strings.Join(strings.Fields(v), " ")
			}
			headers[lower] = strings.Join(trimmed, ",")
		}
	}
	names := make([]string, 0, len(headers))
	for n := range headers {
		names = append(names, n)
	}
	slices.Sort(names)
	var canonHeaders strings.Builder
	for _, n := range names {
		canonHeaders.WriteString(n + ":" + headers[n] + "\n")
	}
	signed := strings.Join(names, ";")

	canonical := strings.Join([]string{
		req.Method,
		canonicalURI(req.URL),
		canonicalQuery(req.URL.Query()),
		canonHeaders.String(),
		signed,
		payload,
	}, "\n")

	date := at.Format("20060102")
	scope := date + "/" + region + "/" + service + "/aws4_request"
	sum := sha256.Sum256([]byte(canonical))
	toSign := sigAlgorithm + "\n" + at.Format(amzDate) + "\n" + scope + "\n" + hex.EncodeToString(sum[:])

	key := hmacSHA256([]byte("AWS4"+secretAccessKey.Reveal()), date)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "aws4_request")
	sig := hex.EncodeToString(hmacSHA256(key, toSign))

	req.Header.Set("Authorization", sigAlgorithm+" Credential="+accessKeyID+"/"+scope+
		", SignedHeaders="+signed+", Signature="+sig)
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalURI is the URI-encoded path; S3 encodes each segment once.
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		raw, err := url.PathUnescape(s)
		if err != nil {
			raw = s
		}
		segs[i] = uriEncode(raw)
	}
	return strings.Join(segs, "/")
}

// canonicalQuery sorts parameters by name (then value) and URI-encodes
// both.
func canonicalQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, pair{uriEncode(k), uriEncode(v)})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p.k + "=" + p.v
	}
	return strings.Join(out, "&")
}

// uriEncode percent-encodes every byte except the unreserved characters
// A-Z a-z 0-9 - _ . ~, with upper-case hex, as SigV4 requires.
func uriEncode(s string) string {
	const hexdigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdigits[c>>4])
		b.WriteByte(hexdigits[c&15])
	}
	return b.String()
}
