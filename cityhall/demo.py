"""`cityhall demo`: migrate, seed, load the synthetic demo data, then run app, worker, clock and
the LINE emulator together."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import requests

from cityhall.config import INSTANCE_DIR

# Made once per checkout and kept under instance/, so sessions and printed demo posters
# survive a restart; never committed, never shared with another installation.
DEMO_SECRETS_FILE = "demo-secrets.json"
DEMO_CENTER_STAFF = "central-staff"
DEMO_SECRET_NAMES = ("SECRET_KEY", "CHECKIN_TOKEN_KEY", "LINE_CHANNEL_SECRET",
                     "LINE_CHANNEL_ACCESS_TOKEN")


def demo_secrets(instance_dir: Path = INSTANCE_DIR) -> dict[str, str]:
    """Return this checkout's demo secrets, generating them (owner-only file) the first time."""
    path = instance_dir / DEMO_SECRETS_FILE
    stored = json.loads(path.read_text()) if path.exists() else {}
    missing = [name for name in DEMO_SECRET_NAMES if not stored.get(name)]
    if missing:
        stored.update({name: _new_secret(name) for name in missing})
        instance_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            json.dump(stored, out, indent=1)
    return {name: stored[name] for name in DEMO_SECRET_NAMES}


def _new_secret(name: str) -> str:
    # A LINE channel secret is 32 hex characters; the others are random URL-safe text.
    return secrets.token_hex(16) if name == "LINE_CHANNEL_SECRET" else secrets.token_urlsafe(48)


def demo_environment(port: int, emulator_port: int,
                     instance_dir: Path = INSTANCE_DIR) -> dict[str, str]:
    """Point the app at the emulator, with generated secrets, unless the caller set them."""
    env = dict(os.environ)
    emulator = f"http://127.0.0.1:{emulator_port}"
    for name, value in demo_secrets(instance_dir).items():
        env.setdefault(name, value)
    env.setdefault("LINE_API_BASE_URL", emulator)
    env.setdefault("LINE_DATA_API_BASE_URL", emulator)
    env.setdefault("SESSION_COOKIE_SECURE", "0")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def set_up_emulator(env: dict[str, str], emulator_url: str, wait: float = 20.0) -> None:
    """Once the emulator answers, install the rich menu and every center's poster to scan."""
    deadline = time.monotonic() + wait
    while True:
        try:
            requests.get(f"{emulator_url}/_emulator/scan-targets", timeout=1.0).raise_for_status()
            break
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    # Through the CLI, as an operator would: the core never imports a feature (checkin's command).
    cityhall = [sys.executable, "-m", "cityhall"]
    subprocess.run(cityhall + ["richmenu"], env=env, check=True)
    subprocess.run(cityhall + ["scan-targets", "--post", emulator_url], env=env, check=True)


def prepare_database(env: dict[str, str]) -> None:
    """Migrate, seed the demo city, and load the synthetic demo data into a fresh database."""
    cityhall = [sys.executable, "-m", "cityhall"]
    for step in (["db", "upgrade"], ["seed", "--demo"]):
        subprocess.run(cityhall + step, env=env, check=True)
    # Into a fresh database only: demo-data refuses one with registrations of its own, and a
    # database that has it already gets nothing twice (docs/demo-data.md).
    if subprocess.run(cityhall + ["demo-data"], env=env).returncode != 0:
        click.echo("the demo runs without demo data (see the reason above)", err=True)


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def run_demo(port: int, emulator_port: int) -> int:
    """Start every process, print the URLs, and stop them all on Ctrl-C."""
    env = demo_environment(port, emulator_port)
    cityhall = [sys.executable, "-m", "cityhall"]
    prepare_database(env)
    # A fresh password each run, for the demo only; it is printed in the banner below.
    admin_password = secrets.token_urlsafe(12)
    created = subprocess.run(cityhall + ["create-staff", "admin", "--role", "admin", "--reset"],
                             input=admin_password + "\n", text=True, env=env, check=True,
                             capture_output=True)
    totp_secret = created.stdout.strip().splitlines()[-1].removeprefix("totp-secret: ")
    # A center's own staff account too, to show the roster as the staff at the door see it.
    center_password = secrets.token_urlsafe(12)
    subprocess.run(cityhall + ["create-staff", DEMO_CENTER_STAFF, "--role", "center", "--center",
                               "central", "--name", "中央センター 職員", "--reset"],
                   input=center_password + "\n", text=True, env=env, check=True,
                   capture_output=True)
    passwords = {"admin": admin_password, DEMO_CENTER_STAFF: center_password}
    commands = {
        "emulator": [sys.executable, "-m", "emulator", "--port", str(emulator_port),
                     "--webhook-url", f"http://127.0.0.1:{port}/callback"],
        "web": [sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "gthread",
                "--threads", "8", "--bind", f"127.0.0.1:{port}", "cityhall:create_app()"],
        "worker": cityhall + ["worker"],
        "clock": cityhall + ["clock"],
    }
    processes = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}
    # A SIGTERM (not only Ctrl-C) stops the children too.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _serve(processes, env, port, emulator_port, passwords, totp_secret)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM, also while the emulator is being set up
        return 0
    finally:
        _stop(processes)


def _serve(processes: dict[str, subprocess.Popen], env: dict[str, str], port: int,
           emulator_port: int, passwords: dict[str, str], totp_secret: str) -> int:
    """Set up the emulator, print the banner and wait until a process exits or Ctrl-C."""
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    set_up_emulator(env, emulator_url)
    # Kiosk codes rotate: keep the scan menu's codes current while the demo runs.
    processes["scan-targets"] = subprocess.Popen(
        [sys.executable, "-m", "cityhall", "scan-targets", "--post", emulator_url, "--follow"],
        env=env, stdout=subprocess.DEVNULL)
    click.echo(f"""
Smartphone City Hall demo is running:
  LINE chat (emulator):  http://127.0.0.1:{emulator_port}/chat
  Staff web:             http://127.0.0.1:{port}/staff/  (user admin, password {passwords["admin"]})
  Admin's 2FA secret:    {totp_secret}  (add it to an authenticator app for the 6-digit code)
  Center staff:          user {DEMO_CENTER_STAFF}, password {passwords[DEMO_CENTER_STAFF]}
                         (the central center's own staff: its roster and applications)
  Health:                http://127.0.0.1:{port}/healthz
Centers are open around the clock in this demo (real hours apply outside it), so check-in
works whenever you try it: open the chat's scan menu and pick a center's poster, or the
west center's kiosk screen (its code rotates every two minutes; the menu keeps it current).
The families, visits and applications already there are synthetic demo data: invented
names, 090-0xxx-xxxx phone numbers, no real person (`cityhall demo-data`).
Press Ctrl-C to stop everything.
""")
    while all(p.poll() is None for p in processes.values()):
        time.sleep(0.5)
    dead = [name for name, p in processes.items() if p.poll() is not None]
    click.echo(f"stopped because {', '.join(dead)} exited", err=True)
    return 1


def _stop(processes: dict[str, subprocess.Popen]) -> None:
    """Stop every child, killing those that do not stop within 10 s."""
    for p in processes.values():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in processes.values():
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
