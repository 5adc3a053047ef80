//! Opening the store file safely, and its schema with numbered migrations.
//!
//! Opening checks before it changes anything: a file that is not `SQLite`, an `SQLite`
//! database of another program, or a store written by a newer accord are refused with
//! the file left byte for byte as it was (WAL mode, which rewrites the header, is only
//! switched on after those checks). The schema version is `SQLite`'s `user_version`;
//! `application_id` marks the file as accord's.

use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::contract::BackendError;

/// Marks a database as an accord store (`PRAGMA application_id`): "ACCD".
const APPLICATION_ID: i32 = 0x4143_4344;

/// How long a writer waits for another process's transaction before giving up (Busy).
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Every migration, in order: migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[MIGRATION_1, MIGRATION_2, MIGRATION_3];

/// The newest schema version this build knows.
#[allow(clippy::cast_possible_wrap)] // a handful of migrations, far below i64::MAX
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1: the normalised account, its revision, history and lock.
const MIGRATION_1: &str = "
CREATE TABLE account (
    singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
    account_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    revision   INTEGER NOT NULL
);
INSERT INTO account (singleton, account_id, name, revision) VALUES (1, '', '', 0);

CREATE TABLE companies (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE,
    trade TEXT
);

CREATE TABLE roles (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE role_access (
    role_id INTEGER NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    level   TEXT NOT NULL,
    PRIMARY KEY (role_id, level)
) WITHOUT ROWID;

CREATE TABLE members (
    id         INTEGER PRIMARY KEY,
    email      TEXT NOT NULL UNIQUE,
    first_name TEXT,
    last_name  TEXT,
    company_id INTEGER REFERENCES companies (id),
    role_id    INTEGER REFERENCES roles (id),
    status     TEXT NOT NULL,
    invited_at INTEGER,
    signed_in  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE member_access (
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    level     TEXT NOT NULL,
    PRIMARY KEY (member_id, level)
) WITHOUT ROWID;
CREATE INDEX member_access_by_level ON member_access (level, member_id);

CREATE TABLE external_subscriptions (
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    product   TEXT NOT NULL,
    PRIMARY KEY (member_id, product)
) WITHOUT ROWID;

CREATE TABLE agreements (
    id                      INTEGER PRIMARY KEY,
    number                  TEXT NOT NULL UNIQUE,
    name                    TEXT NOT NULL,
    contract_manager_id     INTEGER NOT NULL REFERENCES members (id),
    software_coordinator_id INTEGER NOT NULL REFERENCES members (id)
);
CREATE INDEX agreements_by_manager ON agreements (contract_manager_id);
CREATE INDEX agreements_by_coordinator ON agreements (software_coordinator_id);

CREATE TABLE products (
    id           INTEGER PRIMARY KEY,
    agreement_id INTEGER NOT NULL REFERENCES agreements (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    seats        INTEGER NOT NULL CHECK (seats >= 0),
    UNIQUE (agreement_id, name)
);

CREATE TABLE seats (
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    member_id  INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (product_id, member_id)
) WITHOUT ROWID;
CREATE INDEX seats_by_member ON seats (member_id);

CREATE TABLE cloud_services (
    id           INTEGER PRIMARY KEY,
    agreement_id INTEGER NOT NULL REFERENCES agreements (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    UNIQUE (agreement_id, name)
);

CREATE TABLE cloud_service_users (
    service_id INTEGER NOT NULL REFERENCES cloud_services (id) ON DELETE CASCADE,
    member_id  INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (service_id, member_id)
) WITHOUT ROWID;
CREATE INDEX cloud_service_users_by_member ON cloud_service_users (member_id);

CREATE TABLE support (
    agreement_id INTEGER NOT NULL REFERENCES agreements (id) ON DELETE CASCADE,
    member_id    INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (agreement_id, member_id)
) WITHOUT ROWID;
CREATE INDEX support_by_member ON support (member_id);

CREATE TABLE projects (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE project_members (
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    member_id  INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    access     TEXT NOT NULL,
    PRIMARY KEY (project_id, member_id)
) WITHOUT ROWID;
CREATE INDEX project_members_by_member ON project_members (member_id);

CREATE TABLE project_member_products (
    project_id INTEGER NOT NULL,
    member_id  INTEGER NOT NULL,
    product    TEXT NOT NULL,
    PRIMARY KEY (project_id, member_id, product),
    FOREIGN KEY (project_id, member_id)
        REFERENCES project_members (project_id, member_id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE history (
    seq      INTEGER PRIMARY KEY,
    revision INTEGER NOT NULL,
    op       TEXT NOT NULL,
    target   TEXT NOT NULL,
    at       INTEGER NOT NULL,
    actor    TEXT,
    detail   TEXT
);
CREATE INDEX history_by_revision ON history (revision);

CREATE TABLE locks (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    token       TEXT NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    ttl_secs    INTEGER NOT NULL
);
";

/// Version 2: named-user teams (DOMAIN.md "Teams"): a team's users, its product
/// pools and their seats. A team user is an account member, so removing the member
/// takes them off every team and frees their team seats (ON DELETE CASCADE).
/// `inherited` marks a seat held through a group or the whole team, which only
/// seeding writes: operations change direct seats alone, as on the vendor.
const MIGRATION_2: &str = "
CREATE TABLE teams (
    id      INTEGER PRIMARY KEY,
    team_id TEXT NOT NULL UNIQUE,
    name    TEXT NOT NULL
);

CREATE TABLE team_users (
    team_id   INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, member_id)
) WITHOUT ROWID;
CREATE INDEX team_users_by_member ON team_users (member_id);

CREATE TABLE team_pools (
    id      INTEGER PRIMARY KEY,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    product TEXT NOT NULL,
    seats   INTEGER NOT NULL CHECK (seats >= 0),
    UNIQUE (team_id, product)
);

CREATE TABLE team_seats (
    pool_id   INTEGER NOT NULL REFERENCES team_pools (id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    inherited INTEGER NOT NULL DEFAULT 0 CHECK (inherited IN (0, 1)),
    PRIMARY KEY (pool_id, member_id)
) WITHOUT ROWID;
CREATE INDEX team_seats_by_member ON team_seats (member_id);
";

/// Version 3: seat usage over time (`accord report seats`): after each change that
/// moved a product's seats used or total, one row per product whose numbers moved.
/// A store from before starts its record with today's counts, at its current
/// revision and the time of its newest change (`seat_usage.rs` writes the rest).
const MIGRATION_3: &str = "
CREATE TABLE seat_usage (
    kind     TEXT NOT NULL CHECK (kind IN ('agreement', 'team')),
    owner    TEXT NOT NULL,
    product  TEXT NOT NULL,
    revision INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    used     INTEGER NOT NULL CHECK (used >= 0),
    seats    INTEGER CHECK (seats >= 0),
    PRIMARY KEY (kind, owner, product, revision)
) WITHOUT ROWID;
CREATE INDEX seat_usage_by_revision ON seat_usage (revision);

INSERT INTO seat_usage (kind, owner, product, revision, at, used, seats)
SELECT 'agreement', a.number, p.name, account.revision,
       COALESCE((SELECT max(at) FROM history), 0),
       (SELECT count(*) FROM seats s WHERE s.product_id = p.id), p.seats
FROM products p JOIN agreements a ON a.id = p.agreement_id, account;

INSERT INTO seat_usage (kind, owner, product, revision, at, used, seats)
SELECT 'team', t.team_id, tp.product, account.revision,
       COALESCE((SELECT max(at) FROM history), 0),
       (SELECT count(*) FROM team_seats s WHERE s.pool_id = tp.id), tp.seats
FROM team_pools tp JOIN teams t ON t.id = tp.team_id, account;
";

/// Opens (creating if needed) the store at `path`, brought to [`SCHEMA_VERSION`].
pub(super) fn open(path: &Path) -> Result<Connection, BackendError> {
    create_parent(path)?;
    let created = create_owner_only(path)?;
    if !created {
        check_header(path)?;
    }
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| open_error(path, &e))?;
    if conn
        .is_readonly(rusqlite::MAIN_DB)
        .map_err(|e| open_error(path, &e))?
    {
        return Err(BackendError::Unwritable {
            path: path.to_owned(),
            detail: "the file is read-only; give the user running accord write access to it".into(),
        });
    }
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| open_error(path, &e))?;
    check_identity(&conn, path)?;
    if !created {
        check_integrity(&conn, path)?;
    }
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| open_error(path, &e))?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| open_error(path, &e))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(|e| open_error(path, &e))?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

/// The directory accord creates by itself for its store (the default backend's,
/// `.accord/`); any other missing directory is more likely a typo in `--db` or
/// `--backend` than a wish for a new account.
const OWN_DIRECTORY: &str = ".accord";

/// Creates the store's directory when it is accord's own `.accord/`; refuses a
/// missing directory otherwise.
fn create_parent(path: &Path) -> Result<(), BackendError> {
    let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    if parent.is_dir() {
        return Ok(());
    }
    if parent.file_name().is_none_or(|name| name != OWN_DIRECTORY) {
        return Err(BackendError::Unwritable {
            path: path.to_owned(),
            detail: format!(
                "the directory {} does not exist; check the path for a typo, or create the directory first (accord creates only `{OWN_DIRECTORY}/` by itself)",
                parent.display()
            ),
        });
    }
    fs::create_dir(parent).map_err(|e| BackendError::Unwritable {
        path: path.to_owned(),
        detail: format!(
            "cannot create the directory {}: {}; check that it is writable and that no part of it is a file",
            parent.display(),
            io_reason(&e)
        ),
    })
}

/// Creates the store's file, readable and writable by its owner only (it holds
/// the whole account), when there is none. Whether this call created it.
fn create_owner_only(path: &Path) -> Result<bool, BackendError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(BackendError::Unwritable {
            path: path.to_owned(),
            detail: format!(
                "cannot create the file: {}; check the permissions of its directory",
                io_reason(&e)
            ),
        }),
    }
}

/// How long an empty store file made by someone else may take to get its first
/// bytes (another accord creating the store at the same moment).
const EMPTY_GRACE: Duration = Duration::from_secs(1);

/// Refuses a store that `SQLite`'s quick integrity check finds damaged, before
/// anything reads or writes it.
fn check_integrity(conn: &Connection, path: &Path) -> Result<(), BackendError> {
    let found: Result<Vec<String>, rusqlite::Error> = conn
        .prepare("PRAGMA quick_check(5)")
        .and_then(|mut statement| {
            statement
                .query_map([], |row| row.get(0))
                .and_then(Iterator::collect)
        });
    let problems = match found {
        Ok(found) if found.len() == 1 && found[0] == "ok" => return Ok(()),
        Ok(found) => found.join("; "),
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
            ) =>
        {
            e.to_string()
        }
        Err(e) => return Err(open_error(path, &e)),
    };
    Err(BackendError::Corrupt {
        path: path.to_owned(),
        detail: format!(
            "SQLite's integrity check failed ({problems}); nothing was read or written. Restore the file from a backup, or move it away to start the account anew"
        ),
    })
}

/// Refuses a non-empty file that does not start with `SQLite`'s magic header, before
/// `SQLite` opens it.
fn check_header(path: &Path) -> Result<(), BackendError> {
    const MAGIC: &[u8; 16] = b"SQLite format 3\0";
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(BackendError::Unwritable {
                path: path.to_owned(),
                detail: format!("cannot read the file: {}", io_reason(&e)),
            });
        }
    };
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(BackendError::NotAStore {
            path: path.to_owned(),
            detail: "it is a directory".into(),
        });
    }
    let mut header = Vec::with_capacity(MAGIC.len());
    file.by_ref()
        .take(MAGIC.len() as u64)
        .read_to_end(&mut header)
        .map_err(|e| BackendError::Unwritable {
            path: path.to_owned(),
            detail: format!("cannot read the file: {}", io_reason(&e)),
        })?;
    if header.is_empty() {
        return check_empty(path);
    }
    if header == MAGIC {
        return Ok(());
    }
    Err(BackendError::NotAStore {
        path: path.to_owned(),
        detail: "the file is not an SQLite database".into(),
    })
}

