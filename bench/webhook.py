"""Webhook throughput and latency: our app against a bare echo bot, in one run.

Both run under gunicorn with the same settings and reply through the same emulator; N signed
text events are posted by C concurrent senders. Prints events/s, p50/p99 latency and the ratio.
Run by hand: `.venv/bin/python bench/webhook.py [--events 3000] [--concurrency 50]
[--database sqlite|postgresql]`. Not a test: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    env_for, gunicorn, migrate, percentile, start_emulator, stop, text_body, wait_http,
)
from emulator.client import EmulatorClient  # noqa: E402


def prepare(line: EmulatorClient, count: int, users: int) -> list[tuple[bytes, str]]:
    """Build signed bodies whose reply tokens the emulator will accept."""
    user_ids = [line.create_user(display_name=f"bench{i}")["userId"] for i in range(users)]
    bodies, tokens = [], {u: [] for u in user_ids}
    for i in range(count):
        user = user_ids[i % users]
        body, signature, token = text_body(user, "こんにちは")
        bodies.append((body, signature))
        tokens[user].append(token)
    for user, issued in tokens.items():
        line.issue_reply_tokens(user, issued)
    return bodies


def fire(url: str, bodies: list[tuple[bytes, str]], concurrency: int) -> tuple[float, list[float]]:
    """Post every body with `concurrency` senders; return wall time and per-request latencies."""
    def post(item: tuple[bytes, str]) -> float:
        started = time.perf_counter()
        response = requests.post(url + "/callback", data=item[0], timeout=30, headers={
            "Content-Type": "application/json", "X-Line-Signature": item[1]})
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"webhook answered {response.status_code}: {response.text[:200]}")
        return elapsed * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(post, bodies))
    return time.perf_counter() - started, latencies


def run(name: str, spec: str, env: dict, line: EmulatorClient, args) -> dict:
    proc, url = gunicorn(spec, env, args.workers, args.threads)
    try:
        wait_http(url + "/")
        fire(url, prepare(line, 100, 10), args.concurrency)  # warm-up
        bodies = prepare(line, args.events, args.users)
        before = len([r for r in line.requests("/v2/bot/message/reply") if r["status"] == 200])
        wall, latencies = fire(url, bodies, args.concurrency)
        after = len([r for r in line.requests("/v2/bot/message/reply") if r["status"] == 200])
    finally:
        stop(proc)
    return {"name": name, "rate": len(bodies) / wall, "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99), "replies": after - before, "events": len(bodies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    emulator, emulator_url = start_emulator()
    workdir = tempfile.mkdtemp(prefix="bench-webhook-")
    database_url = (f"sqlite:///{workdir}/bench.sqlite3" if args.database == "sqlite" else
                    os.environ.get("CITYHALL_BENCH_POSTGRES_URL",
                                   "postgresql://postgres@127.0.0.1:5432/test"))
    try:
        migrate(database_url)
        line = EmulatorClient(emulator_url)
        env = env_for(emulator_url, database_url)
        results = [run("baseline echo bot", "bench.baseline_bot:create_app()", env, line, args),
                   run(f"cityhall ({args.database})", "cityhall:create_app()", env, line, args)]
    finally:
        stop(emulator)
    print(f"{args.events} events, {args.concurrency} concurrent senders, gunicorn "
          f"{args.workers} workers x {args.threads} threads, {os.cpu_count()} CPUs")
    for r in results:
        print(f"  {r['name']:<28} {r['rate']:7.1f} events/s   p50 {r['p50']:6.1f} ms   "
              f"p99 {r['p99']:6.1f} ms   replies {r['replies']}/{r['events']}")
    print(f"  ratio cityhall/baseline: {results[1]['rate'] / results[0]['rate']:.2f}x")


if __name__ == "__main__":
    main()
