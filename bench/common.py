"""Shared pieces of the benchmarks: start processes on loopback, wait for them, sign events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-channel-secret"
TOKEN = "bench-access-token"
# Every process outside TestingConfig refuses to start without these; fresh for each run.
# The PostgreSQL server on which each bench creates (and drops) its throw-away database.
POSTGRES_SERVER = os.environ.get("CITYHALL_BENCH_POSTGRES_URL",
                                 "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")
KEYS = {"LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "SECRET_KEY": secrets.token_urlsafe(48), "CHECKIN_TOKEN_KEY": secrets.token_urlsafe(48)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0) -> None:
    """Wait until a URL answers at all."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def env_for(emulator_url: str, database_url: str) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), DATABASE_URL=database_url,
                LINE_API_BASE_URL=emulator_url, LINE_DATA_API_BASE_URL=emulator_url, **KEYS)


def start_emulator(*extra: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "--port", str(port), "--quiet",
                             "--channel-secret", SECRET, "--access-token", TOKEN, *extra],
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/_emulator/users")
    return proc, url


def gunicorn(app_spec: str, env: dict[str, str], workers: int, threads: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", "gthread",
                             "--threads", str(threads), "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", app_spec], env=env, cwd=ROOT)
    return proc, f"http://127.0.0.1:{port}"


def migrate(database_url: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), DATABASE_URL=database_url, **KEYS)
    subprocess.run([sys.executable, "-m", "cityhall", "db", "upgrade"], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def text_body(user_id: str, text: str) -> tuple[bytes, str, str]:
    """Build a signed one-event webhook body; return (body, signature, reply token)."""
    token = uuid.uuid4().hex
    event = {"type": "message", "mode": "active", "timestamp": int(time.time() * 1000),
             "source": {"type": "user", "userId": user_id}, "replyToken": token,
             "webhookEventId": uuid.uuid4().hex[:26].upper(),
             "deliveryContext": {"isRedelivery": False},
             "message": {"id": str(uuid.uuid4().int)[:18], "type": "text", "text": text,
                         "quoteToken": uuid.uuid4().hex}}
    body = json.dumps({"destination": "U" + "0" * 32, "events": [event]}).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return body, signature, token


def stop(*procs: subprocess.Popen) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def load() -> str:
    """The 1-minute load average now, as `uptime` shows it."""
    return f"{os.getloadavg()[0]:.2f}"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def postgres_database(server_url: str):
    """Create a throw-away database; return its URL and a function that drops it."""
    from cityhall.config import normalize_database_url

    admin = sa.create_engine(normalize_database_url(server_url), isolation_level="AUTOCOMMIT")
    name = f"cityhall_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return admin.url.set(database=name).render_as_string(hide_password=False), drop


def database_option(parser) -> None:
    """Add `--database sqlite|postgresql|both` (default both) to a bench's arguments."""
    parser.add_argument("--database", choices=[*BACKENDS, "both"], default="both")


def backends(args) -> list[str]:
    """Return the databases `--database` names, in the order the benches run them."""
    return list(BACKENDS) if args.database == "both" else [args.database]


def drain_outbox(database_url: str, emulator_url: str, workers: int,
                 path: str) -> tuple[float, list[float]]:
    """Run `workers` `cityhall worker` processes until no outbox row is pending.

    Return when they started (wall clock, as the emulator's log) and the times the emulator
    accepted each request to `path` meanwhile: the worker records a lease's rows in one
    transaction, so the outbox's own `sent_at` cannot time single sends.
    """
    from cityhall.config import normalize_database_url
    from emulator.client import EmulatorClient

    engine = sa.create_engine(normalize_database_url(database_url))
    env = dict(env_for(emulator_url, database_url), OUTBOX_POLL_SECONDS="0.1")
    line = EmulatorClient(emulator_url)
    already = len(line.requests(path))
    started = time.time()
    procs = [subprocess.Popen([sys.executable, "-m", "cityhall", "worker"], env=env,
                              stderr=subprocess.DEVNULL) for _ in range(workers)]
    try:
        while True:
            with engine.connect() as conn:
                if not conn.scalar(sa.text(
                        "SELECT count(*) FROM outbox_messages WHERE status = 'pending'")):
                    break
            time.sleep(0.2)
    finally:
        stop(*procs)
        engine.dispose()
    return started, [r["at"] for r in line.requests(path)[already:] if r["status"] == 200]
