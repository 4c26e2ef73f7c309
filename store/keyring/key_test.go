package keyring_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/store/keyring"
)

func TestNewKeySize(t *testing.T) {
	for _, tc := range []struct {
		size    int
		wantErr bool
	}{
		{0, true},
		{16, true},
		{24, true},
		{31, true},
		{32, false},
		{33, true},
		{64, true},
	} {
		t.Run(fmt.Sprint(tc.size), func(t *testing.T) {
			k, err := keyring.NewKey(5, bytes.Repeat([]byte{0x42}, tc.size))
			if tc.wantErr {
				if !errors.Is(err, keyring.ErrKeySize) {
					t.Fatalf("NewKey(%d bytes) error = %v, want ErrKeySize", tc.size, err)
				}
				if want := fmt.Sprintf("key 5 has %d bytes", tc.size); !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
				if k != (keyring.Key{}) {
					t.Errorf("NewKey returned a non-zero Key with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("NewKey(32 bytes): %v", err)
			}
			if k.ID() != 5 {
				t.Errorf("ID() = %d, want 5", k.ID())
			}
		})
	}
}

func TestNewKeyCopiesMaterial(t *testing.T) {
	material := bytes.Repeat([]byte{1}, keyring.KeySize)
	k, err := keyring.NewKey(1, material)
	if err != nil {
		t.Fatal(err)
	}
	before := k.Base64()
	material[0] = 99
	if k.Base64() != before {
		t.Error("changing the caller's slice changed the Key")
	}
}

func TestParseKey(t *testing.T) {
	material := make([]byte, keyring.KeySize)
	for i := range material {
		material[i] = byte(0xF0 + i) // bytes that differ between the std and URL alphabets
	}
	want, err := keyring.NewKey(9, material)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   string
	}{
		{"std padded", base64.StdEncoding.EncodeToString(material)},
		{"std raw", base64.RawStdEncoding.EncodeToString(material)},
		{"url padded", base64.URLEncoding.EncodeToString(material)},
		{"url raw", base64.RawURLEncoding.EncodeToString(material)},
		{"trailing newline", base64.StdEncoding.EncodeToString(material) + "\n"},
		{"surrounding spaces", "  " + base64.StdEncoding.EncodeToString(material) + "\t"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := keyring.ParseKey(9, tc.in)
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if !got.Equal(want) {
				t.Errorf("ParseKey(%s) gave other material than NewKey", tc.name)
			}
		})
	}
}

func TestParseKeyErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want error
	}{
		{"31 bytes", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 31)), keyring.ErrKeySize},
		{"33 bytes", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 33)), keyring.ErrKeySize},
		{"empty", "", keyring.ErrKeySize},
		{"hex instead of base64", strings.Repeat("ab", 32), keyring.ErrKeySize},
		{"not base64", "this-is-not*base64!!this-is-not*base64!!abcd", keyring.ErrKeyEncoding},
		{"inner space", "AAAA AAAA", keyring.ErrKeyEncoding},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := keyring.ParseKey(4, tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ParseKey error = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), "key 4") {
				t.Errorf("error %q does not name key 4", err)
			}
			if tc.in != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.in)) {
				t.Errorf("error %q contains the key text", err)
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	a, err := keyring.GenerateKey(1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := keyring.GenerateKey(1)
	if err != nil {
		t.Fatal(err)
	}
	if a.Equal(b) || a.Base64() == b.Base64() {
		t.Error("two generated keys are equal")
	}
	back, err := keyring.ParseKey(1, a.Base64())
	if err != nil {
		t.Fatalf("ParseKey(Base64()): %v", err)
	}
	if !back.Equal(a) {
		t.Error("ParseKey(k.Base64()) is not Equal to k")
	}
	if _, err := keyring.New(a); err != nil {
		t.Errorf("New(generated key): %v", err)
	}
}

// TestKeyRedaction prints a key every way a program might and checks that the
// material never shows, in any encoding.
func TestKeyRedaction(t *testing.T) {
	material := []byte("0123456789abcdef0123456789ABCDEF")
	k, err := keyring.NewKey(7, material)
	if err != nil {
		t.Fatal(err)
	}
	type holder struct {
		Name string
		Key  keyring.Key
		Ptr  *keyring.Key
	}
	h := holder{Name: "cfg", Key: k, Ptr: &k}

	var outputs []string
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "% x", "%d", "%20v", "%-8s"} {
		outputs = append(outputs, fmt.Sprintf(format, k), fmt.Sprintf(format, h), fmt.Sprintf(format, &k))
	}
	outputs = append(outputs, fmt.Sprint(k), fmt.Sprintln(k, h), k.String(), k.GoString())

	var logged bytes.Buffer
	for _, handler := range []slog.Handler{
		slog.NewTextHandler(&logged, nil),
		slog.NewJSONHandler(&logged, nil),
	} {
		slog.New(handler).Info("loaded", "key", k, "holder", h, "ptr", &k)
	}
	outputs = append(outputs, logged.String())

	secrets := []string{
		string(material),
		fmt.Sprintf("%x", material),
		fmt.Sprintf("%X", material),
		fmt.Sprintf("% x", material),
		fmt.Sprint(material), // [48 49 50 ...]
		base64.StdEncoding.EncodeToString(material),
		"0123456789", // any long run of the material
	}
	for _, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("printed key %q contains key material %q", out, s)
			}
		}
	}
	if got, want := fmt.Sprintf("%v", k), "keyring.Key{ID: 7, Bytes: [REDACTED]}"; got != want {
		t.Errorf("%%v = %q, want %q", got, want)
	}
	if got, want := fmt.Sprintf("%#v", k), "keyring.Key{ID: 7, Bytes: [REDACTED]}"; got != want {
		t.Errorf("%%#v = %q, want %q", got, want)
	}
	if !strings.Contains(logged.String(), "key.id=7 key.bytes=[REDACTED]") {
		t.Errorf("text log lacks the redacted group:\n%s", logged.String())
	}
	if !strings.Contains(logged.String(), `"key":{"id":7,"bytes":"[REDACTED]"}`) {
		t.Errorf("JSON log lacks the redacted group:\n%s", logged.String())
	}
	if got, want := fmt.Sprint(keyring.Key{}), "keyring.Key{ID: 0, Bytes: none}"; got != want {
		t.Errorf("zero Key prints %q, want %q", got, want)
	}
}

func TestKeyBase64RoundTrip(t *testing.T) {
	k := testKey(t, 3, 0x5A)
	got, err := keyring.ParseKey(3, k.Base64())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(k.Base64(), got.Base64()); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	if len(k.Base64()) != 44 {
		t.Errorf("len(Base64()) = %d, want 44", len(k.Base64()))
	}
}
