package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/connkit/connkit/store/keyring"
)

// keyID is the id of the demo's one key. A production host rotates keys
// (store/keyring's Rotate, Add, Retire) and gives each its own id.
const keyID = 1

// LoadKey returns the key that seals the app's secrets. When envValue (the
// CONNKIT_KEY variable: 32 bytes, base64) is set, it is the key. Otherwise
// the key is read from the file at path, which is created with a new random
// key and mode 0600 when it does not exist. It returns a description of
// where the key came from (never the key).
func LoadKey(envValue, path string) (keyring.Key, string, error) {
	if v := strings.TrimSpace(envValue); v != "" {
		k, err := keyring.ParseKey(keyID, v)
		if err != nil {
			return keyring.Key{}, "", fmt.Errorf("CONNKIT_KEY: %w", err)
		}
		return k, "the CONNKIT_KEY environment variable", nil
	}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		k, err := keyring.ParseKey(keyID, strings.TrimSpace(string(b)))
		if err != nil {
			return keyring.Key{}, "", fmt.Errorf("key file %s: %w", path, err)
		}
		return k, "the key file " + path, nil
	case !errors.Is(err, fs.ErrNotExist):
		return keyring.Key{}, "", fmt.Errorf("key file: %w", err)
	}
	k, err := keyring.GenerateKey(keyID)
	if err != nil {
		return keyring.Key{}, "", err
	}
	// Write a temporary file and link it into place: the key file appears
	// whole or not at all, and of two processes starting at once the
	// second reads the first one's key instead of overwriting it.
	f, err := os.CreateTemp(filepath.Dir(path), ".connkit-key-*")
	if err != nil {
		return keyring.Key{}, "", fmt.Errorf("create key file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return keyring.Key{}, "", fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.WriteString(k.Base64() + "\n"); err != nil {
		f.Close()
		return keyring.Key{}, "", fmt.Errorf("write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return keyring.Key{}, "", fmt.Errorf("write key file: %w", err)
	}
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return LoadKey("", path)
	} else if err != nil {
		return keyring.Key{}, "", fmt.Errorf("create key file %s: %w", path, err)
	}
	return k, "the key file " + path + " (created now)", nil
}
