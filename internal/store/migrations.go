package store

// Schema migrations.
//
// The schema is the list below, applied in order. A database records each applied
// version in schema_migrations; Open applies the missing ones and refuses a database
// whose version is newer than this binary knows. To change the schema, append a
// migration with the next number and its SQL for both dialects — never edit one that
// has shipped. SQLite applies each migration in one transaction (its DDL is
// transactional); MySQL commits DDL implicitly, so a crash (or a lost connection)
// between a statement and the version row makes the next Open run the migration
// again: its statements are written to be re-runnable (IF NOT EXISTS), and one that
// cannot be (an ALTER TABLE dropping keys: MySQL has no DROP KEY IF EXISTS) is the
// migration's only statement, with an mysqlApplied query that tells it already ran.
//
// Representation, identical on both engines:
//   - timestamps are BIGINT unix microseconds (UTC);
//   - identifiers (event_id, decky, service, event_type, attacker_ip, bounty_type,
//     dedup_key, state.name) compare byte for byte (SQLite TEXT with BINARY collation,
//     MySQL VARBINARY);
//   - msg and raw_line hold any bytes (SQLite TEXT stored as given, MySQL LONGBLOB);
//   - raw_line is "" when the line is exactly event.Format of the row's event (the
//     canonical line every DECNET service emits): Logs regenerates it, byte for byte,
//     so the column only carries lines that differ (DECNET's relay@55555 history, a
//     relay that rewrote the header). This halves the bytes every event costs;
//   - fields and bounty payload are JSON text (see "Fields encoding" in fields.go),
//     LONGTEXT utf8mb4_bin on MySQL (not the JSON type, so the text is kept verbatim).

type migration struct {
	version int
	name    string
	sqlite  []string
	mysql   []string
	// mysqlApplied, when set, returns a count above 0 once the mysql statements
	// have taken effect; they are then not run again (see above).
	mysqlApplied string
}