/// Refuses a store file that is empty: a store is never empty once created, so
/// an empty one lost its account (truncated by a full disk, a bad copy), and
/// taking it for a new account would start over without a word.
fn check_empty(path: &Path) -> Result<(), BackendError> {
    let waited_since = std::time::Instant::now();
    while waited_since.elapsed() < EMPTY_GRACE {
        std::thread::sleep(Duration::from_millis(50));
        if fs::metadata(path).is_ok_and(|m| m.len() > 0) {
            return check_header(path);
        }
    }
    Err(BackendError::NotAStore {
        path: path.to_owned(),
        detail: "the file is empty (0 bytes), so the account it held is lost; restore it from a backup, or delete the file to start a new account".into(),
    })
}

/// Refuses an `SQLite` database that belongs to another program, or to a newer accord.
fn check_identity(conn: &Connection, path: &Path) -> Result<(), BackendError> {
    let read = |pragma: &str| -> Result<i64, BackendError> {
        conn.pragma_query_value(None, pragma, |row| row.get(0))
            .map_err(|e| open_error(path, &e))
    };
    let application_id = read("application_id")?;
    let version = read("user_version")?;
    if application_id == i64::from(APPLICATION_ID) {
        if version > SCHEMA_VERSION {
            return Err(BackendError::NewerSchema {
                path: path.to_owned(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        return Ok(());
    }
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
        .map_err(|e| open_error(path, &e))?;
    if application_id == 0 && version == 0 && tables == 0 {
        return Ok(()); // a new, empty database: ours to initialise
    }
    Err(BackendError::NotAStore {
        path: path.to_owned(),
        detail: format!(
            "an SQLite database of another program (application id {application_id:#x}, {tables} schema objects)"
        ),
    })
}

/// Applies the migrations the file lacks, each with its version bump in one transaction.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), BackendError> {
    loop {
        // IMMEDIATE: two accords opening a new store at once serialise here, and the
        // second sees the first's version.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| super::storage_error(path, &e))?;
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| super::storage_error(path, &e))?;
        if version > SCHEMA_VERSION {
            return Err(BackendError::NewerSchema {
                path: path.to_owned(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        let Some(script) = usize::try_from(version)
            .ok()
            .and_then(|v| MIGRATIONS.get(v))
        else {
            return Ok(()); // up to date; the transaction rolls back, nothing to write
        };
        tx.execute_batch(script)
            .map_err(|e| super::storage_error(path, &e))?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(|e| super::storage_error(path, &e))?;
        tx.pragma_update(None, "user_version", version + 1)
            .map_err(|e| super::storage_error(path, &e))?;
        tx.commit().map_err(|e| super::storage_error(path, &e))?;
    }
}

/// Turns an error met while opening into the clearest [`BackendError`].
fn open_error(path: &Path, error: &rusqlite::Error) -> BackendError {
    use rusqlite::ErrorCode;
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => BackendError::NotAStore {
            path: path.to_owned(),
            detail: "the file is not an SQLite database, or it is encrypted".into(),
        },
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            BackendError::Unwritable {
                path: path.to_owned(),
                detail: format!(
                    "SQLite cannot open or write it ({error}); check the permissions of the file and its directory"
                ),
            }
        }
        _ => super::storage_error(path, error),
    }
}

/// An I/O error's reason without the noise of its debug form.
fn io_reason(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::ReadOnlyFilesystem => "the file system is read-only".into(),
        io::ErrorKind::NotADirectory => "a part of the path is a file, not a directory".into(),
        _ => error.to_string(),
    }
}
