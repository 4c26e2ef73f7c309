-- connkit schema version 1 (PostgreSQL). {p} is the table prefix.
-- Key columns use the "C" collation so that they order byte-wise, as Go
-- strings do, whatever the database's default collation.

CREATE TABLE {p}instances (
	id                  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	name                TEXT   NOT NULL,
	integration_id      TEXT   NOT NULL,
	integration_name    TEXT   NOT NULL,
	integration_version BIGINT NOT NULL
);

CREATE TABLE {p}connections (
	id                TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	instance_id       TEXT COLLATE "C" NOT NULL,
	variable          TEXT COLLATE "C" NOT NULL,
	user_id           TEXT COLLATE "C" NOT NULL, -- '' for instance-level variables
	vals              TEXT    NOT NULL,          -- JSON object
	secrets           TEXT    NOT NULL,          -- JSON object of base64 sealed values
	sources           TEXT    NOT NULL,          -- JSON object
	metadata          TEXT    NOT NULL,          -- JSON object
	token_sealed      BYTEA,                     -- NULL: not connected
	token_expiry      BIGINT,                    -- Unix ms; NULL: not connected
	token_refreshable INTEGER NOT NULL DEFAULT 0,
	token_obtained_at BIGINT,                    -- Unix ms
	health_status     TEXT    NOT NULL,
	health_reason     TEXT    NOT NULL,
	health_since      BIGINT  NOT NULL,          -- Unix ms
	revision          BIGINT  NOT NULL,
	updated_at        BIGINT  NOT NULL,          -- Unix ms
	CONSTRAINT {p}connections_ref UNIQUE (instance_id, variable, user_id)
);

CREATE INDEX {p}connections_refresh ON {p}connections (token_expiry, id) WHERE token_refreshable = 1;

CREATE TABLE {p}templates (
	id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	name       TEXT   NOT NULL,
	component  TEXT COLLATE "C" NOT NULL,
	type       TEXT   NOT NULL,
	vals       TEXT   NOT NULL,                  -- JSON object
	secrets    TEXT   NOT NULL,                  -- JSON object of base64 sealed values
	revision   BIGINT NOT NULL,
	created_at BIGINT NOT NULL,                  -- Unix ms
	updated_at BIGINT NOT NULL                   -- Unix ms
);

CREATE INDEX {p}templates_component ON {p}templates (component, id);

-- A published integration version, pinned templates in {p}pins.
CREATE TABLE {p}versions (
	integration_id TEXT COLLATE "C" NOT NULL,
	version        BIGINT NOT NULL,
	published_at   BIGINT NOT NULL,              -- Unix ms
	PRIMARY KEY (integration_id, version)
);

CREATE TABLE {p}pins (
	template_id    TEXT COLLATE "C" NOT NULL REFERENCES {p}templates (id),
	integration_id TEXT COLLATE "C" NOT NULL,
	version        BIGINT NOT NULL,
	PRIMARY KEY (template_id, integration_id, version),
	FOREIGN KEY (integration_id, version) REFERENCES {p}versions (integration_id, version)
);

CREATE INDEX {p}pins_version ON {p}pins (integration_id, version);

CREATE TABLE {p}pending (
	state_hash    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	connection_id TEXT   NOT NULL,
	instance_id   TEXT   NOT NULL,
	variable      TEXT   NOT NULL,
	user_id       TEXT   NOT NULL,
	verifier      BYTEA,
	redirect_uri  TEXT   NOT NULL,
	token_url     TEXT   NOT NULL,
	issuer        TEXT   NOT NULL,
	data          TEXT   NOT NULL,               -- JSON object
	created_at    BIGINT NOT NULL,               -- Unix ms
	expires_at    BIGINT NOT NULL                -- Unix ms
);

CREATE INDEX {p}pending_expires ON {p}pending (expires_at);

CREATE TABLE {p}logs (
	connection_id TEXT COLLATE "C" NOT NULL,
	seq           BIGINT NOT NULL,
	logged_at     BIGINT NOT NULL,               -- Unix ms
	level         BIGINT NOT NULL,               -- slog.Level
	event         TEXT   NOT NULL,
	message       TEXT   NOT NULL,
	attrs         TEXT   NOT NULL,               -- JSON object
	PRIMARY KEY (connection_id, seq)
);

-- The last sequence number handed out per connection; appends update it in
-- place, which serializes concurrent appends to one connection.
CREATE TABLE {p}log_seqs (
	connection_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	last_seq      BIGINT NOT NULL
);

CREATE TABLE {p}leases (
	lease_key TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	owner     TEXT   NOT NULL,
	expires   BIGINT NOT NULL                    -- Unix ms
);
