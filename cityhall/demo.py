"""`cityhall demo`: migrate, seed, then run app, worker, clock and the LINE emulator together."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time

import click

DEMO_SECRET = "demo-channel-secret"
DEMO_TOKEN = "demo-access-token"


def demo_environment(port: int, emulator_port: int) -> dict[str, str]:
    """Point the app at the emulator, with demo credentials, unless the caller set them."""
    env = dict(os.environ)
    emulator = f"http://127.0.0.1:{emulator_port}"
    env.setdefault("LINE_CHANNEL_SECRET", DEMO_SECRET)
    env.setdefault("LINE_CHANNEL_ACCESS_TOKEN", DEMO_TOKEN)
    env.setdefault("LINE_API_BASE_URL", emulator)
    env.setdefault("LINE_DATA_API_BASE_URL", emulator)
    env.setdefault("SESSION_COOKIE_SECURE", "0")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def run_demo(port: int, emulator_port: int) -> int:
    """Start every process, print the URLs, and stop them all on Ctrl-C."""
    env = demo_environment(port, emulator_port)
    cityhall = [sys.executable, "-m", "cityhall"]
    for step in (["db", "upgrade"], ["seed"]):
        subprocess.run(cityhall + step, env=env, check=True)
    # A fresh password each run, for the demo only; it is printed in the banner below.
    admin_password = secrets.token_urlsafe(12)
    created = subprocess.run(cityhall + ["create-staff", "admin", "--role", "admin", "--reset"],
                             input=admin_password + "\n", text=True, env=env, check=True,
                             capture_output=True)
    totp_secret = created.stdout.strip().splitlines()[-1].removeprefix("totp-secret: ")
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
    time.sleep(1.5)
    click.echo(f"""
Smartphone City Hall demo is running:
  LINE chat (emulator):  http://127.0.0.1:{emulator_port}/chat
  Staff web:             http://127.0.0.1:{port}/staff/  (user admin, password {admin_password})
  Admin's 2FA secret:    {totp_secret}  (add it to an authenticator app for the 6-digit code)
  Health:                http://127.0.0.1:{port}/healthz
Press Ctrl-C to stop everything.
""")
    try:
        while all(p.poll() is None for p in processes.values()):
            time.sleep(0.5)
        dead = [name for name, p in processes.items() if p.poll() is not None]
        click.echo(f"stopped because {', '.join(dead)} exited", err=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for p in processes.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in processes.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
