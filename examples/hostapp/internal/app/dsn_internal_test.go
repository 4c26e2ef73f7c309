package app

import (
	"net/url"
	"strings"
	"testing"
)

// The settings page shows the PostgreSQL DSN without a password, wherever
// the DSN carries it: in the userinfo, or as a ?password= (or sslpassword)
// parameter, which pgx accepts too.
func TestRedactDSN(t *testing.T) {
	const secret = "pw-SENTINEL-9f3"
	tests := []struct {
		name, dsn, want string
	}{
		{"no password", "postgres://app@db.example:5432/connkit?sslmode=disable",
			"postgres://app@db.example:5432/connkit?sslmode=disable"},
		{"userinfo password", "postgres://app:" + secret + "@db.example/connkit",
			"postgres://app:xxxxx@db.example/connkit"},
		{"query password", "postgres://app@db.example/connkit?sslmode=require&password=" + secret,
			"postgres://app@db.example/connkit?password=xxxxx&sslmode=require"},
		{"query password, other case", "postgresql://db.example/connkit?PassWord=" + secret,
			"postgresql://db.example/connkit?PassWord=xxxxx"},
		{"both, and an sslpassword", "postgres://app:" + secret + "@db.example/connkit?password=" + secret + "&sslpassword=" + secret + "&search_path=s1",
			"postgres://app:xxxxx@db.example/connkit?password=xxxxx&search_path=s1&sslpassword=xxxxx"},
		{"unknown parameter masked", "postgres://db.example/connkit?options=-c%20x%3D" + secret,
			"postgres://db.example/connkit?options=xxxxx"},
		{"repeated parameter", "postgres://db.example/c?password=a" + secret + "&password=b" + secret,
			"postgres://db.example/c?password=xxxxx&password=xxxxx"},
		{"fragment dropped", "postgres://db.example/c#" + secret, "postgres://db.example/c"},
		{"keyword/value form", "host=db.example user=app password=" + secret + " dbname=connkit", "(DSN)"},
		{"bad query escape", "postgres://db.example/c?password=%zz" + secret, "(DSN)"},
		{"opaque", "postgres:" + secret, "(DSN)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redactDSN(tt.dsn)
			if got != tt.want {
				t.Errorf("redactDSN(%q) = %q, want %q", tt.dsn, got, tt.want)
			}
			if strings.Contains(got, secret) {
				t.Errorf("redactDSN(%q) = %q shows the password", tt.dsn, got)
			}
		})
	}
}

// Whatever the passwords are, a DSN of this shape always shows the same.
func FuzzRedactDSN(f *testing.F) {
	f.Add("secret", "secret", "disable")
	f.Add("p@ss:w/rd?#%", "a&b=c;d", "require")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, userPassword, queryPassword, sslmode string) {
		u := url.URL{Scheme: "postgres", User: url.UserPassword("app", userPassword), Host: "db.example:5432", Path: "/connkit",
			RawQuery: url.Values{"password": {queryPassword}, "sslmode": {sslmode}}.Encode()}
		want := "postgres://app:xxxxx@db.example:5432/connkit?" + url.Values{"password": {"xxxxx"}, "sslmode": {sslmode}}.Encode()
		if got := redactDSN(u.String()); got != want {
			t.Errorf("redactDSN(%q) = %q, want %q", u.String(), got, want)
		}
	})
}
