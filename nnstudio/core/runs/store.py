"""The run store: every training run, from the CLI or the window, in one SQLite file.

One file (``runs.db`` in the per-user folder, :func:`nnstudio.core.paths.user_home`), written through
the standard library's ``sqlite3``:

- WAL mode and a busy timeout, so several processes (the CLI while the window is open) can write at once;
- a schema version (``PRAGMA user_version``) and a list of migrations, applied in order on open;
- every write is its own short transaction, so a crash loses at most the epoch in progress;
- a file that is not a database (or a damaged one) is moved aside with one clear line and a fresh one started.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from nnstudio.core import paths

FILE_NAME = "runs.db"
BUSY_TIMEOUT_MS = 15000
# Schema migrations: MIGRATIONS[i] brings a database from version i to i + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started REAL NOT NULL,          -- Unix time
        ended REAL,                     -- NULL while running (or if the process died)
        updated REAL NOT NULL,
        source TEXT NOT NULL,           -- 'cli' or 'window'
        dataset TEXT NOT NULL,
        architecture TEXT NOT NULL,     -- JSON list of layer sizes, e.g. [784, 128, 10]
        hyperparameters TEXT NOT NULL,  -- JSON: RunConfig.to_hyperparameters() (base lr and schedule)
        status TEXT NOT NULL,           -- running, finished, stopped, diverged
        message TEXT NOT NULL DEFAULT '',
        epochs_done INTEGER NOT NULL DEFAULT 0,
        steps INTEGER NOT NULL DEFAULT 0,
        batches_per_epoch INTEGER NOT NULL DEFAULT 1,
        first_epoch INTEGER NOT NULL DEFAULT 1,  -- a run that continues earlier training starts later
        test_loss REAL,
        test_accuracy REAL,
        train_seconds REAL NOT NULL DEFAULT 0,  -- time spent training (pauses excluded)
        samples_per_sec REAL,
        loss_curve TEXT NOT NULL DEFAULT '{}',  -- JSON: {"every": k, "values": [...]} (bucket means)
        model_path TEXT,
        pid INTEGER,
        host TEXT
    );
    CREATE TABLE epochs (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        train_loss REAL,
        train_accuracy REAL,
        test_loss REAL,
        test_accuracy REAL,
        seconds REAL,
        samples_per_sec REAL,
        PRIMARY KEY (run_id, epoch)
    );
    CREATE INDEX runs_started ON runs(started);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
ENDINGS = ("finished", "stopped", "diverged")


class RunStoreError(RuntimeError):
    """The run store cannot be used (e.g. it was written by a newer nnstudio)."""


@dataclass
class RunRecord:
    """One run as stored. ``status`` is ``interrupted`` for a run whose process died before it ended."""

    id: int
    started: float
    ended: float | None
    updated: float
    source: str
    dataset: str
    architecture: list[int]
    hyperparameters: dict
    status: str
    message: str
    epochs_done: int
    steps: int
    batches_per_epoch: int
    first_epoch: int
    test_loss: float | None
    test_accuracy: float | None
    train_seconds: float
    samples_per_sec: float | None
    loss_curve: dict
    model_path: str | None
    epochs: list[dict] = field(default_factory=list)

    @property
    def wall_seconds(self) -> float | None:
        end = self.ended if self.ended is not None else (self.updated if self.status != "running" else time.time())
        return max(0.0, end - self.started)

    @property
    def network(self) -> str:
        return " → ".join(str(s) for s in self.architecture)

    def loss_points(self) -> tuple[list[float], list[float]]:
        """The decimated loss curve as (x in epochs from the run's first epoch - 1, loss)."""
        every = int(self.loss_curve.get("every", 1) or 1)
        values = [float(v) for v in self.loss_curve.get("values", [])]
        bpe = max(1, self.batches_per_epoch)
        x0 = self.first_epoch - 1
        return [x0 + (i * every + every / 2) / bpe for i in range(len(values))], values

    def to_dict(self) -> dict:
        """JSON-able (``runs show --json``, ``runs list --json``)."""
        return {
            "id": self.id,
            "started": _iso(self.started),
            "ended": _iso(self.ended) if self.ended is not None else None,
            "source": self.source,
            "status": self.status,
            "message": self.message,
            "dataset": self.dataset,
            "architecture": self.architecture,
            "hyperparameters": self.hyperparameters,
            "lr": self.hyperparameters.get("lr"),
            "epochs_done": self.epochs_done,
            "steps": self.steps,
            "test_loss": self.test_loss,
            "test_accuracy": self.test_accuracy,
            "wall_seconds": self.wall_seconds,
            "train_seconds": self.train_seconds,
            "samples_per_sec": self.samples_per_sec,
            "model_path": self.model_path,
            "epochs": self.epochs,
            "loss_curve": self.loss_curve,
        }


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t))


