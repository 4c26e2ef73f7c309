package oauth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"strconv"
)

// The callback's own pages, shown when the variable names no custom
// redirect. They are self-contained: inline style (allowed by hash in the
// Content-Security-Policy), no script, no image, nothing from any origin.

const pageStyle = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f6f7f9;color:#1d2330}` +
	`main{max-width:32rem;margin:1rem;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.12)}` +
	`h1{font-size:1.25rem;margin:0 0 1rem}.ok h1{color:#17663a}.fail h1{color:#a3261b}` +
	`code{background:#f0f1f4;padding:.1rem .3rem;border-radius:4px}p{line-height:1.5}`

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>{{.Style}}</style>
</head>
<body>
<main class="{{.Class}}">
<h1>{{.Title}}</h1>
{{if .Code}}<p>The connection could not be authorized: <code>{{.Code}}</code>{{if .Description}}: {{.Description}}{{end}}</p>
{{end}}<p>{{.Message}}</p>
</main>
</body>
</html>
`))

// pageCSP forbids everything but the inline style above.
var pageCSP = func() string {
	sum := sha256.Sum256([]byte(pageStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}()

// Page titles.
const (
	pageSuccessTitle = "Authorization completed successfully"
	pageFailureTitle = "Authorization failed"
)

type pageData struct {
	Title, Class, Code, Description, Message string
	Style                                    template.CSS
}

// setCallbackHeaders sets the headers of every callback response: the
// authorization code and state must not leak through Referer or caches.
func setCallbackHeaders(h http.Header) {
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", pageCSP)
}

// writePage renders a success page (code == "") or a failure page naming
// the error.
func writePage(w http.ResponseWriter, status int, code, description string) {
	d := pageData{Title: pageSuccessTitle, Class: "ok", Style: template.CSS(pageStyle),
		Message: "You can close this window and return to the application."}
	if code != "" {
		d = pageData{Title: pageFailureTitle, Class: "fail", Style: template.CSS(pageStyle),
			Code: code, Description: description,
			Message: "Close this window and try connecting again. If it keeps failing, the connection's log says more."}
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		http.Error(w, d.Title, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
