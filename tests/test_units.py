"""Pure functions: signature check, body parsing, outbox batching, languages, back-off."""

from __future__ import annotations

import pytest

from bot.outbox import enqueue
from bot.webhook import parse_events, signature_is_valid
from bot.worker import MAX_BACKOFF_SECONDS, backoff
from cityhall.config import normalize_database_url
from cityhall.i18n import normalize_language
from tests.builders import sign


def test_signature_is_computed_over_raw_bytes():
    body = '{"events":[{"text":"こんにちは"}]}'.encode()
    assert signature_is_valid("secret", body, sign(body, "secret"))
    assert not signature_is_valid("secret", body, sign(body, "other"))
    assert not signature_is_valid("secret", body + b"\n", sign(body, "secret"))
    assert not signature_is_valid("secret", body, "ｓｉｇ")


@pytest.mark.parametrize("body, message", [
    (b"", "not JSON"),
    (b"null", "no 'events' list"),
    (b'{"events": [1]}', "not a JSON object"),
])
def test_parse_events_says_what_is_wrong(body, message):
    with pytest.raises(ValueError, match=message):
        parse_events(body)


def test_parse_events_returns_the_events():
    assert parse_events(b'{"events": [{"type": "follow"}]}') == [{"type": "follow"}]


class FakeSession:
    def __init__(self) -> None:
        self.added: list = []

    def add_all(self, rows) -> None:
        self.added.extend(rows)


def test_enqueue_splits_into_multicasts_of_500_and_drops_duplicates():
    session = FakeSession()
    users = [f"U{i:032d}" for i in range(1201)] + ["U" + "0" * 32]
    rows = enqueue(session, users, [{"type": "text", "text": "hi"}])
    assert [len(r.recipients) for r in rows] == [500, 500, 201]
    assert len({r.retry_key for r in rows}) == 3


@pytest.mark.parametrize("count", [0, 6])
def test_enqueue_refuses_message_counts_line_refuses(count):
    with pytest.raises(ValueError, match="1 to 5 messages"):
        enqueue(FakeSession(), ["U1"], [{"type": "text", "text": "x"}] * count)


@pytest.mark.parametrize("code, expected", [
    ("ja", "ja"), ("en", "en"), ("en-US", "en"), ("zh-Hant", "zh-Hant"), ("zh-TW", "zh-Hant"),
    ("zh-Hans", "zh-Hans"), ("zh-CN", "zh-Hans"), ("pt-BR", "pt-BR"), ("pt", "pt-BR"),
    ("vi", "vi"), ("ko-KR", "ko"), ("fil", "tl"), ("ne", "ne"), ("th", "ja"), ("ja-JP", "ja"),
    (None, "ja"), ("", "ja"),
])
def test_normalize_language(code, expected):
    assert normalize_language(code) == expected


def test_backoff_grows_and_is_capped():
    assert 1.5 <= backoff(1).total_seconds() <= 2.5
    assert backoff(20).total_seconds() <= MAX_BACKOFF_SECONDS * 1.2


@pytest.mark.parametrize("url, expected", [
    ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:///x.db", "sqlite:///x.db"),
])
def test_plain_postgres_urls_use_psycopg3(url, expected):
    assert normalize_database_url(url) == expected
