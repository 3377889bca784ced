"""What idempotent POSTs need besides the database: the key's format, the request's fingerprint,
and which part of an answer is kept and replayed (docs/api.md, "Idempotent requests")."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import msgspec

from app.lib.errors import FieldValidationError

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Printable ASCII; HTTP drops the spaces around a header value, so a key neither starts nor ends with one.
KEY_PATTERN = r"^[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?$"
_KEY = re.compile(KEY_PATTERN)
KEY_RULE = f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable ASCII characters."
# Kept with an answer and replayed as they were; the rest (Date, security headers, request id...)
# belongs to each response and is written again by the outer layers on a replay too.
KEPT_HEADERS = frozenset({"content-type", "location", "content-location", "etag", "link"})
# Answers a retry may change: a conflict with another request (409, 423), "too early" or "too many"
# (425, 429), a timeout (408). Like every 5xx they are not kept: the key is freed for the retry.
TRANSIENT_STATUSES = frozenset({408, 409, 423, 425, 429})


def parse_key(values: list[bytes]) -> str | None:
    """The request's key: None without the header, a 422 naming it when malformed or repeated.

    The IETF draft writes the key as a structured-field string (``"abc"``); its quotes are dropped,
    so ``"abc"`` and ``abc`` are one key."""
    if not values:
        return None
    if len(values) > 1:
        raise FieldValidationError(HEADER, f"Send one {HEADER} header, not {len(values)}.")
    try:
        key = values[0].decode("ascii").strip(" \t")
    except UnicodeDecodeError:
        raise FieldValidationError(HEADER, KEY_RULE) from None
    if len(key) > 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not _KEY.fullmatch(key):
        raise FieldValidationError(HEADER, KEY_RULE)
    return key


@dataclass(frozen=True)
class Fingerprint:
    """What a retry must repeat exactly to be answered from the stored response."""

    method: str
    target: str  # the path, and the (normalised) query after "?"
    digest: str  # SHA-256 over method, path, query and the canonical body


def canonical_body(body: bytes) -> bytes:
    """A JSON body re-encoded with sorted keys and no spaces (a client that rebuilds its body for a
    retry may order its keys differently); any other body as sent."""
    if not body:
        return b""
    try:
        return msgspec.json.encode(msgspec.json.decode(body), order="sorted")
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, OverflowError):
        return b"\x00raw\x00" + body  # never equal to a JSON encoding


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> Fingerprint:
    target = path + ("?" + query.decode("latin-1") if query else "")
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode("utf-8", "surrogateescape"), query, canonical_body(body)):
        digest.update(len(part).to_bytes(8, "big"))  # length-prefixed: no two splits hash alike
        digest.update(part)
    return Fingerprint(method, target, digest.hexdigest())


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def replay_headers(self) -> list[tuple[bytes, bytes]]:
        """The kept headers, the body's length, and the mark that this is a replay."""
        headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in self.headers]
        headers.append((b"content-length", str(len(self.body)).encode()))
        headers.append((REPLAYED_HEADER.lower().encode(), b"true"))
        return headers


def kept_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [
        (name.decode("latin-1").lower(), value.decode("latin-1"))
        for name, value in raw
        if name.decode("latin-1").lower() in KEPT_HEADERS
    ]


def is_kept(status: int) -> bool:
    """Whether an answer with this status is stored and replayed (else the key is freed)."""
    return status < 500 and status not in TRANSIENT_STATUSES
