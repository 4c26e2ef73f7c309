package keyring_test

import (
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"

	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/keyring"
)

// Example keys, base64 as in a configuration file. Never use these: make your
// own with `openssl rand -base64 32` or keyring.GenerateKey.
const (
	exampleKey1 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	exampleKey2 = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
)

// Seal a secret bound to the connection and field it belongs to, and open it
// again.
func Example() {
	key, err := keyring.ParseKey(1, exampleKey1)
	if err != nil {
		log.Fatal(err)
	}
	ring, err := keyring.New(key)
	if err != nil {
		log.Fatal(err)
	}

	ad := store.AssociatedData("connection", "conn-42", "refresh_token")
	sealed, err := ring.Seal([]byte("1//0g-refresh-token"), ad)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("envelope bytes:", len(sealed))

	plaintext, err := ring.Open(sealed, ad)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("opened:", string(plaintext))

	// The same envelope does not open for another connection.
	_, err = ring.Open(sealed, store.AssociatedData("connection", "conn-43", "refresh_token"))
	fmt.Println(errors.Is(err, store.ErrSealed), errors.Is(err, keyring.ErrAuthentication))
	fmt.Println(err)
	// Output:
	// envelope bytes: 52
	// opened: 1//0g-refresh-token
	// true true
	// keyring: sealed value does not open: authentication failed under key id 1 (other associated data, or the envelope was altered)
}

// Rotate to a new key, re-seal what the old key sealed, then retire it.
func ExampleKeyring_Rotate() {
	key1, _ := keyring.ParseKey(1, exampleKey1)
	key2, _ := keyring.ParseKey(2, exampleKey2)
	ring, err := keyring.New(key1)
	if err != nil {
		log.Fatal(err)
	}
	ad := store.AssociatedData("connection", "conn-42", "password")
	sealed, _ := ring.Seal([]byte("hunter2"), ad)
	fmt.Println("before rotation, needs reseal:", ring.NeedsReseal(sealed))

	if err := ring.Rotate(key2); err != nil {
		log.Fatal(err)
	}
	fmt.Println("after rotation, needs reseal:", ring.NeedsReseal(sealed))
	fmt.Println(ring)

	if ring.NeedsReseal(sealed) {
		resealed, err := ring.Reseal(sealed, ad)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("resealed, needs reseal:", ring.NeedsReseal(resealed))
		// Write resealed back to the store; here, just check it opens after
		// the old key is gone.
		if err := ring.Retire(1); err != nil {
			log.Fatal(err)
		}
		plaintext, _ := ring.Open(resealed, ad)
		fmt.Println("opened after retiring key 1:", string(plaintext))
	}

	// An envelope that was not re-sealed no longer opens.
	_, err = ring.Open(sealed, ad)
	fmt.Println(err)
	// Output:
	// before rotation, needs reseal: false
	// after rotation, needs reseal: true
	// keyring.Keyring{primary: 2, decrypt-only: [1]}
	// resealed, needs reseal: false
	// opened after retiring key 1: hunter2
	// keyring: sealed value does not open: unknown key id 1 (retired, or never loaded into this keyring)
}

// Keys are 32 bytes, no more, no less.
func ExampleParseKey() {
	_, err := keyring.ParseKey(3, "c2hvcnQ=") // "short"
	fmt.Println(errors.Is(err, keyring.ErrKeySize))
	fmt.Println(err)
	// Output:
	// true
	// keyring: key must be exactly 32 bytes: key 3 decodes to 5 bytes (generate one with `openssl rand -base64 32`)
}

// A key never prints or logs its material.
func ExampleKey_String() {
	key, _ := keyring.ParseKey(7, exampleKey1)
	fmt.Println(key)
	fmt.Printf("%#v\n", key)
	fmt.Printf("%x\n", key)

	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // keep the output stable
			}
			return a
		},
	}))
	logger.Info("loaded", "key", key)
	// Output:
	// keyring.Key{ID: 7, Bytes: [REDACTED]}
	// keyring.Key{ID: 7, Bytes: [REDACTED]}
	// keyring.Key{ID: 7, Bytes: [REDACTED]}
	// level=INFO msg=loaded key.id=7 key.bytes=[REDACTED]
}

// Make a key for a secret manager; ParseKey reads it back.
func ExampleGenerateKey() {
	key, err := keyring.GenerateKey(20260115)
	if err != nil {
		log.Fatal(err)
	}
	text := key.Base64() // store this in the secret manager, never in logs
	back, err := keyring.ParseKey(20260115, text)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(text), back.Equal(key))
	// Output:
	// 44 true
}
