package httpx

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadBodyTokenLimit(t *testing.T) {
	const limit = TokenBodyLimit
	tests := []struct {
		name    string
		size    int64
		chunked bool // no Content-Length: the cap must hold while streaming
		wantErr bool
	}{
		{"1 MiB exactly", limit, false, false},
		{"1 MiB exactly, chunked", limit, true, false},
		{"1 MiB + 1", limit + 1, false, true},
		{"1 MiB + 1, chunked", limit + 1, true, true},
		{"empty", 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
				if tt.chunked {
					w.(http.Flusher).Flush()
				} else {
					w.Header().Set("Content-Length", strconv.FormatInt(tt.size, 10))
				}
				_, _ = io.CopyN(w, neverEnding('a'), tt.size)
			})
			c := &http.Client{Transport: newTestTransport(t, Config{AllowPrivate: true})}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if tt.chunked != (resp.ContentLength < 0) {
				t.Fatalf("test setup: ContentLength = %d, chunked = %v", resp.ContentLength, tt.chunked)
			}
			b, err := ReadBody(resp, limit)
			if !tt.wantErr {
				if err != nil || int64(len(b)) != tt.size {
					t.Fatalf("ReadBody = %d bytes, %v; want %d bytes", len(b), err, tt.size)
				}
				return
			}
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("ReadBody = %d bytes, %v; want ErrTooLarge", len(b), err)
			}
			var tl *TooLargeError
			if !errors.As(err, &tl) || tl.Limit != limit {
				t.Errorf("error = %v, want *TooLargeError{Limit: %d}", err, limit)
			}
			if b != nil {
				t.Errorf("ReadBody returned %d bytes with the error, want none", len(b))
			}
		})
	}
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// spyBody records whether it was read or closed.
type spyBody struct {
	io.Reader
	reads  int
	closed bool
}

func (s *spyBody) Read(p []byte) (int, error) { s.reads++; return s.Reader.Read(p) }
func (s *spyBody) Close() error               { s.closed = true; return nil }

func TestLimitBodyDeclaredLength(t *testing.T) {
	body := &spyBody{Reader: strings.NewReader("0123456789")}
	resp := &http.Response{Body: body, ContentLength: 10}
	LimitBody(resp, 5)
	n, err := resp.Body.Read(make([]byte, 10))
	if n != 0 || !errors.Is(err, ErrTooLarge) {
		t.Errorf("Read = %d, %v; want 0, ErrTooLarge before reading", n, err)
	}
	if body.reads != 0 {
		t.Errorf("underlying body read %d times, want 0", body.reads)
	}
	if err := resp.Body.Close(); err != nil || !body.closed {
		t.Errorf("Close = %v, closed = %v; want the underlying body closed", err, body.closed)
	}
	LimitBody(nil, 1) // no panic
	LimitBody(&http.Response{}, 1)
}

func TestLimitReader(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		n       int64
		wantErr bool
	}{
		{"under", "abc", 5, false},
		{"exact", "abcde", 5, false},
		{"over by one", "abcdef", 5, true},
		{"zero limit empty", "", 0, false},
		{"zero limit non-empty", "a", 0, true},
		{"negative limit is zero", "a", -1, true},
	}
	for _, tt := range tests {
		for _, wrap := range []struct {
			name string
			fn   func(io.Reader) io.Reader
		}{
			{"plain", func(r io.Reader) io.Reader { return r }},
			{"one byte", iotest.OneByteReader},
			{"half", iotest.HalfReader},
			{"data+EOF", iotest.DataErrReader},
		} {
			t.Run(tt.name+"/"+wrap.name, func(t *testing.T) {
				lr := LimitReader(io.NopCloser(wrap.fn(strings.NewReader(tt.data))), tt.n)
				got, err := io.ReadAll(lr)
				if tt.wantErr {
					if !errors.Is(err, ErrTooLarge) {
						t.Fatalf("ReadAll = %q, %v; want ErrTooLarge", got, err)
					}
					if int64(len(got)) > max(tt.n, 0) {
						t.Errorf("read %d bytes past the %d-byte limit", len(got), tt.n)
					}
					if _, err := lr.Read(make([]byte, 1)); !errors.Is(err, ErrTooLarge) {
						t.Errorf("error is not sticky: %v", err)
					}
					return
				}
				if err != nil || string(got) != tt.data {
					t.Fatalf("ReadAll = %q, %v; want %q", got, err, tt.data)
				}
			})
		}
	}
	// A body within the limit behaves like a well-formed reader.
	content := bytes.Repeat([]byte("xyz"), 1000)
	if err := iotest.TestReader(LimitReader(io.NopCloser(bytes.NewReader(content)), int64(len(content))), content); err != nil {
		t.Errorf("iotest.TestReader: %v", err)
	}
}
