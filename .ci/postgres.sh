#!/usr/bin/env bash
# .ci/postgres.sh: make a PostgreSQL server available to the store/sqlstore
# tests and point CONNKIT_TEST_POSTGRES_DSN at a fresh, empty database on it.
#
#   source .ci/postgres.sh        # exports CONNKIT_TEST_POSTGRES_DSN (what .ci/run does)
#   eval "$(.ci/postgres.sh)"     # run: prints the export line on stdout
#
# What it does:
#   1. If CONNKIT_TEST_POSTGRES_DSN is already set, checks that it connects and
#      uses it as it is.
#   2. Otherwise, if no server answers at $CONNKIT_CI_PGHOST:$CONNKIT_CI_PGPORT
#      (default 127.0.0.1:5432), starts the local cluster
#      (pg_ctlcluster --skip-systemctl-redirect <version> main start) and waits
#      up to 30 s for it.
#   3. Creates a database connkit_ci_<pid>_<unix time>_<n> as $CONNKIT_CI_PGUSER
#      (default postgres, which must be able to CREATE DATABASE; trust auth on
#      loopback). pid is the shell that sourced the script, 0 when it was run.
#      It drops leftovers of earlier runs: those whose shell is gone, and
#      those of runs (pid 0) older than 6 hours. When sourced into a shell
#      without an EXIT trap, it drops its own database when that shell exits.
#   4. Exports (sourced) or prints (run) CONNKIT_TEST_POSTGRES_DSN.
# It fails (non-zero) when PostgreSQL cannot be reached. Messages go to stderr.
# It only ever talks to the loopback server named above.

_connkit_ci_say() { echo "postgres.sh: $*" >&2; }

connkit_ci_postgres() {
	local host=${CONNKIT_CI_PGHOST:-127.0.0.1}
	local port=${CONNKIT_CI_PGPORT:-5432}
	local user=${CONNKIT_CI_PGUSER:-postgres}

	if ! command -v psql >/dev/null || ! command -v pg_isready >/dev/null; then
		_connkit_ci_say "psql and pg_isready are needed (apt-get install postgresql-client)"
		return 1
	fi

	if [ -n "${CONNKIT_TEST_POSTGRES_DSN:-}" ]; then
		if ! psql "$CONNKIT_TEST_POSTGRES_DSN" -Atqc 'SELECT 1' >/dev/null; then
			_connkit_ci_say "CONNKIT_TEST_POSTGRES_DSN is set but does not connect"
			return 1
		fi
		_connkit_ci_say "using the CONNKIT_TEST_POSTGRES_DSN already set"
		CONNKIT_CI_POSTGRES_DSN=$CONNKIT_TEST_POSTGRES_DSN
		return 0
	fi

	if ! pg_isready -q -h "$host" -p "$port"; then
		local version
		version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
		if [ -z "$version" ] || ! command -v pg_ctlcluster >/dev/null; then
			_connkit_ci_say "no PostgreSQL at $host:$port and no local cluster to start"
			return 1
		fi
		_connkit_ci_say "starting PostgreSQL $version (main)"
		pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
		local waited=0
		until pg_isready -q -h "$host" -p "$port"; do
			if [ "$waited" -ge 30 ]; then
				_connkit_ci_say "PostgreSQL did not accept connections at $host:$port within 30 s"
				return 1
			fi
			sleep 1
			waited=$((waited + 1))
		done
	fi

	# A maintenance database to connect to for CREATE/DROP DATABASE.
	local admin=
	local candidate
	for candidate in postgres test template1; do
		if psql -h "$host" -p "$port" -U "$user" -d "$candidate" -Atqc 'SELECT 1' >/dev/null 2>&1; then
			admin=$candidate
			break
		fi
	done
	if [ -z "$admin" ]; then
		_connkit_ci_say "cannot connect to PostgreSQL at $host:$port as $user"
		return 1
	fi
	local psql_admin=(psql -h "$host" -p "$port" -U "$user" -d "$admin" -v ON_ERROR_STOP=1 -Atq)

	# Drop databases of earlier runs: those of a shell that has exited, and
	# those made for a caller that ran this script (owner 0) over 6 hours ago.
	local old rest pid made now
	now=$(date +%s)
	while read -r old; do
		rest=${old#connkit_ci_}
		pid=${rest%%_*}
		made=${rest#*_}
		made=${made%%_*}
		case "$pid$made" in *[!0-9]* | "") continue ;; esac
		if { [ "$pid" != 0 ] && ! kill -0 "$pid" 2>/dev/null && [ ! -d "/proc/$pid" ]; } ||
			{ [ "$pid" = 0 ] && [ $((now - made)) -gt 21600 ]; }; then
			"${psql_admin[@]}" -c "DROP DATABASE IF EXISTS \"$old\"" >/dev/null 2>&1 || true
		fi
	done < <("${psql_admin[@]}" -c "SELECT datname FROM pg_database WHERE datname LIKE 'connkit\_ci\_%'")

	# connkit_ci_<owner pid>_<unix time>_<random>; owner 0: not known.
	local db="connkit_ci_${1:-$$}_${now}_${RANDOM}"
	if ! "${psql_admin[@]}" -c "CREATE DATABASE \"$db\"" >/dev/null; then
		_connkit_ci_say "cannot create database $db"
		return 1
	fi
	_connkit_ci_say "created database $db"
	CONNKIT_CI_POSTGRES_DB=$db
	CONNKIT_CI_POSTGRES_ADMIN=("${psql_admin[@]}")
	CONNKIT_CI_POSTGRES_DSN="postgres://$user@$host:$port/$db?sslmode=disable"
}

connkit_ci_postgres_drop() {
	[ -n "${CONNKIT_CI_POSTGRES_DB:-}" ] || return 0
	"${CONNKIT_CI_POSTGRES_ADMIN[@]}" -c "DROP DATABASE IF EXISTS \"$CONNKIT_CI_POSTGRES_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
	# Sourced: export into the caller's shell.
	CONNKIT_CI_POSTGRES_DB=
	connkit_ci_postgres || return 1
	export CONNKIT_TEST_POSTGRES_DSN=$CONNKIT_CI_POSTGRES_DSN
	if [ -n "$CONNKIT_CI_POSTGRES_DB" ] && [ -z "$(trap -p EXIT)" ]; then
		trap connkit_ci_postgres_drop EXIT
	fi
	echo "postgres.sh: CONNKIT_TEST_POSTGRES_DSN=$CONNKIT_TEST_POSTGRES_DSN" >&2
else
	# Run: print the export line; the database stays for the caller.
	connkit_ci_postgres 0 || exit 1
	printf 'export CONNKIT_TEST_POSTGRES_DSN=%q\n' "$CONNKIT_CI_POSTGRES_DSN"
fi
