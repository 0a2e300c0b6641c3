"""Password hashing with argon2id (RFC 9106), and what a password must be.

A hash string carries its own parameters, so raising them later (``Hasher(time_cost=…)``) keeps
old hashes verifiable and ``needs_rehash`` tells which to upgrade at the next successful sign-in.
Passwords are never logged, stored or echoed: only their hashes leave this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 takes any length; this bounds the work one request can ask for


class WeakPassword(ValueError):
    """A password too short, too long, or equal to the username; the message says which."""


@dataclass(frozen=True)
class Hasher:
    """argon2id with these parameters; the defaults are RFC 9106's second recommended option."""

    time_cost: int = 3
    memory_cost: int = 65536  # KiB
    parallelism: int = 4
    _hasher: PasswordHasher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        hasher = PasswordHasher(
            time_cost=self.time_cost, memory_cost=self.memory_cost, parallelism=self.parallelism
        )
        object.__setattr__(self, "_hasher", hasher)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``. With no hash (an unknown user, or one
        without a local password) it hashes anyway and answers False, so the time taken does not
        tell which usernames exist."""
        if password_hash is None:
            self._hasher.hash(password)
            return False
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):  # a mismatch is a VerificationError
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether ``password_hash`` was made with other parameters than this hasher's."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True


def check_strength(password: str, username: str) -> None:
    """Raise ``WeakPassword`` unless ``password`` is ``MIN_LENGTH`` to ``MAX_LENGTH`` characters
    and differs from ``username``."""
    if len(password) < MIN_LENGTH:
        msg = f"a password has at least {MIN_LENGTH} characters, this one has {len(password)}"
        raise WeakPassword(msg)
    if len(password) > MAX_LENGTH:
        msg = f"a password has at most {MAX_LENGTH} characters"
        raise WeakPassword(msg)
    if password.strip().casefold() == username.casefold():
        msg = "the password must not be the username"
        raise WeakPassword(msg)
