package oauth

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/connkit/connkit/internal/oauthtest"
)

// TestMetadataLookupCallersLeaveAlone (review L2): concurrent lookups of one
// issuer share one fetch, but each caller waits only as long as its own ctx
// allows: the caller that started the fetch giving up neither ends the
// fetch nor fails the caller that joined it.
func TestMetadataLookupCallersLeaveAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		srv := oauthtest.NewUnstarted(t, oauthtest.Config{Intercept: func(_ http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == oauthtest.PathMetadata {
				select {
				case <-release:
				case <-r.Context().Done():
					return true // the client gave up: nothing is written
				}
			}
			return false
		}})
		c := &metadataCache{client: NewHTTPClient(HTTPClientConfig{Transport: srv.Transport()}), ttl: time.Hour, now: time.Now}
		type result struct {
			md  *Metadata
			err error
		}
		lookup := func(ctx context.Context) chan result {
			ch := make(chan result, 1)
			go func() {
				md, err := c.lookup(ctx, srv.Issuer())
				ch <- result{md, err}
			}()
			synctest.Wait()
			return ch
		}
		firstCtx, cancelFirst := context.WithCancel(context.Background())
		defer cancelFirst()
		first := lookup(firstCtx) // starts the fetch, which hangs
		joined := lookup(context.Background())

		cancelFirst()
		synctest.Wait()
		select {
		case r := <-first:
			if !errors.Is(r.err, context.Canceled) {
				t.Fatalf("the first caller, cancelled: %v", r.err)
			}
		default:
			t.Fatal("the first caller could not leave while the fetch hangs")
		}
		select {
		case r := <-joined:
			t.Fatalf("the joined caller returned before the fetch ended: %v", r.err)
		default:
		}

		close(release)
		r := <-joined
		if r.err != nil || r.md.TokenEndpoint != srv.TokenURL() {
			t.Fatalf("the joined caller: %+v, %v", r.md, r.err)
		}
		if n := srv.Calls(oauthtest.PathMetadata); n != 1 {
			t.Errorf("%d metadata fetches, want 1 (shared)", n)
		}
	})
}
