package store

// Schema migrations.
//
// The schema is the list below, applied in order. A database records each applied
// version in schema_migrations; Open applies the missing ones and refuses a database
// whose version is newer than this binary knows. To change the schema, append a
// migration with the next number and its SQL for both dialects — never edit one that
// has shipped. SQLite applies each migration in one transaction (its DDL is
// transactional); MySQL commits DDL implicitly, so its statements are written to be
// re-runnable (IF NOT EXISTS) and a crash between a statement and the version row
// only makes the next Open repeat harmless statements.
//
// Representation, identical on both engines:
//   - timestamps are BIGINT unix microseconds (UTC);
//   - identifiers (event_id, decky, service, event_type, attacker_ip, bounty_type,
//     dedup_key, state.name) compare byte for byte (SQLite TEXT with BINARY collation,
//     MySQL VARBINARY);
//   - msg and raw_line hold any bytes (SQLite TEXT stored as given, MySQL LONGBLOB);
//   - fields and bounty payload are JSON text (see "Fields encoding" in fields.go),
//     LONGTEXT utf8mb4_bin on MySQL (not the JSON type, so the text is kept verbatim).

type migration struct {
	version int
	name    string
	sqlite  []string
	mysql   []string
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
}

// SchemaVersion is the schema version this binary creates and expects.
func SchemaVersion() int { return migrations[len(migrations)-1].version }
