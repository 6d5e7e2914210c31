"""The CRM's HTTP API: a real server on 127.0.0.1, with deterministic, configurable faults.

Endpoints (JSON):

* ``GET /v1/contacts?updated_since=<ISO 8601>&limit=<n>&cursor=<opaque>``: contacts ordered by
  ``(updated_at, contact_id)``, those with ``updated_at >= updated_since`` (inclusive), at most
  ``limit`` per page (default 100, at most 1000). The body is ``{"data": [...],
  "next_cursor": "..." | null}``; pass ``next_cursor`` back as ``cursor`` (keep the other
  parameters) for the next page. The cursor is keyset-based, so a contact changed while a
  client pages is seen again at the end rather than skipped.
* ``GET /v1/health``: ``{"status": "ok", "day_number": n}`` (no token needed, never faulty).

Every ``/v1/contacts`` request needs ``Authorization: Bearer <token>`` (``CRM_API_TOKEN``,
demo default :data:`DEFAULT_TOKEN`), compared in constant time; otherwise 401. Any parameter
the server cannot serve (an unparseable or out-of-range ``updated_since``, a ``limit`` outside
1..1000, a cursor it did not issue) answers 400 with a message; an unexpected error answers 500
with a message. The connection is never dropped without an answer. The public demo token only
binds to a loopback address (:func:`check_bind`).

Faults: a request to ``/v1/contacts`` draws ``u`` from SHA-256 of the fault seed, the request
path and query, and how many times that exact URL has been asked before. If ``u <
fault_rate`` it answers, by another part of the same hash, 429 with ``Retry-After``, 500, 503
with ``Retry-After``, or is slow (``slow_seconds``, then a normal answer). The same client
behaviour therefore meets the same faults on every run. At most ``max_consecutive_faults``
faults in a row hit one URL, so a client that retries enough always gets through; a fault
rate of 0 turns faults off. ``outage_after`` simulates a permanent failure: after that many
successful data answers, every data request answers 503 until it is cleared.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from source_systems.crm.database import crm_db_path, format_stamp, parse_stamp

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "demo-crm-token-not-secret"
"""API token when ``CRM_API_TOKEN`` is unset: documented, not secret (like the PII salt)."""
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
BOOL_COLUMNS = frozenset({"marketing_consent"})
"""Columns SQLite stores as 0/1 that the API serves as JSON booleans."""
EPOCH = "1970-01-01T00:00:00Z"


def api_token() -> str:
    """The API token: ``CRM_API_TOKEN``, else the documented demo default."""
    return os.environ.get("CRM_API_TOKEN") or DEFAULT_TOKEN


@dataclass
class FaultSettings:
    """What faults the server injects (see the module docstring)."""

    fault_rate: float = 0.0
    seed: int | None = None
    retry_after_seconds: int = 1
    slow_seconds: float = 0.3
    max_consecutive_faults: int = 2
    outage_after: int | None = None

    def __post_init__(self) -> None:
        """Reject a fault rate outside [0, 1]."""
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, got {self.fault_rate}")


@dataclass
class RequestRecord:
    """One request the server answered (for tests and the demo's log)."""

    at: float
    path: str
    status: int
    records: int = 0
    fault: str | None = None


@dataclass
class ServerStats:
    """What the server has answered so far."""

    requests: list[RequestRecord] = field(default_factory=list)

    @property
    def records_served(self) -> int:
        """Contacts sent in successful answers."""
        return sum(r.records for r in self.requests)

    def count(self, status: int) -> int:
        """How many answers had ``status``."""
        return sum(1 for r in self.requests if r.status == status)


def check_bind(host: str, token: str) -> None:
    """Refuse to serve the public demo token on anything but a loopback address.

    The demo token is documented, so a server reachable from other machines with it would
    hand the contacts (personal data) to anyone. Raises :class:`ValueError` with what to do.
    """
    if not hmac.compare_digest(token.encode(), DEFAULT_TOKEN.encode()):
        return
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"refusing to bind the CRM server to {host!r} with the public demo token: "
            "set CRM_API_TOKEN to a secret token, or bind to 127.0.0.1"
        )


