"""Password hashing (argon2id) and the strength check (zxcvbn, offline)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from flask_babel import gettext
from zxcvbn import zxcvbn

from staff.errors import N_, StaffError

MAX_LENGTH = 128

# argon2-cffi's defaults (RFC 9106's low-memory profile) in production.
_PRODUCTION = PasswordHasher()


@cache
def _hasher_with(parameters: tuple[int, int, int] | None) -> PasswordHasher:
    if parameters is None:
        return _PRODUCTION
    time_cost, memory_cost, parallelism = parameters
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def _hasher() -> PasswordHasher:
    """Return the app's hasher: PASSWORD_HASH_PARAMETERS (tests only) or the production one."""
    parameters = current_app.config.get("PASSWORD_HASH_PARAMETERS") if has_app_context() else None
    return _hasher_with(tuple(parameters) if parameters else None)


def hash_password(password: str, parameters: tuple[int, int, int] | None = None) -> str:
    """Hash a password with argon2id and a fresh salt.

    `parameters` (time cost, memory in KiB, parallelism) overrides the app's, for test
    builders working outside an app context.
    """
    hasher = _hasher_with(tuple(parameters)) if parameters else _hasher()
    return hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Check a password against its hash in constant time."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Tell whether the hash was made with other parameters than today's."""
    return _hasher().check_needs_rehash(password_hash)


def _dummy_hash() -> str:
    return _dummy_hash_with(_hasher())


@cache
def _dummy_hash_with(hasher: PasswordHasher) -> str:
    return hasher.hash("not-a-real-password")


def burn_verification_time(password: str) -> None:
    """Spend as long as a real check, so an unknown username is not revealed by timing."""
    verify_password(_dummy_hash(), password)


# What zxcvbn says is wrong, in our catalogue (its own messages are English only).
WEAK = N_("This password is too easy to guess. Use a longer phrase of uncommon words.")
WEAK_REASONS = {
    "Straight rows of keys are easy to guess.":
        N_("Straight rows of keys are easy to guess."),
    "Short keyboard patterns are easy to guess.":
        N_("Short keyboard patterns are easy to guess."),
    'Repeats like "aaa" are easy to guess.': N_('Repeats like "aaa" are easy to guess.'),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".':
        N_('Repeats like "abcabcabc" are only slightly harder to guess than "abc".'),
    'Sequences like "abc" or "6543" are easy to guess.':
        N_('Sequences like "abc" or "6543" are easy to guess.'),
    "Recent years are easy to guess.": N_("Recent years are easy to guess."),
    "Dates are often easy to guess.": N_("Dates are often easy to guess."),
    "This is a top-10 common password.": N_("This is a very common password."),
    "This is a top-100 common password.": N_("This is a very common password."),
    "This is a very common password.": N_("This is a very common password."),
    "This is similar to a commonly used password.":
        N_("This is similar to a commonly used password."),
    "A word by itself is easy to guess.": N_("A word by itself is easy to guess."),
    "Names and surnames by themselves are easy to guess.":
        N_("Names and surnames are easy to guess."),
    "Common names and surnames are easy to guess.": N_("Names and surnames are easy to guess."),
}
DEFAULT_MIN_SCORE = 3
# zxcvbn refuses longer input; a password that long is judged on its first 72 characters.
ZXCVBN_MAX = 72


class PasswordTooWeak(StaffError):
    """A password zxcvbn scores below the minimum, with its reason when there is one."""

    def __init__(self, reason: str | None) -> None:
        super().__init__(WEAK)
        self.reason = reason

    def __str__(self) -> str:
        return f"{WEAK} {self.reason}" if self.reason else WEAK

    def translated(self) -> str:
        text = gettext(WEAK)
        return f"{text} {gettext(self.reason)}" if self.reason else text


def check_strength(password: str, user_inputs: list[str], min_score: int) -> None:
    """Raise PasswordTooWeak when zxcvbn estimates the password below `min_score` (0-4)."""
    result = zxcvbn(password[:ZXCVBN_MAX], user_inputs=[i for i in user_inputs if i])
    if result["score"] < min_score:
        raise PasswordTooWeak(WEAK_REASONS.get(result["feedback"]["warning"]))
