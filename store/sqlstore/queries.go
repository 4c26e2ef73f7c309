package sqlstore

import "strings"

// queries holds every statement of the package with the table prefix filled
// in and placeholders in the dialect's style, built once per Store.
type queries struct {
	// connections
	getConn, getConnByID, insertConn, updateConn, deleteConn, connExists string
	listConns, scanConns, listRefreshable                                string
	deleteLogsOf, deleteLogSeqOf                                         string
	// instances
	putInstance, getInstance, listInstances, deleteInstance        string
	lockInstanceConns                                              string
	deleteInstanceLogs, deleteInstanceLogSeqs, deleteInstanceConns string
	// templates
	getTemplate, listTemplates, listTemplatesOf          string
	insertTemplate, updateTemplate, deleteTemplate       string
	lockTemplateSecrets, resealTemplate                  string
	lockTemplate, shareTemplate, templatePinned, pinsOf  string
	versionExists, versionPins, insertVersion, insertPin string
	// pending authorizations
	deleteExpiredPending, insertPending, consumePending string
	// logs
	logConnExists, nextSeq, insertLog, trimLogs, listLogs, listLogsBefore string
	// leases
	acquireLease, releaseLease string
}

const connCols = `id, instance_id, variable, user_id, vals, secrets, sources, metadata,
	token_sealed, token_expiry, token_refreshable, token_obtained_at,
	health_status, health_reason, health_since, revision, updated_at`

const templateCols = `id, name, component, type, vals, secrets, revision, created_at, updated_at`

const pendingCols = `connection_id, instance_id, variable, user_id, verifier,
	redirect_uri, token_url, issuer, data, created_at, expires_at`

// nowSQL is the SQL expression for "now" in Unix milliseconds wherever a
// query decides whether something has expired, with one placeholder that
// takes [Store.clockArg]. On PostgreSQL a NULL argument means the database
// server's clock, so that replicas sharing the database decide by one clock;
// clock_timestamp() is the time the statement reads it, not the start of its
// transaction. SQLite always gets the store's clock.
func nowSQL(d Dialect) string {
	if d == PostgreSQL {
		return `COALESCE(CAST(? AS BIGINT), floor(extract(epoch from clock_timestamp()) * 1000)::bigint)`
	}
	return `?`
}