def _encode_cursor(updated_at: str, contact_id: int) -> str:
    raw = json.dumps([updated_at, contact_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_SQLITE_MAX_INT = 2**63 - 1


def _parse_since(text: str) -> str:
    """``updated_since`` in the store's form, or :class:`_BadRequestError` saying why not."""
    try:
        return format_stamp(parse_stamp(text))
    except (ValueError, OverflowError) as exc:
        raise _BadRequestError(
            f"updated_since {text!r} is not an ISO 8601 time this API can serve "
            f"(years 0001-9999 in UTC): {exc}"
        ) from exc


def _parse_limit(text: str) -> int:
    try:
        limit = int(text)
    except ValueError as exc:
        raise _BadRequestError(f"limit {text[:40]!r} is not an integer") from exc
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise _BadRequestError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {text[:40]}")
    return limit


def _decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated_at, contact_id = json.loads(raw)
        stamp = format_stamp(parse_stamp(str(updated_at)))
        key = int(contact_id)
    except (ValueError, TypeError, OverflowError) as exc:
        raise _BadRequestError(
            "cursor is not one this API issued: send back next_cursor unchanged"
        ) from exc
    if not -_SQLITE_MAX_INT <= key <= _SQLITE_MAX_INT:
        raise _BadRequestError("cursor is not one this API issued: send back next_cursor unchanged")
    return stamp, key


class _BadRequestError(ValueError):
    pass


class CrmServer(ThreadingHTTPServer):
    """The CRM API over one CRM store; start it with :func:`running_crm`."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        db_path: Path,
        token: str,
        faults: FaultSettings,
    ) -> None:
        """Bind to ``address`` (port 0: a free port) and serve ``db_path``."""
        super().__init__(address, _Handler)
        self.db_path = db_path
        self.token = token
        self.faults = faults
        if faults.seed is None:
            faults.seed = self._store_seed()
        self.stats = ServerStats()
        self._lock = threading.Lock()
        self._asked: dict[str, int] = {}
        self._in_a_row: dict[str, int] = {}
        self._ok_answers = 0

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a client that went away quietly (keep-alive sockets closed by the client)."""
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: where the API answers."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)

    def _store_seed(self) -> int:
        with contextlib.closing(self._connect()) as conn:
            return int(conn.execute("select seed from crm_state").fetchone()[0])

    def day_number(self) -> int:
        """The CRM's current simulated day."""
        with contextlib.closing(self._connect()) as conn:
            return int(conn.execute("select day_number from crm_state").fetchone()[0])

    def draw_fault(self, url: str) -> str | None:
        """The fault for this request to ``url`` (``None``: answer normally)."""
        f = self.faults
        with self._lock:
            if f.outage_after is not None and self._ok_answers >= f.outage_after:
                return "outage"
            attempt = self._asked.get(url, 0)
            self._asked[url] = attempt + 1
            if f.fault_rate <= 0 or self._in_a_row.get(url, 0) >= f.max_consecutive_faults:
                self._in_a_row[url] = 0
                return None
            digest = hashlib.sha256(f"{f.seed}:{url}:{attempt}".encode()).digest()
            if int.from_bytes(digest[:4]) / 2**32 >= f.fault_rate:
                self._in_a_row[url] = 0
                return None
            kind = ("429", "500", "503", "slow")[digest[4] % 4]
            self._in_a_row[url] = 0 if kind == "slow" else self._in_a_row.get(url, 0) + 1
            return kind

    def record(self, entry: RequestRecord) -> None:
        """Keep ``entry`` in the stats (and count successful data answers)."""
        with self._lock:
            self.stats.requests.append(entry)
            if entry.status == 200 and entry.path.startswith("/v1/contacts"):
                self._ok_answers += 1

    def contacts_page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """One page of ``/v1/contacts`` for the parsed query string."""
        since = _parse_since(query.get("updated_since", [EPOCH])[0])
        limit = _parse_limit(query.get("limit", [str(DEFAULT_PAGE_SIZE)])[0])
        after = _decode_cursor(query["cursor"][0]) if "cursor" in query else ("", 0)
        with contextlib.closing(self._connect()) as conn:
            cur = conn.execute(
                "select * from contacts where updated_at >= ? "
                "and (updated_at > ? or (updated_at = ? and contact_id > ?)) "
                "order by updated_at, contact_id limit ?",
                (since, after[0], after[0], after[1], limit + 1),
            )
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        data = []
        for row in rows[:limit]:
            record = dict(zip(names, row, strict=True))
            for name in BOOL_COLUMNS & record.keys():
                if record[name] in (0, 1):
                    record[name] = bool(record[name])
            data.append(record)
        next_cursor = None
        if len(rows) > limit:
            last = data[-1]
            next_cursor = _encode_cursor(last["updated_at"], last["contact_id"])
        return {"data": data, "next_cursor": next_cursor}


class _Handler(BaseHTTPRequestHandler):
    server: CrmServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _send(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        try:
            self._answer()
        except Exception as exc:  # never drop the connection without an answer
            log.exception("CRM API: unexpected error for %s", self.path)
            try:
                self._send(500, {"error": f"internal error: {type(exc).__name__}"})
            except OSError:
                return
            self.server.record(RequestRecord(time.monotonic(), self.path, 500))

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "").encode()
        return hmac.compare_digest(given, f"Bearer {self.server.token}".encode())

    def _answer(self) -> None:
        parts = urlsplit(self.path)
        started = time.monotonic()
        if parts.path == "/v1/health":
            self._send(200, {"status": "ok", "day_number": self.server.day_number()})
            return
        if parts.path != "/v1/contacts":
            self._send(404, {"error": f"no such endpoint: {parts.path}"})
            self.server.record(RequestRecord(started, self.path, 404))
            return
        if not self._authorised():
            self._send(401, {"error": "missing or wrong API token"}, {"WWW-Authenticate": "Bearer"})
            self.server.record(RequestRecord(started, self.path, 401))
            return
        fault = self.server.draw_fault(self.path)
        retry_after = {"Retry-After": str(self.server.faults.retry_after_seconds)}
        if fault in ("429", "500", "503", "outage"):
            status = 503 if fault == "outage" else int(str(fault))
            headers = retry_after if fault in ("429", "503") else {}
            self._send(status, {"error": HTTPStatus(status).phrase}, headers)
            self.server.record(RequestRecord(started, self.path, status, fault=fault))
            return
        if fault == "slow":
            time.sleep(self.server.faults.slow_seconds)
        try:
            page = self.server.contacts_page(parse_qs(parts.query))
        except _BadRequestError as exc:
            self._send(400, {"error": str(exc)})
            self.server.record(RequestRecord(started, self.path, 400))
            return
        self._send(200, page)
        self.server.record(RequestRecord(started, self.path, 200, len(page["data"]), fault))


@contextlib.contextmanager
def running_crm(
    db_path: str | Path | None = None,
    *,
    token: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: FaultSettings | None = None,
) -> Iterator[CrmServer]:
    """Serve the CRM store in a background thread; yield the server (``.base_url``).

    Port 0 (the default) picks a free port. The server stops when the block ends. The public
    demo token binds to loopback only (:func:`check_bind` raises :class:`ValueError`).
    """
    token = token or api_token()
    check_bind(host, token)
    path = crm_db_path(db_path)
    if not path.exists():
        raise FileNotFoundError(f"no CRM store at {path}: run `world init` first")
    server = CrmServer((host, port), path, token, faults or FaultSettings())
    thread = threading.Thread(target=server.serve_forever, name="crm-server", daemon=True)
    thread.start()
    log.info("CRM API at %s (fault rate %g)", server.base_url, server.faults.fault_rate)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
