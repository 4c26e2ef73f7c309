// Command hostapp is a small host application embedding connkit, with
// server-rendered pages and a built-in demo OAuth 2.0 provider, so the whole
// connection lifecycle runs in a browser with no accounts and no network:
// fill a connection form, CONNECT, approve at the provider, run a step, see
// the status turn green, read the log, DISCONNECT.
//
//	go run ./examples/hostapp
//
// It listens on 127.0.0.1:8080 and keeps its data in a SQLite file,
// connkit-demo.db, created on first run with a sealing key beside it
// (connkit-demo.db.key, mode 0600). Flags:
//
//	-addr 127.0.0.1:8080      listen address (loopback; the demo provider
//	                          and API are served on it too)
//	-db connkit-demo.db       SQLite database file ($CONNKIT_DB)
//	-postgres DSN             use PostgreSQL instead ($CONNKIT_POSTGRES)
//	-key-file PATH            sealing key file (default: the database file
//	                          + ".key", or connkit-demo.key with -postgres);
//	                          $CONNKIT_KEY (base64, 32 bytes) overrides it
//	-base-url URL             the URL browsers use, when not http://<addr>
//	-egress-proxy URL         send outbound calls through this proxy (all of
//	                          them: the demo provider and API too)
//	-egress-source IP         send outbound calls from this local address
//	                          (it must be able to reach the listen address)
//	-demo-token-ttl 10m       lifetime of the demo provider's access tokens
//	-v                        debug logging
//
// SIGINT or SIGTERM shuts it down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/connkit/connkit"
	"github.com/connkit/connkit/examples/hostapp/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hostapp:", err)
		os.Exit(1)
	}
}

// config is what the flags and environment say.
type config struct {
	addr, baseURL, db, postgres, keyFile string
	egress                               connkit.Egress
	tokenTTL                             time.Duration
	verbose                              bool
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("hostapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := getenv("CONNKIT_DB")
	if db == "" {
		db = "connkit-demo.db"
	}
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen `address`")
	fs.StringVar(&c.baseURL, "base-url", "", "the `URL` browsers reach the app at (default http://<addr>)")
	fs.StringVar(&c.db, "db", db, "SQLite database `file`, created on first run ($CONNKIT_DB)")
	fs.StringVar(&c.postgres, "postgres", getenv("CONNKIT_POSTGRES"), "PostgreSQL `DSN` to use instead of SQLite ($CONNKIT_POSTGRES)")
	fs.StringVar(&c.keyFile, "key-file", "", "sealing key `file`, created on first run (default <db>.key); $CONNKIT_KEY overrides")
	proxy := fs.String("egress-proxy", "", "send outbound calls through this proxy `URL`")
	source := fs.String("egress-source", "", "send outbound calls from this local `IP` address")
	fs.DurationVar(&c.tokenTTL, "demo-token-ttl", 10*time.Minute, "lifetime of the demo provider's access tokens")
	fs.BoolVar(&c.verbose, "v", false, "debug logging")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.keyFile == "" {
		c.keyFile = c.db + ".key"
		if c.postgres != "" {
			c.keyFile = "connkit-demo.key"
		}
	}
	if *proxy != "" {
		u, err := url.Parse(*proxy)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return c, fmt.Errorf("-egress-proxy %q: want a URL such as http://proxy.internal:3128", *proxy)
		}
		c.egress.Proxy = u
	}
	if *source != "" {
		ip, err := netip.ParseAddr(*source)
		if err != nil {
			return c, fmt.Errorf("-egress-source: %w", err)
		}
		c.egress.LocalAddr = ip
	}
	return c, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if c.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	key, keySource, err := app.LoadKey(getenv("CONNKIT_KEY"), c.keyFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	base := c.baseURL
	if base == "" {
		base = "http://" + browserAddr(ln.Addr().(*net.TCPAddr))
	}
	opts := app.Options{BaseURL: base, SQLitePath: c.db, PostgresDSN: c.postgres, Key: key, KeySource: keySource,
		Logger: logger, Egress: c.egress, DemoTokenTTL: c.tokenTTL}
	store := "SQLite database " + c.db
	if c.postgres != "" {
		opts.SQLitePath = ""
		store = "PostgreSQL"
	}
	a, err := app.New(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Close(closeCtx); err != nil {
			logger.Warn("close", "error", err)
		}
	}()
	fmt.Fprintf(stdout, "connkit demo host app: %s/\n", base)
	fmt.Fprintf(stdout, "  data: %s; sealing key from %s\n", store, keySource)
	fmt.Fprintf(stdout, "  demo provider login: demo / demo\n")
	fmt.Fprintf(stdout, "Press Ctrl-C to stop.\n")
	err = a.Serve(ctx, ln)
	fmt.Fprintln(stdout, "stopped")
	return err
}

// browserAddr is the listener's address as a browser on this machine
// reaches it: an unspecified address (0.0.0.0, ::) becomes loopback.
func browserAddr(a *net.TCPAddr) string {
	ip := a.AddrPort().Addr().Unmap()
	if ip.IsUnspecified() {
		ip = netip.MustParseAddr("127.0.0.1")
	}
	return netip.AddrPortFrom(ip, a.AddrPort().Port()).String()
}