def default_path() -> Path:
    return paths.user_home() / FILE_NAME


def say_on_stderr(line: str) -> None:
    print(f"nnstudio: {line}", file=sys.stderr)


class RunStore:
    """The runs database. Safe to share between threads (one connection behind a lock).

    ``notice`` receives the one line said when a damaged database was moved aside (default: stderr).
    """

    def __init__(self, path: str | os.PathLike | None = None, notice: Callable[[str], None] | None = None):
        self.path = Path(path) if path is not None else default_path()
        self.notice = notice or say_on_stderr
        self._lock = threading.RLock()
        self._db = self._open()

    # -- opening -----------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return db

    def _open(self) -> sqlite3.Connection:
        try:
            try:
                return self._connect_and_prepare()
            except sqlite3.OperationalError:
                raise  # cannot open or lock it (permissions, a full disk, busy): not damage, leave the file be
            except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
                moved = self._move_aside()
                self.notice(
                    f"the runs database {self.path} was damaged ({exc}); it was moved to {moved.name} "
                    "and a new one started"
                )
                return self._connect_and_prepare()
        except sqlite3.OperationalError as exc:
            raise RunStoreError(f"cannot use the runs database {self.path}: {exc}") from None
        except OSError as exc:
            raise RunStoreError(f"cannot use the runs database {self.path}: {exc.strerror or exc}") from None

    def _connect_and_prepare(self) -> sqlite3.Connection:
        db = self._connect()
        try:
            self._prepare(db)
        except BaseException:
            db.close()  # (so the file can be moved aside, on Windows too)
            raise
        return db

    def _prepare(self, db: sqlite3.Connection) -> None:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a committed epoch survives a crashed process
        db.execute("PRAGMA foreign_keys = ON")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RunStoreError(
                f"the runs database {self.path} was written by a newer nnstudio (schema {version}, "
                f"this version reads up to {SCHEMA_VERSION})"
            )
        if version < SCHEMA_VERSION:
            db.execute("BEGIN IMMEDIATE")
            try:
                # another process may have migrated it while this one waited for the lock
                version = db.execute("PRAGMA user_version").fetchone()[0]
                for i in range(version, SCHEMA_VERSION):
                    for statement in MIGRATIONS[i].split(";"):
                        if statement.strip():
                            db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        # a file with a valid header but broken pages only fails when read
        db.execute("SELECT count(*) FROM runs").fetchone()

    def _move_aside(self) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.damaged-{stamp}-{n}")
        os.replace(self.path, target)
        for suffix in ("-wal", "-shm"):
            side = Path(str(self.path) + suffix)
            if side.exists():
                os.replace(side, Path(str(target) + suffix))
        return target

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, params: Iterable = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, tuple(params))

    # -- writing -----------------------------------------------------------------------------------
    def begin_run(
        self,
        source: str,
        dataset: str,
        architecture: list[int],
        hyperparameters: dict,
        batches_per_epoch: int,
        first_epoch: int = 1,
    ) -> int:
        """A new run, status ``running``; returns its id."""
        now = time.time()
        cur = self._write(
            "INSERT INTO runs (started, updated, source, dataset, architecture, hyperparameters, status, "
            "batches_per_epoch, first_epoch, pid, host) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)",
            (
                now,
                now,
                source,
                dataset,
                json.dumps([int(s) for s in architecture]),
                json.dumps(hyperparameters),
                int(batches_per_epoch),
                int(first_epoch),
                os.getpid(),
                socket.gethostname(),
            ),
        )
        return int(cur.lastrowid or 0)

    def add_epoch(
        self, run_id: int, epoch: dict, steps: int, loss_curve: dict, train_seconds: float, samples_per_sec: float
    ) -> None:
        """One finished epoch and the run's totals so far (training time, samples/s over the run), in one
        transaction."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "INSERT OR REPLACE INTO epochs (run_id, epoch, train_loss, train_accuracy, test_loss, "
                    "test_accuracy, seconds, samples_per_sec) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run_id,
                        int(epoch["epoch"]),
                        epoch.get("train_loss"),
                        epoch.get("train_accuracy"),
                        epoch.get("test_loss"),
                        epoch.get("test_accuracy"),
                        epoch.get("seconds"),
                        epoch.get("samples_per_sec"),
                    ),
                )
                db.execute(
                    "UPDATE runs SET updated = ?, epochs_done = epochs_done + 1, steps = ?, test_loss = ?, "
                    "test_accuracy = ?, train_seconds = ?, samples_per_sec = ?, loss_curve = ? WHERE id = ?",
                    (
                        time.time(),
                        int(steps),
                        epoch.get("test_loss"),
                        epoch.get("test_accuracy"),
                        float(train_seconds),
                        float(samples_per_sec),
                        json.dumps(loss_curve),
                        run_id,
                    ),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def end_run(self, run_id: int, status: str, message: str, steps: int, loss_curve: dict) -> None:
        if status not in ENDINGS:
            raise ValueError(f"a run ends {', '.join(ENDINGS)}; got {status!r}")
        now = time.time()
        self._write(
            "UPDATE runs SET status = ?, message = ?, ended = ?, updated = ?, steps = ?, loss_curve = ? WHERE id = ?",
            (status, message, now, now, int(steps), json.dumps(loss_curve), run_id),
        )

    def set_model(self, run_id: int, model_path: str | os.PathLike) -> None:
        """The model file this run's weights were saved to."""
        self._write(
            "UPDATE runs SET model_path = ?, updated = ? WHERE id = ?",
            (str(Path(model_path).resolve()), time.time(), run_id),
        )

    def delete(self, run_ids: Iterable[int]) -> int:
        """Delete runs (and their epochs); returns how many existed."""
        ids = [int(i) for i in run_ids]
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(f"DELETE FROM epochs WHERE run_id IN ({marks})", ids)
                n = db.execute(f"DELETE FROM runs WHERE id IN ({marks})", ids).rowcount
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return int(n)

    # -- reading -----------------------------------------------------------------------------------
    def version(self) -> tuple:
        """Changes whenever any process adds, updates or deletes a run (cheap; for polling)."""
        with self._lock:
            row = self._db.execute("SELECT count(*), coalesce(max(updated), 0), coalesce(sum(id), 0) FROM runs")
            return tuple(row.fetchone())

    def runs(self, with_epochs: bool = False) -> list[RunRecord]:
        """Every run, newest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM runs ORDER BY started DESC, id DESC").fetchall()
            records = [self._record(r) for r in rows]
            if with_epochs:
                for rec in records:
                    rec.epochs = self._epochs(rec.id)
        return records

    def get(self, run_id: int) -> RunRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM runs WHERE id = ?", (int(run_id),)).fetchone()
            if row is None:
                return None
            rec = self._record(row)
            rec.epochs = self._epochs(rec.id)
        return rec

    def _epochs(self, run_id: int) -> list[dict]:
        rows = self._db.execute(
            "SELECT epoch, train_loss, train_accuracy, test_loss, test_accuracy, seconds, samples_per_sec "
            "FROM epochs WHERE run_id = ? ORDER BY epoch",
            (run_id,),
        ).fetchall()
        return [dict(r) for r in rows]

    @staticmethod
    def _record(row: sqlite3.Row) -> RunRecord:
        status = row["status"]
        if status == "running" and not _alive(row["pid"], row["host"]):
            status = "interrupted"  # the process died (killed, crashed) before the run ended
        return RunRecord(
            id=row["id"],
            started=row["started"],
            ended=row["ended"],
            updated=row["updated"],
            source=row["source"],
            dataset=row["dataset"],
            architecture=_json(row["architecture"], []),
            hyperparameters=_json(row["hyperparameters"], {}),
            status=status,
            message=row["message"] or "",
            epochs_done=row["epochs_done"],
            steps=row["steps"],
            batches_per_epoch=row["batches_per_epoch"],
            first_epoch=row["first_epoch"],
            test_loss=row["test_loss"],
            test_accuracy=row["test_accuracy"],
            train_seconds=row["train_seconds"],
            samples_per_sec=row["samples_per_sec"],
            loss_curve=_json(row["loss_curve"], {}),
            model_path=row["model_path"],
        )


def _json(text, default):
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return default
    return value if isinstance(value, type(default)) else default


def _alive(pid, host) -> bool:
    if pid is None or host != socket.gethostname():
        return True  # another machine's run (a shared folder): cannot tell, trust it
    if int(pid) == os.getpid():
        return True
    try:
        return psutil.pid_exists(int(pid)) and psutil.Process(int(pid)).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
