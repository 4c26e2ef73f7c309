package httpx

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/hashicorp/go-retryablehttp"
)

// SlogLogger adapts l to go-retryablehttp's LeveledLogger. Every value is
// scrubbed before it reaches l: URLs (as *url.URL, or inside strings and
// error messages) are rendered with [RedactURL], and header values are
// replaced with REDACTED, so query-string secrets, credentials and headers
// are never logged. go-retryablehttp's records carry "url", "request" and
// "error" values that contain the request URL.
func SlogLogger(l *slog.Logger) retryablehttp.LeveledLogger {
	return slogLogger{l: l}
}

type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Error(msg string, kv ...any) { s.log(slog.LevelError, msg, kv) }
func (s slogLogger) Info(msg string, kv ...any)  { s.log(slog.LevelInfo, msg, kv) }
func (s slogLogger) Debug(msg string, kv ...any) { s.log(slog.LevelDebug, msg, kv) }
func (s slogLogger) Warn(msg string, kv ...any)  { s.log(slog.LevelWarn, msg, kv) }

func (s slogLogger) log(level slog.Level, msg string, kv []any) {
	ctx := context.Background()
	if !s.l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(kv)/2+1)
	for i := 0; i < len(kv); i += 2 {
		key, ok := kv[i].(string)
		if !ok {
			key = "!BADKEY"
		}
		if i+1 >= len(kv) {
			attrs = append(attrs, slog.Any("!BADKEY", scrubValue(kv[i])))
			break
		}
		attrs = append(attrs, slog.Any(key, scrubValue(kv[i+1])))
	}
	s.l.LogAttrs(ctx, level, redactText(msg), attrs...)
}

// scrubValue redacts anything that may carry a URL, credentials or headers;
// plain scalars (numbers, durations, booleans) keep their type, and
// slog.LogValuer values are trusted to redact themselves.
func scrubValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return redactText(x)
	case error:
		return RedactError(x).Error()
	case *url.URL:
		return RedactURL(x)
	case url.URL:
		return RedactURL(&x)
	case http.Header, *http.Request, *http.Response:
		return Redacted
	}
	if slog.AnyValue(v).Kind() != slog.KindAny {
		return v
	}
	return redactText(fmt.Sprint(v))
}
