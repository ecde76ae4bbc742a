"""Passwords: scrypt (standard library; N=2^15, r=8, p=1, 16-byte salt), compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from functools import cache

from dojo.store.tables import StoreError

_SCRYPT = {"n": 2**15, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, maxmem=64 * 1024 * 1024, dklen=32, **_SCRYPT)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, n, r, p, salt, digest = stored.split("$")
    got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                         maxmem=64 * 1024 * 1024, dklen=32)
    return hmac.compare_digest(got, base64.b64decode(digest))


def check_password_strength(password: str) -> None:
    if len(password) < 10:
        raise StoreError("the password is too short: use at least 10 characters")


@cache
def _dummy_hash() -> str:
    return hash_password(os.urandom(8).hex())
