"""argon2id password hashes (argon2-cffi) and the password policy."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..base.errors import InvalidInput
from ..domain.policy import Policy


@functools.lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID)


def hasher(policy: Policy) -> PasswordHasher:
    """argon2id with the policy's cost (default OWASP's m=19 MiB, t=2, p=1: ~0.05 s here; argon2-cffi's
    own default, RFC 9106's 64 MiB × 4 lanes, took ~1 s per check on these shared 2 cores)."""
    return _hasher(policy.argon2_time_cost, policy.argon2_memory_kib, policy.argon2_parallelism)


def hash_password(policy: Policy, password: str) -> str:
    return hasher(policy).hash(password)


def check_password(policy: Policy, stored_hash: str, password: str) -> bool:
    """Parameters come from the stored hash itself, so old hashes still verify after a policy change."""
    try:
        return hasher(policy).verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(policy: Policy, stored_hash: str) -> bool:
    return hasher(policy).check_needs_rehash(stored_hash)


def check_policy(policy: Policy, password: str, *, login: str, name: str) -> None:
    """Refuse a new password the policy does not allow (length; not the login or the name)."""
    if len(password) < policy.min_length:
        raise InvalidInput(f"password too short: at least {policy.min_length} characters "
                       "(config.yaml identity.password.min_length)", field="password")
    if password.strip().lower() in {login.lower(), name.strip().lower()}:
        raise InvalidInput("password must not be the login or the name", field="password")
