"""Webhook throughput and latency, end to end: our app against a bare echo bot, in one run.

Both run under gunicorn with the same settings and reply through the same emulator; N signed
text events are posted by C concurrent senders. Measured end to end, so that answering 200
before processing cannot flatter our figure:

- events/s: events divided by the time from the first POST until the emulator recorded the
  last reply;
- latency: per event, from just before its POST to the moment the emulator recorded its
  reply (matched by reply token); the echo bot replies before its 200, so the two compare;
- time to the 200 is printed on a line of its own.

The echo bot is the strong baseline: one shared ApiClient with keep-alive connections.
One command: `.venv/bin/python bench/webhook.py --database sqlite|postgresql|both
[--events 1000] [--concurrency 50]` (PostgreSQL: a throw-away database on
CITYHALL_BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test).
Not a test: the machine is shared; the load average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    POSTGRES_SERVER, backends, database_option, env_for, gunicorn, load, migrate, percentile,
    postgres_database, start_emulator, stop, text_body, wait_http)
from emulator.client import EmulatorClient  # noqa: E402

REPLY = "/v2/bot/message/reply"


def prepare(line: EmulatorClient, count: int, users: int) -> list[tuple[bytes, str, str]]:
    """Build signed bodies whose reply tokens the emulator will accept."""
    user_ids = [line.create_user(display_name=f"bench{i}")["userId"] for i in range(users)]
    bodies, tokens = [], {u: [] for u in user_ids}
    for i in range(count):
        user = user_ids[i % users]
        body, signature, token = text_body(user, "こんにちは")
        bodies.append((body, signature, token))
        tokens[user].append(token)
    for user, issued in tokens.items():
        line.issue_reply_tokens(user, issued)
    return bodies


def fire(url: str, bodies: list[tuple[bytes, str, str]], concurrency: int):
    """Post every body with `concurrency` senders (a keep-alive session each).

    Returns the wall-clock start, each token's POST start (epoch seconds, comparable with
    the emulator's clock on this machine) and the time to each 200 in ms.
    """
    local = threading.local()

    def post(item: tuple[bytes, str, str]) -> tuple[str, float, float]:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        sent = time.time()
        started = time.perf_counter()
        response = session.post(url + "/callback", data=item[0], timeout=60, headers={
            "Content-Type": "application/json", "X-Line-Signature": item[1]})
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"webhook answered {response.status_code}: {response.text[:200]}")
        return item[2], sent, elapsed * 1000

    begun = time.time()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(post, bodies))
    return begun, {token: sent for token, sent, _ in results}, [ack for _, _, ack in results]


def replies_for(line: EmulatorClient, tokens: set[str], timeout: float = 300) -> dict[str, float]:
    """Wait until the emulator recorded a reply for every token; return token -> time."""
    deadline = time.monotonic() + timeout
    while True:
        seen = {r["replyToken"]: r["at"] for r in line.requests(REPLY)
                if r["status"] == 200 and r.get("replyToken") in tokens}
        if len(seen) == len(tokens) or time.monotonic() > deadline:
            return seen
        time.sleep(0.2)


def run(name: str, spec: str, env: dict, line: EmulatorClient, args) -> dict:
    proc, url = gunicorn(spec, env, args.workers, args.threads)
    try:
        wait_http(url + "/", timeout=120)  # the app imports every feature: slow under load
        warm = prepare(line, 100, 10)
        fire(url, warm, args.concurrency)  # warm-up: imports, connections, residents
        replies_for(line, {b[2] for b in warm}, 60)
        bodies = prepare(line, args.events, args.users)
        spy = start_py_spy(proc, args.py_spy, name)
        before = load()
        cpu_before = cpu_seconds(proc.pid)
        begun, sent, acks = fire(url, bodies, args.concurrency)
        replied = replies_for(line, set(sent))
        cpu = cpu_seconds(proc.pid) - cpu_before
        after = load()
        if spy:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
            print_py_spy(spy.args[spy.args.index("-o") + 1], name, len(bodies))
    finally:
        stop(proc)
    latencies = [(replied[t] - sent[t]) * 1000 for t in sent if t in replied]
    return {"name": name, "events": len(bodies), "replies": len(replied),
            "rate": len(replied) / (max(replied.values()) - begun),
            "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
            "ack50": percentile(acks, 50), "ack99": percentile(acks, 99),
            "load": f"{before}..{after}", "cpu": cpu / len(bodies) * 1000}


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a gunicorn master's workers, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def start_py_spy(proc, folder: str | None, name: str):
    """Sample the gunicorn master and its workers with py-spy (on CPU only), if asked."""
    if not folder:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    out = str(Path(folder) / f"{name.replace(' ', '-')}-{int(time.time())}.txt")
    spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
                            str(proc.pid), "--subprocesses", "--rate", "250", "--format", "raw",
                            "--nonblocking", "-o", out], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # py-spy attaches to every worker before the first POST
    return spy


def print_py_spy(path: str, name: str, events: int, top: int = 28) -> None:
    """Print the functions with the most samples (inclusive), per event, from py-spy's raw output."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [f.split(" (")[0] + " " + f.rsplit("/", 1)[-1].rstrip(")")
                  for f in stack.split(";") if not f.startswith("process ")]
        for frame in set(frames):
            inclusive[frame] += n
        if frames:
            own[frames[-1]] += n
    print(f"py-spy {name}: {total} samples at 250/s on CPU = {total / 250 / events * 1000:.2f} "
          f"ms of CPU per event ({path})")
    for label, counter in (("inclusive", inclusive), ("own", own)):
        print(f"  top by {label} samples (ms per event):")
        for frame, n in counter.most_common(top):
            print(f"  {n / 250 / events * 1000:7.3f}  {frame}")


