"""Memory of each process after start-up: web (one gunicorn worker), worker, clock, emulator.

Starts each the way the Procfile does, on a fresh SQLite database, waits until it is up and
its resident set has not grown for two seconds, and prints VmRSS from /proc. The last line
is what importing pandas and Plotly costs a fresh interpreter: what the worker and the clock
carried before they stopped importing them. Linux only. Run by hand:
`.venv/bin/python bench/rss.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import env_for, gunicorn, migrate, start_emulator, stop, wait_http  # noqa: E402

SETTLE_SECONDS = 2.0
TIMEOUT = 60.0


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def settled_rss(pid: int) -> float:
    """Wait until the process's RSS stops growing for SETTLE_SECONDS; return it in MiB."""
    deadline = time.monotonic() + TIMEOUT
    last, since = rss_mib(pid), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = rss_mib(pid)
        if now > last + 0.1:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= SETTLE_SECONDS:
            return now
    return last


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def import_cost() -> tuple[float, float]:
    """RSS of a fresh interpreter before and after `import pandas, plotly` (MiB)."""
    code = ("import pathlib\n"
            "def rss():\n"
            "    for l in pathlib.Path('/proc/self/status').read_text().splitlines():\n"
            "        if l.startswith('VmRSS:'): return int(l.split()[1]) / 1024\n"
            "before = rss()\nimport pandas, plotly, plotly.graph_objects\n"
            "print(before, rss())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> int:
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{tmp}/cityhall.sqlite3"
        migrate(database_url)
        emulator, emulator_url = start_emulator()
        env = env_for(emulator_url, database_url)
        web, web_url = gunicorn("cityhall:create_app()", env, workers=1, threads=8)
        worker = subprocess.Popen([sys.executable, "-m", "cityhall", "worker"], env=env)
        clock = subprocess.Popen([sys.executable, "-m", "cityhall", "clock"], env=env)
        try:
            wait_http(web_url + "/healthz", timeout=TIMEOUT)
            web_worker = children(web.pid)[0]
            figures = {"web (one gunicorn worker)": settled_rss(web_worker),
                       "worker": settled_rss(worker.pid), "clock": settled_rss(clock.pid),
                       "emulator": settled_rss(emulator.pid)}
        finally:
            stop(web, worker, clock, emulator)
    for name, mib in figures.items():
        print(f"{name:28} {mib:7.1f} MiB RSS after start-up")
    before, after = import_cost()
    print(f"{'import pandas, plotly':28} {after - before:7.1f} MiB more in a fresh interpreter "
          f"({before:.1f} -> {after:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