var migrations = []migration{
	{
		version: 1,
		name:    "logs, bounty, state",
		sqlite: []string{
			`CREATE TABLE IF NOT EXISTS logs (
				id            INTEGER PRIMARY KEY AUTOINCREMENT,
				event_id      TEXT    NOT NULL UNIQUE,
				timestamp     INTEGER NOT NULL,
				decky         TEXT    NOT NULL,
				service       TEXT    NOT NULL,
				event_type    TEXT    NOT NULL,
				attacker_ip   TEXT    NOT NULL DEFAULT '',
				attacker_port INTEGER NOT NULL DEFAULT 0,
				fields        TEXT    NOT NULL DEFAULT '{}',
				msg           TEXT    NOT NULL DEFAULT '',
				raw_line      TEXT    NOT NULL DEFAULT ''
			)`,
			`CREATE INDEX IF NOT EXISTS logs_timestamp ON logs(timestamp)`,
			`CREATE INDEX IF NOT EXISTS logs_attacker ON logs(attacker_ip, id)`,
			`CREATE INDEX IF NOT EXISTS logs_decky ON logs(decky, id)`,
			`CREATE INDEX IF NOT EXISTS logs_service ON logs(service, id)`,
			`CREATE INDEX IF NOT EXISTS logs_event_type ON logs(event_type, id)`,
			`CREATE TABLE IF NOT EXISTS bounty (
				id          INTEGER PRIMARY KEY AUTOINCREMENT,
				timestamp   INTEGER NOT NULL,
				decky       TEXT    NOT NULL,
				service     TEXT    NOT NULL,
				attacker_ip TEXT    NOT NULL DEFAULT '',
				bounty_type TEXT    NOT NULL,
				payload     TEXT    NOT NULL,
				dedup_key   TEXT    NOT NULL UNIQUE,
				event_id    TEXT    NOT NULL DEFAULT ''
			)`,
			`CREATE INDEX IF NOT EXISTS bounty_type ON bounty(bounty_type, id)`,
			`CREATE INDEX IF NOT EXISTS bounty_attacker ON bounty(attacker_ip, id)`,
			`CREATE INDEX IF NOT EXISTS bounty_decky ON bounty(decky, id)`,
			`CREATE TABLE IF NOT EXISTS state (
				name  TEXT NOT NULL PRIMARY KEY,
				value TEXT NOT NULL
			) WITHOUT ROWID`,
		},
		mysql: []string{
			`CREATE TABLE IF NOT EXISTS logs (
				id            BIGINT         NOT NULL AUTO_INCREMENT,
				event_id      VARBINARY(128) NOT NULL,
				timestamp     BIGINT         NOT NULL,
				decky         VARBINARY(255) NOT NULL,
				service       VARBINARY(255) NOT NULL,
				event_type    VARBINARY(255) NOT NULL,
				attacker_ip   VARBINARY(64)  NOT NULL DEFAULT '',
				attacker_port INT            NOT NULL DEFAULT 0,
				fields        LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
				msg           LONGBLOB       NOT NULL,
				raw_line      LONGBLOB       NOT NULL,
				PRIMARY KEY (id),
				UNIQUE KEY logs_event_id (event_id),
				KEY logs_timestamp (timestamp),
				KEY logs_attacker (attacker_ip, id),
				KEY logs_decky (decky, id),
				KEY logs_service (service, id),
				KEY logs_event_type (event_type, id)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE IF NOT EXISTS bounty (
				id          BIGINT         NOT NULL AUTO_INCREMENT,
				timestamp   BIGINT         NOT NULL,
				decky       VARBINARY(255) NOT NULL,
				service     VARBINARY(255) NOT NULL,
				attacker_ip VARBINARY(64)  NOT NULL DEFAULT '',
				bounty_type VARBINARY(255) NOT NULL,
				payload     LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
				dedup_key   VARBINARY(255) NOT NULL,
				event_id    VARBINARY(128) NOT NULL DEFAULT '',
				PRIMARY KEY (id),
				UNIQUE KEY bounty_dedup (dedup_key),
				KEY bounty_type (bounty_type, id),
				KEY bounty_attacker (attacker_ip, id),
				KEY bounty_decky (decky, id)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE IF NOT EXISTS state (
				name  VARBINARY(191) NOT NULL,
				value LONGBLOB       NOT NULL,
				PRIMARY KEY (name)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
		},
	},
	{
		version: 2,
		name:    "attackers, attacker_behavior, attacker_tags",
		// attackers: one row per attacker IP, written by the analysis worker
		// (internal/analysis) with its cursor in one transaction. deckies, services,
		// fingerprints, commands, credentials and analysis_state are JSON text (valid
		// UTF-8); analysis_state is the engine's opaque resume state. attacker_tags
		// lists each attacker's deckies and services as rows, so filtering by decky
		// or service compares identifiers byte for byte through an index instead of
		// searching JSON. attacker_behavior is the profile, one row per attacker.
		sqlite: []string{
			`CREATE TABLE IF NOT EXISTS attackers (
				uuid             TEXT    NOT NULL PRIMARY KEY,
				ip               TEXT    NOT NULL UNIQUE,
				first_seen       INTEGER NOT NULL,
				last_seen        INTEGER NOT NULL,
				event_count      INTEGER NOT NULL DEFAULT 0,
				decky_count      INTEGER NOT NULL DEFAULT 0,
				deckies          TEXT    NOT NULL DEFAULT '[]',
				services         TEXT    NOT NULL DEFAULT '[]',
				is_traversal     INTEGER NOT NULL DEFAULT 0,
				traversal_path   TEXT    NOT NULL DEFAULT '',
				fingerprints     TEXT    NOT NULL DEFAULT '[]',
				commands         TEXT    NOT NULL DEFAULT '[]',
				command_count    INTEGER NOT NULL DEFAULT 0,
				credential_count INTEGER NOT NULL DEFAULT 0,
				credentials      TEXT    NOT NULL DEFAULT '[]',
				analysis_state   TEXT    NOT NULL DEFAULT '{}',
				updated_at       INTEGER NOT NULL DEFAULT 0
			) WITHOUT ROWID`,
			`CREATE INDEX IF NOT EXISTS attackers_last_seen ON attackers(last_seen)`,
			`CREATE INDEX IF NOT EXISTS attackers_first_seen ON attackers(first_seen)`,
			`CREATE INDEX IF NOT EXISTS attackers_event_count ON attackers(event_count)`,
			`CREATE INDEX IF NOT EXISTS attackers_decky_count ON attackers(decky_count)`,
			`CREATE TABLE IF NOT EXISTS attacker_behavior (
				attacker_uuid  TEXT    NOT NULL PRIMARY KEY,
				os_guess       TEXT    NOT NULL DEFAULT '',
				os_confidence  REAL    NOT NULL DEFAULT 0,
				behavior_class TEXT    NOT NULL DEFAULT '',
				tool_guesses   TEXT    NOT NULL DEFAULT '[]',
				timing_stats   TEXT    NOT NULL DEFAULT '{}',
				phases         TEXT    NOT NULL DEFAULT '[]',
				evidence       TEXT    NOT NULL DEFAULT '[]',
				updated_at     INTEGER NOT NULL DEFAULT 0
			) WITHOUT ROWID`,
			`CREATE INDEX IF NOT EXISTS attacker_behavior_class ON attacker_behavior(behavior_class)`,
			`CREATE TABLE IF NOT EXISTS attacker_tags (
				kind          TEXT NOT NULL,
				value         TEXT NOT NULL,
				attacker_uuid TEXT NOT NULL,
				PRIMARY KEY (kind, value, attacker_uuid)
			) WITHOUT ROWID`,
		},
		mysql: []string{
			`CREATE TABLE IF NOT EXISTS attackers (
				uuid             VARBINARY(64) NOT NULL,
				ip               VARBINARY(64) NOT NULL,
				first_seen       BIGINT        NOT NULL,
				last_seen        BIGINT        NOT NULL,
				event_count      BIGINT        NOT NULL DEFAULT 0,
				decky_count      INT           NOT NULL DEFAULT 0,
				deckies          LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
				services         LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
				is_traversal     TINYINT       NOT NULL DEFAULT 0,
				traversal_path   LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
				fingerprints     LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
				commands         LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
				command_count    BIGINT        NOT NULL DEFAULT 0,
				credential_count BIGINT        NOT NULL DEFAULT 0,
				credentials      LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
				analysis_state   LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
				updated_at       BIGINT        NOT NULL DEFAULT 0,
				PRIMARY KEY (uuid),
				UNIQUE KEY attackers_ip (ip),
				KEY attackers_last_seen (last_seen),
				KEY attackers_first_seen (first_seen),
				KEY attackers_event_count (event_count),
				KEY attackers_decky_count (decky_count)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE IF NOT EXISTS attacker_behavior (
				attacker_uuid  VARBINARY(64)  NOT NULL,
				os_guess       VARBINARY(255) NOT NULL DEFAULT '',
				os_confidence  DOUBLE         NOT NULL DEFAULT 0,
				behavior_class VARBINARY(64)  NOT NULL DEFAULT '',
				tool_guesses   LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
				timing_stats   LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
				phases         LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
				evidence       LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
				updated_at     BIGINT         NOT NULL DEFAULT 0,
				PRIMARY KEY (attacker_uuid),
				KEY attacker_behavior_class (behavior_class)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE IF NOT EXISTS attacker_tags (
				kind          VARBINARY(16)  NOT NULL,
				value         VARBINARY(255) NOT NULL,
				attacker_uuid VARBINARY(64)  NOT NULL,
				PRIMARY KEY (kind, value, attacker_uuid)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
		},
	},
	{
		version: 3,
		name:    "users, sessions",
		// users: the API's accounts (see users.go): password_hash is a PHC string
		// (argon2id), role admin or viewer. sessions: server-side login sessions keyed
		// by the SHA-256 of the random session id (the id itself is only in the
		// client's cookie), so a database leak does not hand out live sessions.
		sqlite: []string{
			`CREATE TABLE IF NOT EXISTS users (
				username             TEXT    NOT NULL PRIMARY KEY,
				role                 TEXT    NOT NULL,
				password_hash        TEXT    NOT NULL,
				must_change_password INTEGER NOT NULL DEFAULT 0,
				created_at           INTEGER NOT NULL,
				updated_at           INTEGER NOT NULL
			) WITHOUT ROWID`,
			`CREATE TABLE IF NOT EXISTS sessions (
				id_hash    TEXT    NOT NULL PRIMARY KEY,
				username   TEXT    NOT NULL,
				created_at INTEGER NOT NULL,
				last_seen  INTEGER NOT NULL,
				expires_at INTEGER NOT NULL
			) WITHOUT ROWID`,
			`CREATE INDEX IF NOT EXISTS sessions_username ON sessions(username)`,
			`CREATE INDEX IF NOT EXISTS sessions_expires ON sessions(expires_at)`,
		},
		mysql: []string{
			`CREATE TABLE IF NOT EXISTS users (
				username             VARBINARY(64)  NOT NULL,
				role                 VARBINARY(16)  NOT NULL,
				password_hash        VARBINARY(255) NOT NULL,
				must_change_password TINYINT        NOT NULL DEFAULT 0,
				created_at           BIGINT         NOT NULL,
				updated_at           BIGINT         NOT NULL,
				PRIMARY KEY (username)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE IF NOT EXISTS sessions (
				id_hash    VARBINARY(64) NOT NULL,
				username   VARBINARY(64) NOT NULL,
				created_at BIGINT        NOT NULL,
				last_seen  BIGINT        NOT NULL,
				expires_at BIGINT        NOT NULL,
				PRIMARY KEY (id_hash),
				KEY sessions_username (username),
				KEY sessions_expires (expires_at)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
		},
	},
	{
		// Bounty dedup keys become 128 bits (32 hex characters: the first half of the
		// SHA-256 they were): a smaller unique index, inserted into at random, costs
		// the SQLite ingester ~15%. Keys made before are cut the same way, so a
		// credential seen again after the upgrade is still the same row. A cut key
		// that collides (never, at 2^-128) keeps its long form (OR IGNORE).
		version: 4,
		name:    "128-bit bounty dedup keys",
		sqlite: []string{
			`UPDATE OR IGNORE bounty SET dedup_key = substr(dedup_key, 1, 32) WHERE length(dedup_key) = 64`,
		},
		mysql: []string{
			`UPDATE IGNORE bounty SET dedup_key = SUBSTRING(dedup_key, 1, 32) WHERE LENGTH(dedup_key) = 64`,
		},
	},
	{
		// The attackers list sorts by one column and breaks ties by IP (see
		// Attackers). With an index on the column alone, every tie was read and
		// sorted: a list by event count of 2,000 attackers that all had the same
		// count read all 2,000 rows (9.4 ms instead of 1.4 ms), and real fleets
		// have thousands of one-event scanners. Each sort index now holds the IP.
		version: 5,
		name:    "attacker sort indexes with the IP tie-break",
		sqlite: []string{
			`DROP INDEX IF EXISTS attackers_last_seen`,
			`DROP INDEX IF EXISTS attackers_first_seen`,
			`DROP INDEX IF EXISTS attackers_event_count`,
			`DROP INDEX IF EXISTS attackers_decky_count`,
			`CREATE INDEX IF NOT EXISTS attackers_last_seen_ip ON attackers(last_seen, ip)`,
			`CREATE INDEX IF NOT EXISTS attackers_first_seen_ip ON attackers(first_seen, ip)`,
			`CREATE INDEX IF NOT EXISTS attackers_event_count_ip ON attackers(event_count, ip)`,
			`CREATE INDEX IF NOT EXISTS attackers_decky_count_ip ON attackers(decky_count, ip)`,
		},
		// One statement, atomic in InnoDB (MariaDB 10.6+, MySQL 8): either every key
		// changed or none did, and the new keys' presence tells which.
		mysqlApplied: `SELECT COUNT(*) FROM information_schema.statistics
			WHERE table_schema = DATABASE() AND table_name = 'attackers' AND index_name = 'attackers_last_seen_ip'`,
		mysql: []string{
			`ALTER TABLE attackers
				DROP KEY attackers_last_seen, DROP KEY attackers_first_seen,
				DROP KEY attackers_event_count, DROP KEY attackers_decky_count,
				ADD KEY attackers_last_seen_ip (last_seen, ip), ADD KEY attackers_first_seen_ip (first_seen, ip),
				ADD KEY attackers_event_count_ip (event_count, ip), ADD KEY attackers_decky_count_ip (decky_count, ip)`,
		},
	},
	{
		// Stats over everything read every logs row and every credential's JSON
		// (2.5 s at a million events); it now reads counters (counters.go), which
		// FoldCounters fills from the rows the first time it runs.
		version: 6,
		name:    "overview counters",
		sqlite: []string{
			`CREATE TABLE IF NOT EXISTS counters (
				dim  TEXT    NOT NULL,
				vkey BLOB    NOT NULL,
				v1   BLOB    NOT NULL,
				v2   BLOB    NOT NULL,
				n    INTEGER NOT NULL,
				PRIMARY KEY (dim, vkey)
			) WITHOUT ROWID`,
		},
		mysql: []string{
			`CREATE TABLE IF NOT EXISTS counters (
				dim  VARBINARY(32) NOT NULL,
				vkey BINARY(16)    NOT NULL,
				v1   LONGBLOB      NOT NULL,
				v2   LONGBLOB      NOT NULL,
				n    BIGINT        NOT NULL,
				PRIMARY KEY (dim, vkey)
			) ENGINE=InnoDB`,
		},
	},
	{
		// On SQLite the logs' four identifier indexes — (decky, id), (service, id),
		// (event_type, id), (attacker_ip, id) — become one FTS5 table, logs_dims
		// (see dimsTokens): each row's identifiers as four exact tokens under its id.
		// The four B-tree inserts per stored event, each in the middle of its index,
		// were most of the SQLite writer's time (bench/ingest, 500,000 events: the
		// bare insert loop ran at 68-73k events/s with them, 112-116k with logs_dims
		// instead, 160k with neither; the ingester went from 48k to 56k). FTS5 keeps a
		// transaction's tokens in memory and writes them as one segment at commit,
		// merged during later writes. Searches walk a term's ids in id order (ORDER BY
		// logs_dims.rowid, no sort) and intersect several terms, as the indexes did
		// (see logsFilter); a histogram of one decky's 100,000 events takes as long
		// as before (~140 ms), a count of them 11 ms instead of 10. MySQL keeps its
		// indexes: InnoDB's inserts are not its bottleneck.
		version: 7,
		name:    "SQLite identifier tokens instead of the logs identifier indexes",
		sqlite:  tokensTable("logs_dims", "logs", dimsTokens, "logs_attacker", "logs_decky", "logs_service", "logs_event_type"),
	},
	{
		// The same for bounty on SQLite (see migration 7): its type, decky and
		// attacker indexes become bounty_dims (see bountyTokens), which indexes the
		// service too. A new bounty row cost five B-tree inserts, three of them in the
		// middle of an index and one at a random place (the dedup key, which stays):
		// bench/ingest's ingester went from ~56k to ~59k events/s (runs alternated).
		version: 8,
		name:    "SQLite identifier tokens instead of the bounty identifier indexes",
		sqlite:  tokensTable("bounty_dims", "bounty", bountyTokens, "bounty_type", "bounty_attacker", "bounty_decky"),
	},
}

// tokensTable is the SQLite statements that build the FTS5 table name of table's
// rows' tokens (the expression tokens), keyed by the rows' ids, merged into one
// segment, with FTS5's merging within writes turned off (the store merges in the
// background: see merge.go), then drop the indexes it replaces. The table is built
// whole (a contentless table cannot tell which rows it holds), so applying the
// statements again rebuilds it rather than doubling it.
func tokensTable(name, table, tokens string, replaced ...string) []string {
	stmts := []string{
		`DROP TABLE IF EXISTS ` + name,
		`CREATE VIRTUAL TABLE ` + name + ` USING fts5(t, content='', detail=none, columnsize=0, tokenize='ascii')`,
		`INSERT INTO ` + name + `(` + name + `, rank) VALUES('automerge', 0)`,
		`INSERT INTO ` + name + `(rowid, t) SELECT id, ` + tokens + ` FROM ` + table,
		`INSERT INTO ` + name + `(` + name + `) VALUES('optimize')`,
	}
	for _, ix := range replaced {
		stmts = append(stmts, `DROP INDEX IF EXISTS `+ix)
	}
	return stmts
}

// bountyTokens is bounty_dims' text of a bounty row (migration 8), written as
// dimsTokens: y for the bounty type, then decky, service and attacker.
const bountyTokens = `'y' || hex(bounty_type) || ' d' || hex(decky) || ' s' || hex(service) || ' a' || hex(attacker_ip)`

// appendBountyTokens appends the text bountyTokens gives a bounty row with these
// values.
func appendBountyTokens(b []byte, typ, decky, service, attackerIP string) []byte {
	b = appendHexUpper(append(b, 'y'), typ)
	b = appendHexUpper(append(b, " d"...), decky)
	b = appendHexUpper(append(b, " s"...), service)
	return appendHexUpper(append(b, " a"...), attackerIP)
}

// dimsTokens is the SQLite expression of a logs row's logs_dims text (migration
// 7): one token per identifier, a letter naming the column followed by the hex of
// the value's bytes. The ascii tokenizer splits text at ASCII punctuation and
// spaces and folds A-Z to a-z; a token of [a-z0-9] alone passes through whole, so
// a term matches exactly the rows whose column holds exactly those bytes (the
// letter keeps "decky x" from matching "service x"; an empty value is the letter
// alone). tokensMatch writes the same token for a search.
const dimsTokens = `'d' || hex(decky) || ' s' || hex(service) || ' t' || hex(event_type) || ' a' || hex(attacker_ip)`

// appendDimsTokens appends the text dimsTokens gives a row with these values
// (SQLite's hex() writes upper case).
func appendDimsTokens(b []byte, decky, service, typ, attackerIP string) []byte {
	b = appendHexUpper(append(b, 'd'), decky)
	b = appendHexUpper(append(b, " s"...), service)
	b = appendHexUpper(append(b, " t"...), typ)
	return appendHexUpper(append(b, " a"...), attackerIP)
}

func appendHexUpper(b []byte, s string) []byte {
	const digits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		b = append(b, digits[s[i]>>4], digits[s[i]&15])
	}
	return b
}

// SchemaVersion is the schema version this binary creates and expects.
func SchemaVersion() int { return migrations[len(migrations)-1].version }
