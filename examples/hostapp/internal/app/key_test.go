package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connkit/connkit/examples/hostapp/internal/app"
	"github.com/connkit/connkit/store/keyring"
)

func TestLoadKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "demo.db.key")
	k1, src, err := app.LoadKey("", path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(src, "created now") {
		t.Errorf("source = %q, want it to say the file was created", src)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	k2, src, err := app.LoadKey("", path)
	if err != nil {
		t.Fatal(err)
	}
	if k1.Base64() != k2.Base64() || strings.Contains(src, "created") {
		t.Error("the second load made a new key instead of reading the file")
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".connkit-key-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary key files left behind: %v", leftovers)
	}

	env, err := keyring.GenerateKey(1)
	if err != nil {
		t.Fatal(err)
	}
	k3, src, err := app.LoadKey(env.Base64(), path)
	if err != nil {
		t.Fatal(err)
	}
	if k3.Base64() != env.Base64() || !strings.Contains(src, "CONNKIT_KEY") {
		t.Errorf("CONNKIT_KEY did not take precedence over the file (source %q)", src)
	}
	if _, _, err := app.LoadKey("not base64 at all", path); err == nil {
		t.Error("a malformed CONNKIT_KEY was accepted")
	}
	bad := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(bad, []byte("c2hvcnQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := app.LoadKey("", bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("a short key in the file: err = %v, want an error naming the file", err)
	}
	if strings.Contains(k1.String(), k1.Base64()) {
		t.Error("a key prints its material")
	}
}
