"""An embedded store of run records: SQLite in WAL mode, one transaction per record, idempotent on the run key.

Only the study driver writes; workers return records. A killed driver loses at most the runs in flight: every
record written is committed before the next run is handed out, and a rerun skips the keys already finished.
Writing a finished run again changes nothing; a failed one is replaced by a later attempt's record. Every
hand-out is an *attempt* (started, ended, outcome), so the store alone says what was in flight at a kill and how
often each run was executed. A write that the disk refuses (full, read-only) raises :class:`StoreWriteError`;
the transaction is rolled back, so the file stays consistent.

``Store.open(path, readonly=True)`` is how the report and ``gatelab status`` read a store: nothing is created or
written, and a study folder copied read-only (or on a read-only mount) reports as well as the original.
The store holds plain JSON records; their typed shape is :mod:`gatelab.study.record`'s.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from .._errors import GatelabError, InputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key       TEXT PRIMARY KEY,
    study     TEXT NOT NULL,
    variant   TEXT NOT NULL,
    task      TEXT NOT NULL,
    seed      INTEGER NOT NULL,
    status    TEXT NOT NULL,
    record    TEXT NOT NULL,
    written   REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attempts (
    key       TEXT NOT NULL,
    attempt   INTEGER NOT NULL,
    started   REAL NOT NULL,
    ended     REAL,
    outcome   TEXT,
    PRIMARY KEY (key, attempt)
)
"""
FINISHED = ("ok", "diverged")   # a failed run is retried by the next invocation; these are not


class StoreWriteError(GatelabError, OSError):
    """The store could not be written (disk full, read-only folder, …); nothing partial was kept."""


class Store:
    def __init__(self, path: str | Path, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        if readonly:
            self._db = _open_readonly(self.path)
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # autocommit mode: each write opens its own BEGIN IMMEDIATE transaction (below), which takes the write
            # lock up front and so waits on the busy timeout instead of failing with "database is locked"
            self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise StoreWriteError(f"{self.path}: cannot open the store for writing ({error})") from None

    @classmethod
    def open(cls, path: str | Path, readonly: bool = False) -> Store:
        """The store at ``path``: for writing (created if missing), or ``readonly`` (it must exist)."""
        return cls(path, readonly=readonly)

    @contextmanager
    def _transaction(self):
        if self.readonly:
            raise StoreWriteError(f"{self.path}: this store was opened read-only")
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise StoreWriteError(f"{self.path}: cannot write the store ({error})") from None
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException as error:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:                                            # SQLite already rolled it back
                pass
            if isinstance(error, sqlite3.Error):
                raise StoreWriteError(f"{self.path}: cannot write the store ({error}); nothing was half-written, "
                                      "free space or fix the folder's permissions, then run again to resume") from None
            raise

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def write(self, record: dict) -> None:
        """Store the record of ``record["key"]`` in one transaction; a finished run already stored is kept as
        it is (writing it twice changes nothing), a failed one is replaced."""
        text = json.dumps(_finite(record), default=str, allow_nan=False)
        with self._transaction() as db:
            db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                       "study = excluded.study, variant = excluded.variant, task = excluded.task, "
                       "seed = excluded.seed, status = excluded.status, record = excluded.record, "
                       f"written = excluded.written WHERE runs.status NOT IN ({','.join('?' * len(FINISHED))})",
                       (record["key"], record["study"], record["variant"], record["task"], record["seed"],
                        record["status"], text, time.time(), *FINISHED))

    def set_meta(self, name: str, value: str) -> None:
        """Study-level facts (e.g. the command that reproduces it), so the report needs nothing but the store."""
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    # ---- attempts: what was handed out, and how it ended -------------------------------------------------
    def start_attempt(self, key: str) -> int:
        """Record that run ``key`` is handed out; return its attempt number (1, 2, …)."""
        with self._transaction() as db:
            (last,) = db.execute("SELECT COALESCE(MAX(attempt), 0) FROM attempts WHERE key = ?", (key,)).fetchone()
            db.execute("INSERT INTO attempts VALUES (?, ?, ?, NULL, NULL)", (key, last + 1, time.time()))
        return last + 1

    def end_attempt(self, key: str, attempt: int, outcome: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE attempts SET ended = ?, outcome = ? WHERE key = ? AND attempt = ?",
                       (time.time(), outcome, key, attempt))

    def close_open_attempts(self, outcome: str) -> int:
        """End every attempt still open (in flight when a driver died or was stopped); return how many."""
        with self._transaction() as db:
            return db.execute("UPDATE attempts SET ended = ?, outcome = ? WHERE ended IS NULL",
                              (time.time(), outcome)).rowcount

    def attempts(self) -> list[dict]:
        rows = self._db.execute("SELECT key, attempt, started, ended, outcome FROM attempts ORDER BY started")
        return [dict(zip(("key", "attempt", "started", "ended", "outcome"), row, strict=True)) for row in rows]

    def statuses(self) -> dict[str, str]:
        """Run key → stored status."""
        return dict(self._db.execute("SELECT key, status FROM runs"))

    def integrity(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: ``"ok"`` for a consistent file."""
        return self._db.execute("PRAGMA integrity_check").fetchone()[0]

    def meta(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]

    def finished_keys(self) -> set[str]:
        rows = self._db.execute(f"SELECT key FROM runs WHERE status IN ({','.join('?' * len(FINISHED))})", FINISHED)
        return {key for (key,) in rows}

    def find(self, key_prefix: str) -> dict:
        """The record whose key starts with ``key_prefix`` (unique), or a ValueError naming the candidates."""
        rows = self._db.execute("SELECT key, record FROM runs WHERE key LIKE ?", (key_prefix + "%",)).fetchall()
        if len(rows) != 1:
            sample = [key for key, _ in rows[:5]]
            raise InputError(f"key: expected the prefix of exactly one run key, got {key_prefix!r} "
                             f"({len(rows)} matches{': ' + ', '.join(sample) if sample else ''})", "key")
        return json.loads(rows[0][1])

    def records(self, study: str | None = None) -> list[dict]:
        query, args = "SELECT record FROM runs", ()
        if study is not None:
            query, args = query + " WHERE study = ?", (study,)
        return [json.loads(text) for (text,) in self._db.execute(query + " ORDER BY written", args)]


def _open_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection that creates nothing beside the store.

    With no ``-wal`` file beside it, every committed record is in the main file (the last writer checkpointed
    it on closing), so the file is opened ``immutable``: SQLite then needs no ``-shm`` file and writes nothing,
    which is what a read-only copy of a study folder allows. With a ``-wal`` file (a driver is running, or was
    killed), records may still sit in it, so it is read in WAL mode (``mode=ro``) — falling back to the main file
    alone where even that is impossible.
    """
    if not path.is_file():
        raise InputError(f"store: expected an existing store file, got {str(path)!r}", "store")
    uri = "file:" + quote(str(path.resolve()))
    attempts = ("mode=ro", "mode=ro&immutable=1") if Path(f"{path}-wal").exists() else ("mode=ro&immutable=1",)
    last: sqlite3.Error | None = None
    for flags in attempts:
        try:
            db = sqlite3.connect(f"{uri}?{flags}", uri=True, timeout=60)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.Error as error:
            last = error
    raise InputError(f"store: expected a readable gatelab store, got {str(path)!r} ({last})", "store")


def _finite(value):
    """The record with NaN and ±inf as null, so the stored text is standard JSON (SQLite's json functions and
    other readers reject NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
