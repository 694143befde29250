"""Changes told across processes, so that caches may answer without asking the database.

A transaction that changes a tenant marks it (`tenant_changed`: every entry appended to a tenant's log
does), one that changes tokens marks them (`tokens_changed`). When it commits:

- the watch of this process hears it at once (the session's `after_commit`), so a process reads its
  own writes;
- on PostgreSQL a `pg_notify` sent in the same transaction (delivered only if it commits) reaches the
  watch of every other process, which listens on a dedicated connection;
- on SQLite the watch of every other process notices on its next question: `PRAGMA data_version`
  changes whenever another connection commits.

A watch hands out *stamps*. A cache stores an entry with the stamp taken before it read the entry's
data, and serves it only while the stamp is the same: a change committed after that read moves the
stamp. A watch that is not listening (its connection lost, or a database it cannot watch) hands out no
stamp, and caches read the database instead; when it listens again every stamp moves, since it may
have missed changes meanwhile.
"""

from __future__ import annotations

import logging
import select
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from psycopg import Connection

from lisens.db.models import TenantRow

log = logging.getLogger("lisens.changes")

CHANNEL = "lisens_changes"
MAX_PAYLOAD = 7000  # bytes; PostgreSQL refuses a payload of 8,000 or more
EVERYTHING = "*"
TOKENS = "k"
# A listening connection that silently died (a network cut) is noticed within about 15 s.
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}
# session.info keys: what this transaction changed, and the watch of the process (from its factory).
PENDING = "lisens_changes_pending"
WATCH = "lisens_change_watch"
COMMITTED = "lisens_committed_versions"

# (everything, part): `everything` moves on every change a watch could not place; `part` on the
# changes of one tenant, or of tokens.
Stamp = tuple[int, int]


@dataclass
class Pending:
    tenants: set[int] = field(default_factory=set)
    tokens: bool = False
    versions: dict[int, int] = field(default_factory=dict)  # the tenants' new versions, where known

    def payload(self) -> str:
        """`k` for tokens, then `tenant:version` for each tenant (`tenant` where its version is unknown)."""
        parts = [TOKENS] if self.tokens else []
        for tenant in sorted(self.tenants):
            version = self.versions.get(tenant)
            parts.append(str(tenant) if version is None else f"{tenant}:{version}")
        text_ = ",".join(parts)
        return text_ if len(text_) <= MAX_PAYLOAD else EVERYTHING

    def settle(self, session: Session) -> None:
        """Read the changed tenants' new versions off the rows the session holds (as they will commit)."""
        for tenant_id in self.tenants:
            row = session.identity_map.get(session.identity_key(TenantRow, tenant_id))
            if isinstance(row, TenantRow):
                self.versions[tenant_id] = row.version


def tenant_changed(session: Session, tenant_id: int) -> None:
    """This transaction changes the tenant: caches of it are stale once it commits."""
    session.info.setdefault(PENDING, Pending()).tenants.add(tenant_id)


def tokens_changed(session: Session) -> None:
    """This transaction changes tokens (a revocation): cached principals are stale once it commits."""
    session.info.setdefault(PENDING, Pending()).tokens = True


@event.listens_for(Session, "before_commit")
def _tell_others(session: Session) -> None:
    pending: Pending | None = session.info.get(PENDING)
    if pending is None:
        return
    session.flush()  # the versions as they commit
    pending.settle(session)
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": pending.payload()})


@event.listens_for(Session, "after_commit")
def _tell_this_process(session: Session) -> None:
    pending: Pending | None = session.info.pop(PENDING, None)
    if pending is None:
        session.info.pop(COMMITTED, None)
        return
    session.info[COMMITTED] = dict(pending.versions)
    watch: ChangeWatch | None = session.info.get(WATCH)
    if watch is not None:
        watch.heard(pending.tenants, tokens=pending.tokens, versions=pending.versions)


def committed_versions(session: Session) -> dict[int, int]:
    """The versions of the tenants the session's last committed transaction changed, by tenant id."""
    found: dict[int, int] = session.info.get(COMMITTED, {})
    return found


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(PENDING, None)