func buildQueries(d Dialect, prefix string) queries {
	r := strings.NewReplacer("{p}", prefix, "{now}", nowSQL(d))
	q := func(s string) string { return rebind(d, r.Replace(s)) }
	forUpdate, forShare, forKeyShare := "", "", ""
	if d == PostgreSQL {
		// SQLite has no row locks: its write transactions hold the
		// database's write lock from BEGIN IMMEDIATE on.
		forUpdate, forShare, forKeyShare = " FOR UPDATE", " FOR SHARE", " FOR KEY SHARE"
	}
	return queries{
		getConn:     q(`SELECT ` + connCols + ` FROM {p}connections WHERE instance_id = ? AND variable = ? AND user_id = ?`),
		getConnByID: q(`SELECT ` + connCols + ` FROM {p}connections WHERE id = ?`),
		insertConn: q(`INSERT INTO {p}connections (` + connCols + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`),
		updateConn: q(`UPDATE {p}connections SET
			instance_id = ?, variable = ?, user_id = ?, vals = ?, secrets = ?, sources = ?, metadata = ?,
			token_sealed = ?, token_expiry = ?, token_refreshable = ?, token_obtained_at = ?,
			health_status = ?, health_reason = ?, health_since = ?,
			revision = revision + 1, updated_at = ?
			WHERE id = ? AND revision = ?`),
		deleteConn:     q(`DELETE FROM {p}connections WHERE id = ? AND revision = ?`),
		connExists:     q(`SELECT revision FROM {p}connections WHERE id = ?`),
		listConns:      q(`SELECT ` + connCols + ` FROM {p}connections WHERE instance_id = ? ORDER BY variable, user_id`),
		scanConns:      q(`SELECT ` + connCols + ` FROM {p}connections WHERE id > ? ORDER BY id LIMIT ?`),
		deleteLogsOf:   q(`DELETE FROM {p}logs WHERE connection_id = ?`),
		deleteLogSeqOf: q(`DELETE FROM {p}log_seqs WHERE connection_id = ?`),
		listRefreshable: q(`SELECT ` + connCols + ` FROM {p}connections
			WHERE token_refreshable = 1 AND (token_expiry, id) > (?, ?)
			ORDER BY token_expiry, id LIMIT ?`),

		putInstance: q(`INSERT INTO {p}instances (id, name, integration_id, integration_name, integration_version)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, integration_id = excluded.integration_id,
				integration_name = excluded.integration_name, integration_version = excluded.integration_version`),
		getInstance:       q(`SELECT id, name, integration_id, integration_name, integration_version FROM {p}instances WHERE id = ?`),
		listInstances:     q(`SELECT id, name, integration_id, integration_name, integration_version FROM {p}instances ORDER BY id`),
		deleteInstance:    q(`DELETE FROM {p}instances WHERE id = ?`),
		lockInstanceConns: q(`SELECT id FROM {p}connections WHERE instance_id = ?` + forUpdate),
		deleteInstanceLogs: q(`DELETE FROM {p}logs WHERE connection_id IN
			(SELECT id FROM {p}connections WHERE instance_id = ?)`),
		deleteInstanceLogSeqs: q(`DELETE FROM {p}log_seqs WHERE connection_id IN
			(SELECT id FROM {p}connections WHERE instance_id = ?)`),
		deleteInstanceConns: q(`DELETE FROM {p}connections WHERE instance_id = ?`),

		getTemplate:     q(`SELECT ` + templateCols + ` FROM {p}templates WHERE id = ?`),
		listTemplates:   q(`SELECT ` + templateCols + ` FROM {p}templates ORDER BY id`),
		listTemplatesOf: q(`SELECT ` + templateCols + ` FROM {p}templates WHERE component = ? ORDER BY id`),
		insertTemplate: q(`INSERT INTO {p}templates (` + templateCols + `)
			VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)`),
		updateTemplate: q(`UPDATE {p}templates SET name = ?, component = ?, type = ?, vals = ?, secrets = ?,
			revision = revision + 1, updated_at = ? WHERE id = ? AND revision = ?`),
		deleteTemplate:      q(`DELETE FROM {p}templates WHERE id = ?`),
		lockTemplateSecrets: q(`SELECT revision, secrets FROM {p}templates WHERE id = ?` + forUpdate),
		resealTemplate: q(`UPDATE {p}templates SET secrets = ?, revision = revision + 1, updated_at = ?
			WHERE id = ? AND revision = ?`),
		lockTemplate:   q(`SELECT revision FROM {p}templates WHERE id = ?` + forUpdate),
		shareTemplate:  q(`SELECT revision FROM {p}templates WHERE id = ?` + forShare),
		templatePinned: q(`SELECT 1 FROM {p}pins WHERE template_id = ? LIMIT 1`),
		pinsOf:         q(`SELECT integration_id, version FROM {p}pins WHERE template_id = ? ORDER BY integration_id, version`),
		versionExists:  q(`SELECT 1 FROM {p}versions WHERE integration_id = ? AND version = ?`),
		versionPins:    q(`SELECT template_id FROM {p}pins WHERE integration_id = ? AND version = ? ORDER BY template_id`),
		insertVersion:  q(`INSERT INTO {p}versions (integration_id, version, published_at) VALUES (?, ?, ?)`),
		insertPin:      q(`INSERT INTO {p}pins (template_id, integration_id, version) VALUES (?, ?, ?)`),

		deleteExpiredPending: q(`DELETE FROM {p}pending WHERE expires_at <= {now}`),
		// Arguments: the record's columns up to created_at, then ttl (ms),
		// clock, ttl (ms), expires_at (ms): with a positive ttl the row
		// expires at the clock of {now} plus ttl, otherwise at expires_at.
		insertPending: q(`INSERT INTO {p}pending (state_hash, ` + pendingCols + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
				CASE WHEN CAST(? AS BIGINT) > 0 THEN {now} + CAST(? AS BIGINT) ELSE CAST(? AS BIGINT) END)`),
		// The last column says whether the deleted row had expired by the
		// clock of {now}.
		consumePending: q(`DELETE FROM {p}pending WHERE state_hash = ? RETURNING ` + pendingCols + `,
			CASE WHEN expires_at <= {now} THEN 1 ELSE 0 END`),

		// The key-share lock keeps the connection from being deleted (and
		// its logs with it) until the append commits; updates of the row
		// are not blocked.
		logConnExists: q(`SELECT 1 FROM {p}connections WHERE id = ?` + forKeyShare),
		nextSeq: q(`INSERT INTO {p}log_seqs (connection_id, last_seq) VALUES (?, 1)
			ON CONFLICT (connection_id) DO UPDATE SET last_seq = {p}log_seqs.last_seq + 1
			RETURNING last_seq`),
		insertLog: q(`INSERT INTO {p}logs (connection_id, seq, logged_at, level, event, message, attrs)
			VALUES (?, ?, ?, ?, ?, ?, ?)`),
		trimLogs: q(`DELETE FROM {p}logs WHERE connection_id = ? AND seq <= ?`),
		listLogs: q(`SELECT seq, logged_at, level, event, message, attrs FROM {p}logs
			WHERE connection_id = ? ORDER BY seq DESC LIMIT ?`),
		listLogsBefore: q(`SELECT seq, logged_at, level, event, message, attrs FROM {p}logs
			WHERE connection_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`),

		// Arguments: key, owner, clock, ttl (ms), ttl (ms). The clock is read
		// once: the proposed expiry is now + ttl, so the row's "now" in the
		// condition is excluded.expires - ttl. No row returned: another
		// owner holds an unexpired lease.
		acquireLease: q(`INSERT INTO {p}leases (lease_key, owner, expires) VALUES (?, ?, {now} + ?)
			ON CONFLICT (lease_key) DO UPDATE SET owner = excluded.owner, expires = excluded.expires
			WHERE {p}leases.owner = excluded.owner OR {p}leases.expires <= excluded.expires - ?
			RETURNING expires`),
		releaseLease: q(`DELETE FROM {p}leases WHERE lease_key = ? AND owner = ?`),
	}
}
