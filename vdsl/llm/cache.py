"""The on-disk response cache: sqlite (WAL, busy timeout) keyed by a hash of the full request; safe for concurrent writers."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
import threading
import time
from pathlib import Path
import contextlib

SCHEMA = """CREATE TABLE IF NOT EXISTS responses (
  key TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  response TEXT NOT NULL,
  created REAL NOT NULL
)"""


def request_key(request: dict) -> str:
    """sha256 of the request as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResponseCache:
    """One sqlite file shared by threads (a connection each) and processes (WAL + busy timeout)."""

    FILENAME = "responses.sqlite3"

    def __init__(self, directory: str | Path, busy_timeout_s: float = 60.0):
        self.directory = Path(directory).expanduser()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / self.FILENAME
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        self._broken: str | None = None
        self._conn()  # create the file and table now, so errors surface at start-up

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        conn = sqlite3.connect(
            str(self.path), timeout=self.busy_timeout_s, check_same_thread=False, isolation_level=None
        )
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
        deadline = time.monotonic() + self.busy_timeout_s
        while True:  # switching to WAL needs a moment alone with the file
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(SCHEMA)
                break
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._local.conn = conn
        with self._lock:
            self._conns.append(conn)
        return conn

    def _warn(self, e: Exception) -> None:
        if self._broken is None:
            self._broken = str(e)
            print(f"warning: response cache {self.path} failed ({e}); going on without it", file=sys.stderr)

    def get(self, key: str) -> dict | None:
        if self._broken:
            return None
        try:
            row = self._conn().execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as e:
            self._warn(e)
            return None
        return json.loads(row[0]) if row else None

    def put(self, key: str, model: str, response: dict) -> None:
        if self._broken:
            return
        try:
            self._conn().execute(
                "INSERT OR REPLACE INTO responses (key, model, response, created) VALUES (?, ?, ?, ?)",
                (key, model, json.dumps(response), time.time()),
            )
        except sqlite3.Error as e:
            self._warn(e)

    def __len__(self) -> int:
        return self._conn().execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            for c in self._conns:
                with contextlib.suppress(sqlite3.Error):
                    c.close()
            self._conns.clear()
        self._local = threading.local()