def bench(database: str, args) -> None:
    emulator, emulator_url = start_emulator()
    drop = None
    if database == "sqlite":
        database_url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-webhook-')}/bench.sqlite3"
    else:
        database_url, drop = postgres_database(POSTGRES_SERVER)
    try:
        migrate(database_url)
        line = EmulatorClient(emulator_url)
        env = dict(env_for(emulator_url, database_url),
                   WEBHOOK_POOL_THREADS=str(args.pool_threads))
        echo = run("echo bot", "bench.baseline_bot:create_app()", env, line, args)
        ours = run("cityhall", "cityhall:create_app()", env, line, args)
    finally:
        stop(emulator)
        if drop:
            drop()
    print(f"webhook {database}: cityhall {ours['rate']:.0f} events/s p50 {ours['p50']:.0f} ms "
          f"p99 {ours['p99']:.0f} ms | echo bot {echo['rate']:.0f} events/s p50 {echo['p50']:.0f}"
          f" ms p99 {echo['p99']:.0f} ms | ratio {ours['rate'] / echo['rate']:.2f}x events/s, "
          f"p99 {ours['p99'] / echo['p99']:.2f}x | load {ours['load']}", flush=True)
    print(f"  time to 200 {database}: cityhall p50 {ours['ack50']:.0f} ms p99 "
          f"{ours['ack99']:.0f} ms | echo bot p50 {echo['ack50']:.0f} ms p99 {echo['ack99']:.0f} "
          f"ms | replies {ours['replies']}/{ours['events']} and {echo['replies']}/{echo['events']}",
          flush=True)
    print(f"  CPU of the web workers per event {database}: cityhall {ours['cpu']:.2f} ms | "
          f"echo bot {echo['cpu']:.2f} ms (the database server's own CPU not included)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--pool-threads", type=int, default=4)
    parser.add_argument("--py-spy", metavar="FOLDER",
                        help="sample both apps with py-spy into FOLDER; print the top frames")
    database_option(parser)
    args = parser.parse_args()
    print(f"{args.events} events, {args.concurrency} concurrent senders, {args.users} senders' "
          f"users, gunicorn {args.workers} workers x {args.threads} threads, "
          f"{os.cpu_count()} CPUs", flush=True)
    for database in backends(args):
        bench(database, args)


if __name__ == "__main__":
    main()
