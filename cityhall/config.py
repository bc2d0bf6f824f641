"""Configuration read from the environment, with no side effects at import."""

from __future__ import annotations

import os
from pathlib import Path

INSTANCE_DIR = Path(os.environ.get("CITYHALL_INSTANCE_DIR", Path.cwd() / "instance"))


def normalize_database_url(url: str) -> str:
    """Make a plain ``postgresql://`` URL use psycopg 3 rather than psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    """Production and demo settings; every value can come from the environment."""

    TESTING = False

    def __init__(self, **overrides: object) -> None:
        env = os.environ
        self.SECRET_KEY = env.get("SECRET_KEY", "dev-only-secret-change-me")
        self.LINE_CHANNEL_SECRET = env.get("LINE_CHANNEL_SECRET", "")
        self.LINE_CHANNEL_ACCESS_TOKEN = env.get("LINE_CHANNEL_ACCESS_TOKEN", "")
        self.LINE_API_BASE_URL = env.get("LINE_API_BASE_URL", "https://api.line.me")
        self.LINE_DATA_API_BASE_URL = env.get("LINE_DATA_API_BASE_URL", "https://api-data.line.me")
        self.LINE_BOT_BASIC_ID = env.get("LINE_BOT_BASIC_ID", "@cityhall")
        self.LINE_CONNECT_TIMEOUT = float(env.get("LINE_CONNECT_TIMEOUT", "3"))
        self.LINE_READ_TIMEOUT = float(env.get("LINE_READ_TIMEOUT", "10"))
        # For the profile fetch and the reply, made while LINE waits for our 200.
        self.LINE_WEBHOOK_READ_TIMEOUT = float(env.get("LINE_WEBHOOK_READ_TIMEOUT", "1.2"))
        self.DATABASE_URL = normalize_database_url(
            env.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'cityhall.sqlite3'}")
        )
        self.CITYHALL_TIMEZONE = env.get("CITYHALL_TIMEZONE", "Asia/Tokyo")
        self.BABEL_DEFAULT_LOCALE = "ja"
        self.BABEL_DEFAULT_TIMEZONE = self.CITYHALL_TIMEZONE
        self.OUTBOX_BATCH_SIZE = int(env.get("OUTBOX_BATCH_SIZE", "50"))
        self.OUTBOX_MAX_ATTEMPTS = int(env.get("OUTBOX_MAX_ATTEMPTS", "12"))
        self.OUTBOX_POLL_SECONDS = float(env.get("OUTBOX_POLL_SECONDS", "1"))
        self.WEBHOOK_EVENT_RETENTION_DAYS = int(env.get("WEBHOOK_EVENT_RETENTION_DAYS", "14"))
        self.WEBHOOK_MAX_BODY_BYTES = int(env.get("WEBHOOK_MAX_BODY_BYTES", str(1024 * 1024)))
        self.CHECKIN_TOKEN_SECRET = env.get("CHECKIN_TOKEN_SECRET", "")  # empty: derived from SECRET_KEY
        self.FORM_EXPIRY_MINUTES = int(env.get("FORM_EXPIRY_MINUTES", "1440"))  # unfinished forms
        self.SESSION_COOKIE_SECURE = env.get("SESSION_COOKIE_SECURE", "1") != "0"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        for key, value in overrides.items():
            setattr(self, key, value)


class TestingConfig(Config):
    """Settings for tests: a given database and the emulator's URL."""

    TESTING = True

    def __init__(self, **overrides: object) -> None:
        defaults: dict[str, object] = {
            "SECRET_KEY": "test-secret",
            "LINE_CHANNEL_SECRET": "test-channel-secret",
            "LINE_CHANNEL_ACCESS_TOKEN": "test-access-token",
            "LINE_CONNECT_TIMEOUT": 1.0,
            "LINE_READ_TIMEOUT": 2.0,
            "SESSION_COOKIE_SECURE": False,
            "WTF_CSRF_ENABLED": True,
        }
        defaults.update(overrides)
        super().__init__(**defaults)
        self.DATABASE_URL = normalize_database_url(str(self.DATABASE_URL))
