package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseFlags(t *testing.T) {
	var stderr bytes.Buffer
	c, err := parseFlags(nil, env(nil), &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:8080" || c.db != "connkit-demo.db" || c.keyFile != "connkit-demo.db.key" || c.postgres != "" {
		t.Errorf("defaults = %+v", c)
	}
	c, err = parseFlags(nil, env(map[string]string{"CONNKIT_DB": "/data/x.db"}), &stderr)
	if err != nil || c.db != "/data/x.db" || c.keyFile != "/data/x.db.key" {
		t.Errorf("CONNKIT_DB: %+v, %v", c, err)
	}
	c, err = parseFlags([]string{"-db", "flag.db"}, env(map[string]string{"CONNKIT_DB": "/data/x.db"}), &stderr)
	if err != nil || c.db != "flag.db" {
		t.Errorf("-db must win over CONNKIT_DB: %+v, %v", c, err)
	}
	c, err = parseFlags([]string{"-postgres", "postgres://u@db/x", "-egress-proxy", "http://proxy:3128", "-egress-source", "10.0.0.7"}, env(nil), &stderr)
	if err != nil || c.postgres != "postgres://u@db/x" || c.keyFile != "connkit-demo.key" ||
		c.egress.String() != "proxy http://proxy:3128, source address 10.0.0.7" {
		t.Errorf("-postgres and egress: %+v (%s), %v", c, c.egress, err)
	}
	for _, args := range [][]string{{"-egress-source", "nope"}, {"-egress-proxy", "::"}, {"extra"}} {
		if _, err := parseFlags(args, env(nil), &stderr); err == nil {
			t.Errorf("parseFlags(%q) accepted bad input", args)
		}
	}
}

func TestBrowserAddr(t *testing.T) {
	for in, want := range map[string]string{"127.0.0.1:8080": "127.0.0.1:8080", "0.0.0.0:80": "127.0.0.1:80", "[::]:9000": "127.0.0.1:9000", "[::1]:8080": "[::1]:8080"} {
		a, err := net.ResolveTCPAddr("tcp", in)
		if err != nil {
			t.Fatal(err)
		}
		if got := browserAddr(a); got != want {
			t.Errorf("browserAddr(%s) = %s, want %s", in, got, want)
		}
	}
}

// run prints the URL, creates the database and key on first run, and stops
// cleanly when its context ends (as on SIGINT or SIGTERM).
func TestRunPrintsURLAndStops(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "demo.db")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", db}, env(nil), pw, &stderr)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var out []string
	for sc.Scan() {
		out = append(out, sc.Text())
		if strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
			break
		}
	}
	cancel() // what SIGINT does
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	text := strings.Join(out, "\n")
	if !strings.HasPrefix(text, "connkit demo host app: http://127.0.0.1:") || !strings.HasSuffix(text, "stopped") {
		t.Errorf("stdout:\n%s", text)
	}
	for _, f := range []string{db, db + ".key"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("first run did not create %s: %v", f, err)
		}
	}
}
