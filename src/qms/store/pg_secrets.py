"""Sessions and secrets in PostgreSQL (issue 26, storage.database): the identity store's tables in
their own schema (qms_secrets), opened through the catalog's SQL translation so identity/ keeps
one SQL text.

The embedded store re-seals a row's MAC in SQLite triggers that call Python; PostgreSQL triggers
cannot, and the MAC key must not travel to the server. So a trigger only notes which rows qms
changed (in a temp table of the session: an edit made outside qms notes nothing), and the
caller seals exactly those rows before it commits — the same rows the SQLite triggers re-seal.
"""

from __future__ import annotations

from contextlib import contextmanager

from . import pg_catalog

SCHEMA_NAME = "qms_secrets"
_LOCK = "hashtext('qms.secrets.write')"

_MARK_FN = f"""CREATE OR REPLACE FUNCTION {SCHEMA_NAME}.mark_unsealed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF to_regclass('pg_temp.qms_unsealed') IS NOT NULL THEN
    IF TG_OP <> 'DELETE' THEN
      INSERT INTO pg_temp.qms_unsealed(kind, key) VALUES (TG_ARGV[0], to_jsonb(NEW) ->> TG_ARGV[1]);
    END IF;
    IF TG_OP <> 'INSERT' THEN
      INSERT INTO pg_temp.qms_unsealed(kind, key) VALUES (TG_ARGV[0], to_jsonb(OLD) ->> TG_ARGV[1]);
    END IF;
  END IF;
  RETURN NULL;
END $$"""

# (trigger, table, events, kind, key column): as the SQLite store's MAC_SCHEMA
_TRIGGERS = (
    ("passwords_sealed_ins", "passwords", "INSERT", "login", "login"),
    ("passwords_sealed_upd", "passwords", "UPDATE OF login, hash, changed_at, must_change", "login", "login"),
    ("failures_sealed", "failures", "INSERT OR UPDATE OR DELETE", "login", "login"),
    ("sessions_sealed_ins", "sessions", "INSERT", "session", "token_hash"),
    ("sessions_sealed_upd", "sessions", "UPDATE OF token_hash, login, created_at, last_seen, expires_at",
     "session", "token_hash"),
)


def exists(url: str) -> bool:
    return pg_catalog.utility(url).execute("SELECT to_regclass(%s)",
                                           (f"{SCHEMA_NAME}.sessions",)).fetchone()[0] is not None


@contextmanager
def writing(url: str, schema_sql: str):
    """The store as one transaction, one writer at a time (as BEGIN IMMEDIATE on SQLite). Yields
    (connection, made): `made` when the tables were created just now."""
    conn = pg_catalog.connect(url, schema=SCHEMA_NAME)
    try:
        conn.raw.execute("BEGIN")
        try:
            conn.raw.execute(f"SELECT pg_advisory_xact_lock({_LOCK})")
            made = conn.raw.execute("SELECT to_regclass(%s)", (f"{SCHEMA_NAME}.sessions",)).fetchone()[0] is None
            if made:
                conn.raw.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA_NAME}")
                for stmt in pg_catalog.split_script(schema_sql):
                    conn.execute(stmt)
                conn.raw.execute(_MARK_FN)
                for name, table, events, kind, key in _TRIGGERS:
                    conn.raw.execute(f"CREATE OR REPLACE TRIGGER {name} AFTER {events} ON {table} FOR EACH ROW "
                                     f"EXECUTE FUNCTION {SCHEMA_NAME}.mark_unsealed('{kind}', '{key}')")
            conn.raw.execute("CREATE TEMP TABLE IF NOT EXISTS qms_unsealed(kind text, key text)")
            yield conn, made
        except BaseException:
            conn.raw.execute("ROLLBACK")
            raise
        else:
            conn.raw.execute("COMMIT")
    finally:
        conn.close()


def unsealed(conn) -> list[tuple[str, str]]:
    """The rows qms changed since the last call (kind 'login' or 'session', key), once each."""
    rows = conn.raw.execute("SELECT DISTINCT kind, key FROM pg_temp.qms_unsealed ORDER BY kind, key").fetchall()
    conn.raw.execute("DELETE FROM pg_temp.qms_unsealed")
    return [(k, v) for k, v in rows if v is not None]


def mark_all(conn) -> None:
    """Every row to be sealed (the store meets its MAC key for the first time)."""
    conn.raw.execute("INSERT INTO pg_temp.qms_unsealed SELECT 'login', login FROM passwords")
    conn.raw.execute("INSERT INTO pg_temp.qms_unsealed SELECT 'session', token_hash FROM sessions")


@contextmanager
def reading(url: str):
    """A connection for reads (no lock): every web request asks for its session."""
    conn = pg_catalog.connect(url, schema=SCHEMA_NAME)
    try:
        yield conn
    finally:
        conn.close()
