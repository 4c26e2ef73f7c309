-- connkit schema version 1 (SQLite). {p} is the table prefix.

CREATE TABLE {p}instances (
	id                  TEXT    NOT NULL PRIMARY KEY,
	name                TEXT    NOT NULL,
	integration_id      TEXT    NOT NULL,
	integration_name    TEXT    NOT NULL,
	integration_version INTEGER NOT NULL
) STRICT;

CREATE TABLE {p}connections (
	id                TEXT    NOT NULL PRIMARY KEY,
	instance_id       TEXT    NOT NULL,
	variable          TEXT    NOT NULL,
	user_id           TEXT    NOT NULL,       -- '' for instance-level variables
	vals              TEXT    NOT NULL,       -- JSON object
	secrets           TEXT    NOT NULL,       -- JSON object of base64 sealed values
	sources           TEXT    NOT NULL,       -- JSON object
	metadata          TEXT    NOT NULL,       -- JSON object
	token_sealed      BLOB,                   -- NULL: not connected
	token_expiry      INTEGER,                -- Unix ms; NULL: not connected
	token_refreshable INTEGER NOT NULL DEFAULT 0,
	token_obtained_at INTEGER,                -- Unix ms
	health_status     TEXT    NOT NULL,
	health_reason     TEXT    NOT NULL,
	health_since      INTEGER NOT NULL,       -- Unix ms
	revision          INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL,       -- Unix ms
	UNIQUE (instance_id, variable, user_id)
) STRICT;

CREATE INDEX {p}connections_refresh ON {p}connections (token_expiry, id) WHERE token_refreshable = 1;

CREATE TABLE {p}templates (
	id         TEXT    NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	component  TEXT    NOT NULL,
	type       TEXT    NOT NULL,
	vals       TEXT    NOT NULL,              -- JSON object
	secrets    TEXT    NOT NULL,              -- JSON object of base64 sealed values
	revision   INTEGER NOT NULL,
	created_at INTEGER NOT NULL,              -- Unix ms
	updated_at INTEGER NOT NULL               -- Unix ms
) STRICT;

CREATE INDEX {p}templates_component ON {p}templates (component, id);

-- A published integration version, pinned templates in {p}pins.
CREATE TABLE {p}versions (
	integration_id TEXT    NOT NULL,
	version        INTEGER NOT NULL,
	published_at   INTEGER NOT NULL,          -- Unix ms
	PRIMARY KEY (integration_id, version)
) STRICT;

CREATE TABLE {p}pins (
	template_id    TEXT    NOT NULL REFERENCES {p}templates (id),
	integration_id TEXT    NOT NULL,
	version        INTEGER NOT NULL,
	PRIMARY KEY (template_id, integration_id, version),
	FOREIGN KEY (integration_id, version) REFERENCES {p}versions (integration_id, version)
) STRICT;

CREATE INDEX {p}pins_version ON {p}pins (integration_id, version);

CREATE TABLE {p}pending (
	state_hash    TEXT    NOT NULL PRIMARY KEY,
	connection_id TEXT    NOT NULL,
	instance_id   TEXT    NOT NULL,
	variable      TEXT    NOT NULL,
	user_id       TEXT    NOT NULL,
	verifier      BLOB,
	redirect_uri  TEXT    NOT NULL,
	token_url     TEXT    NOT NULL,
	issuer        TEXT    NOT NULL,
	data          TEXT    NOT NULL,           -- JSON object
	created_at    INTEGER NOT NULL,           -- Unix ms
	expires_at    INTEGER NOT NULL            -- Unix ms
) STRICT;

CREATE INDEX {p}pending_expires ON {p}pending (expires_at);

CREATE TABLE {p}logs (
	connection_id TEXT    NOT NULL,
	seq           INTEGER NOT NULL,
	logged_at     INTEGER NOT NULL,           -- Unix ms
	level         INTEGER NOT NULL,           -- slog.Level
	event         TEXT    NOT NULL,
	message       TEXT    NOT NULL,
	attrs         TEXT    NOT NULL,           -- JSON object
	PRIMARY KEY (connection_id, seq)
) STRICT, WITHOUT ROWID;

-- The last sequence number handed out per connection.
CREATE TABLE {p}log_seqs (
	connection_id TEXT    NOT NULL PRIMARY KEY,
	last_seq      INTEGER NOT NULL
) STRICT;

CREATE TABLE {p}leases (
	lease_key TEXT    NOT NULL PRIMARY KEY,
	owner     TEXT    NOT NULL,
	expires   INTEGER NOT NULL                -- Unix ms
) STRICT;
