"""An embedded store of run records: SQLite in WAL mode, one transaction per record, idempotent on the run key.

Only the study driver writes; workers return records. A killed driver loses at most the runs in flight: every
record written is committed before the next run is handed out, and a rerun skips the keys already finished.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from pathlib import Path

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
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)
"""
FINISHED = ("ok", "diverged")   # a failed run is retried by the next invocation; these are not


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._db.commit()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def write(self, record: dict) -> None:
        """Insert or replace the record of ``record["key"]``, in one transaction."""
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             (record["key"], record["study"], record["variant"], record["task"], record["seed"],
                              record["status"], json.dumps(_finite(record), default=str, allow_nan=False),
                              time.time()))

    def set_meta(self, name: str, value: str) -> None:
        """Study-level facts (e.g. the command that reproduces it), so the report needs nothing but the store."""
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

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
            raise ValueError(f"KEY: expected the prefix of exactly one run key, got {key_prefix!r} "
                             f"({len(rows)} matches{': ' + ', '.join(sample) if sample else ''})")
        return json.loads(rows[0][1])

    def records(self, study: str | None = None) -> list[dict]:
        query, args = "SELECT record FROM runs", ()
        if study is not None:
            query, args = query + " WHERE study = ?", (study,)
        return [json.loads(text) for (text,) in self._db.execute(query + " ORDER BY written", args)]


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
