"""Configuration read from the environment, with no side effects at import."""

from __future__ import annotations

import os
from pathlib import Path

from cityhall.languages import LanguageConfigError, parse_languages

INSTANCE_DIR = Path(os.environ.get("CITYHALL_INSTANCE_DIR", Path.cwd() / "instance"))

# Values published in this repository's history or docs: a key equal to one of them is no key.
PUBLIC_KEYS = frozenset({"dev-only-secret-change-me", "change-me", "changeme", "secret",
                         "test-secret", "demo-secret"})
MIN_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """The configuration cannot run a production process; the message names every problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("refusing to start: " + "; ".join(problems))
        self.problems = problems


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
        self.SECRET_KEY = env.get("SECRET_KEY", "")
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
        # The features to load, in order (see cityhall.features and docs/architecture.md).
        from cityhall.features import parse_list

        self.CITYHALL_FEATURES = parse_list(env.get("CITYHALL_FEATURES"))
        self.BABEL_DEFAULT_LOCALE = "ja"
        # The languages residents may read, in the order the choice shows them (cityhall.languages).
        self.RESIDENT_LANGUAGES = env.get("RESIDENT_LANGUAGES", "")
        self.BABEL_DEFAULT_TIMEZONE = self.CITYHALL_TIMEZONE
        self.OUTBOX_BATCH_SIZE = int(env.get("OUTBOX_BATCH_SIZE", "200"))
        self.OUTBOX_MAX_ATTEMPTS = int(env.get("OUTBOX_MAX_ATTEMPTS", "12"))
        self.OUTBOX_POLL_SECONDS = float(env.get("OUTBOX_POLL_SECONDS", "1"))
        # How often a clock waiting for the one-clock lock tries again (cityhall/clock.py).
        self.CLOCK_LOCK_POLL_SECONDS = float(env.get("CLOCK_LOCK_POLL_SECONDS", "5"))
        # Concurrent LINE calls per worker, and the pace it keeps per endpoint (LINE allows
        # about 2,000 push and 200 multicast requests a second per channel).
        self.OUTBOX_CONCURRENCY = int(env.get("OUTBOX_CONCURRENCY", "16"))
        self.OUTBOX_PUSH_RATE = float(env.get("OUTBOX_PUSH_RATE", "2000"))
        self.OUTBOX_MULTICAST_RATE = float(env.get("OUTBOX_MULTICAST_RATE", "200"))
        self.WEBHOOK_EVENT_RETENTION_DAYS = int(env.get("WEBHOOK_EVENT_RETENTION_DAYS", "14"))
        self.WEBHOOK_MAX_BODY_BYTES = int(env.get("WEBHOOK_MAX_BODY_BYTES", str(1024 * 1024)))
        # Events are recorded, acknowledged, then processed by a pool of this many lanes
        # (one thread each, the events of one sender in order) per web process, each lane
        # holding at most WEBHOOK_POOL_DEPTH waiting events (docs/performance.md).
        self.WEBHOOK_POOL_THREADS = int(env.get("WEBHOOK_POOL_THREADS", "4"))
        self.WEBHOOK_POOL_DEPTH = int(env.get("WEBHOOK_POOL_DEPTH", "200"))
        # Events queued up on one lane share a transaction (a savepoint each), up to this many.
        self.WEBHOOK_POOL_BATCH = int(env.get("WEBHOOK_POOL_BATCH", "8"))
        # "1" (the default): each event is processed in one transaction on the request thread
        # before the 200; "0": recorded, acknowledged, then processed by the pool above
        # (measured slower end to end: docs/performance.md).
        self.WEBHOOK_PROCESS_INLINE = env.get("WEBHOOK_PROCESS_INLINE", "1") == "1"
        # A recorded event still pending this long is taken over by the worker's sweep.
        self.WEBHOOK_RECOVER_AFTER_SECONDS = float(env.get("WEBHOOK_RECOVER_AFTER_SECONDS", "60"))
        # Finished outbox rows keep recipients and messages this long (docs/decisions.md).
        self.OUTBOX_RETENTION_DAYS = int(env.get("OUTBOX_RETENTION_DAYS", "30"))
        # Keys the anonymous survey's ballots; empty: HMAC-derived from SECRET_KEY.
        self.SURVEY_BALLOT_KEY = env.get("SURVEY_BALLOT_KEY", "")
        # How long a waitlist offer of event places stays open (never past the booking close).
        self.EVENTS_OFFER_HOURS = float(env.get("EVENTS_OFFER_HOURS", "12"))
        # Signs the QR codes on posters and kiosks; never derived from SECRET_KEY.
        self.CHECKIN_TOKEN_KEY = env.get("CHECKIN_TOKEN_KEY", "")
        # The Japanese .ttf embedded in QR posters; empty: Debian's IPA Gothic, then fontconfig.
        self.CITYHALL_POSTER_FONT = env.get("CITYHALL_POSTER_FONT", "")
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted.
        self.CITYHALL_PROXY_HOPS = env.get("CITYHALL_PROXY_HOPS", "0")
        self.FORM_EXPIRY_MINUTES = int(env.get("FORM_EXPIRY_MINUTES", "1440"))  # unfinished forms
        self.SESSION_COOKIE_SECURE = env.get("SESSION_COOKIE_SECURE", "1") != "0"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        for key, value in overrides.items():
            setattr(self, key, value)

    def problems(self) -> list[str]:
        """Say what keeps this configuration from running a production process."""
        found = [f"{name} is not set"
                 for name in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN")
                 if not str(getattr(self, name, "") or "").strip()]
        found += key_problems("SECRET_KEY", self.SECRET_KEY)
        found += key_problems("CHECKIN_TOKEN_KEY", self.CHECKIN_TOKEN_KEY)
        if self.CHECKIN_TOKEN_KEY and self.CHECKIN_TOKEN_KEY == self.SECRET_KEY:
            found.append("CHECKIN_TOKEN_KEY must differ from SECRET_KEY")
        try:
            parse_languages(self.RESIDENT_LANGUAGES)
        except LanguageConfigError as err:
            found.append(str(err))
        if proxy_hops(self.CITYHALL_PROXY_HOPS) is None:
            found.append("CITYHALL_PROXY_HOPS must be a whole number from 0 to 5")
        return found


def key_problems(name: str, value: str | None) -> list[str]:
    """Say why a signing key is unusable: missing, public, or too short to resist guessing."""
    if not value:
        return [f"{name} is not set"]
    if value in PUBLIC_KEYS:
        return [f"{name} is a published development value"]
    if len(value) < MIN_KEY_LENGTH or len(set(value)) < 8:
        return [f"{name} is too weak (use at least {MIN_KEY_LENGTH} random characters)"]
    return []


def proxy_hops(value: object) -> int | None:
    """Read CITYHALL_PROXY_HOPS; None when it is not a small whole number."""
    try:
        hops = int(str(value).strip())
    except ValueError:
        return None
    return hops if 0 <= hops <= 5 else None


def require_production_settings(config: Config) -> None:
    """Refuse a configuration that would run with missing, public or weak secrets."""
    found = config.problems()
    if found:
        raise ConfigError(found)


# argon2id (time cost, memory in KiB, parallelism) for tests only: the cheapest argon2 allows,
# so signing in costs microseconds rather than the production ~50 ms of CPU. Production
# never sets PASSWORD_HASH_PARAMETERS and keeps argon2-cffi's defaults (staff/passwords.py).
TEST_PASSWORD_HASH_PARAMETERS = (1, 8, 1)


class TestingConfig(Config):
    """Settings for tests: a given database and the emulator's URL; fixed, public secrets."""

    TESTING = True

    def __init__(self, **overrides: object) -> None:
        defaults: dict[str, object] = {
            "SECRET_KEY": "test-secret",
            "LINE_CHANNEL_SECRET": "test-channel-secret",
            "LINE_CHANNEL_ACCESS_TOKEN": "test-access-token",
            "CHECKIN_TOKEN_KEY": "test-checkin-token-key",
            "CITYHALL_PROXY_HOPS": "0",
            "LINE_CONNECT_TIMEOUT": 1.0,
            "LINE_READ_TIMEOUT": 2.0,
            "SESSION_COOKIE_SECURE": False,
            "WTF_CSRF_ENABLED": True,
            "PASSWORD_HASH_PARAMETERS": TEST_PASSWORD_HASH_PARAMETERS,
            # Replies before the 200, so a test reads them right after posting; the pool
            # path is covered by tests/test_webhook_async.py.
            "WEBHOOK_PROCESS_INLINE": True,
        }
        defaults.update(overrides)
        super().__init__(**defaults)
        self.DATABASE_URL = normalize_database_url(str(self.DATABASE_URL))
