"""argon2id password hashes (argon2-cffi) and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..errors import QmsError
from .policy import Policy

_HASHER = PasswordHasher()   # argon2id, RFC 9106 low-memory profile (t=3, m=64 MiB, p=4)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)


def check_policy(policy: Policy, password: str, *, login: str, name: str) -> None:
    """Refuse a new password the policy does not allow (length; not the login or the name)."""
    if len(password) < policy.min_length:
        raise QmsError(f"password too short: at least {policy.min_length} characters "
                       "(config.yaml identity.password.min_length)", field="password")
    if password.strip().lower() in {login.lower(), name.strip().lower()}:
        raise QmsError("password must not be the login or the name", field="password")