class ChangeWatch:
    """Stamps for caches. This one is never listening (an in-memory database, a one-off command):
    it hands out no stamp, so nothing is served from a cache without asking the database."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._everything = 0
        self._tokens = 0
        self._tenants: dict[int, int] = {}
        self._latest: dict[int, int] = {}

    @property
    def listening(self) -> bool:
        return False

    def latest(self, tenant_id: int) -> int:
        """The newest version of the tenant this watch heard of (0: none): a read of the tenant older than
        that comes from a replica that has not replayed it yet."""
        return self._latest.get(tenant_id, 0)

    def tenant_stamp(self, tenant_id: int, *, looked: bool = False) -> Stamp | None:
        """The tenant's stamp. `looked`: the caller had a stamp from this watch while serving the same
        request, so what was committed before the request came in is known already: no second look."""
        if not (self.listening if looked else self._fresh()):
            return None
        return (self._everything, self._tenants.get(tenant_id, 0))

    def token_stamp(self) -> Stamp | None:
        if not self._fresh():
            return None
        return (self._everything, self._tokens)

    def heard(
        self,
        tenants: Iterable[int],
        *,
        tokens: bool = False,
        everything: bool = False,
        versions: Mapping[int, int] | None = None,
    ) -> None:
        """Changes committed: the stamps they touch move."""
        with self._lock:
            for tenant, version in (versions or {}).items():
                self._latest[tenant] = max(version, self._latest.get(tenant, 0))
            if everything:
                self._everything += 1
            if tokens:
                self._tokens += 1
            for tenant in tenants:
                self._tenants[tenant] = self._tenants.get(tenant, 0) + 1

    def heard_payload(self, payload: str) -> None:
        if payload == EVERYTHING:
            self.heard((), everything=True)
            return
        tenants: list[int] = []
        versions: dict[int, int] = {}
        tokens = unknown = False
        for part in payload.split(","):
            tenant, _, version = part.partition(":")
            if part == TOKENS:
                tokens = True
            elif tenant.isdigit() and (not version or version.isdigit()):
                tenants.append(int(tenant))
                if version:
                    versions[int(tenant)] = int(version)
            else:
                unknown = True
        self.heard(tenants, tokens=tokens, everything=unknown, versions=versions)

    def _fresh(self) -> bool:
        """Whether the stamps are up to date with every committed change (a watch may look first)."""
        return self.listening

    def close(self) -> None:
        """Stop listening."""


class SqliteWatch(ChangeWatch):
    """A SQLite file: `PRAGMA data_version` on a connection of its own tells whether another connection
    committed since the last look; if so, every stamp moves. Closed, it opens again when next asked
    (and every stamp moves, since it saw nothing meanwhile)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._seen = -1

    @property
    def listening(self) -> bool:
        return True

    def _fresh(self) -> bool:
        with self._lock:
            if self._connection is None:
                self._connection = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            version = int(self._connection.execute("PRAGMA data_version").fetchone()[0])
            if version != self._seen:
                self._seen = version
                self._everything += 1
        return True

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
            self._connection, self._seen = None, -1


class PostgresWatch(ChangeWatch):
    """PostgreSQL: a connection of its own listens on `lisens_changes`. A thread waits for notices and
    reads them as they come; before a stamp is handed out, whatever notices already reached the
    connection are read too, so a change committed before a request came in is known to it."""

    RETRY_S = 1.0

    def __init__(self, conninfo: str) -> None:
        super().__init__()
        self._conninfo = conninfo
        self._connection: Connection[tuple[object, ...]] | None = None
        self._drain_lock = threading.Lock()
        self._listening = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def start(self) -> None:
        """Begin listening (at the first stamp asked for: a process that never asks never connects)."""
        with self._lock:
            if self._thread is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._run, args=(self._stop,), name="lisens-change-watch", daemon=True
                )
                self._thread.start()

    def wait_listening(self, timeout: float) -> bool:
        self.start()
        return self._listening.wait(timeout)

    def _fresh(self) -> bool:
        if not self._listening.is_set():
            self.start()
            return False
        try:
            self._drain()
        except Exception:
            self._listening.clear()  # the thread notices too, and listens again
            return False
        return self._listening.is_set()

    def _drain(self) -> None:
        """Read the notices that reached the connection, without waiting for more."""
        with self._drain_lock:
            if self._connection is not None:
                for notice in self._connection.notifies(timeout=0):
                    self.heard_payload(notice.payload)

    def _run(self, stop: threading.Event) -> None:
        import psycopg  # only a server on PostgreSQL listens: one-off commands need not import it
        from psycopg.conninfo import make_conninfo

        while not stop.is_set():
            try:
                with psycopg.connect(make_conninfo(self._conninfo, **KEEPALIVE), autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    with self._drain_lock:
                        self._connection = connection
                    self.heard((), everything=True)  # what changed while nobody listened is unknown
                    self._listening.set()
                    while not stop.is_set():
                        ready, _, _ = select.select([connection.fileno()], [], [], 0.5)
                        if ready:
                            self._drain()
            except Exception:
                if not stop.is_set():
                    log.warning("change watch lost its connection; caches read the database", exc_info=True)
            finally:
                self._listening.clear()
                with self._drain_lock:
                    self._connection = None
            stop.wait(self.RETRY_S)

    def close(self) -> None:
        """Stop listening; asked for a stamp again, it listens again."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None:
            thread.join(timeout=2)


def watch_for(engine: Engine) -> ChangeWatch:
    """The watch for the database behind `engine`: listening on PostgreSQL and on a SQLite file."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        return PostgresWatch(url.set(drivername="postgresql").render_as_string(hide_password=False))
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        if url.database.startswith("file:"):
            return ChangeWatch()
        return SqliteWatch(url.database)
    return ChangeWatch()
