"""Request bodies that are not JSON a client could mean: 400 with a clear message, never a 500.

Litestar hands the body to msgspec, which raises ``UnicodeDecodeError`` on bytes that are not
UTF-8 (``\\xff\\xfe`` or an encoded surrogate inside a string) and ``RecursionError`` on deep nesting
(an object nested 5,000 deep); and it says "Input data was truncated" for a lone ``\\ud800`` escape
at the end of a string. ``JsonRequest.json`` turns each into a 400 that says what is wrong.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request
from litestar.exceptions import ClientException, SerializationException

_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LOW = re.compile(rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def lone_surrogate_at(body: bytes) -> int | None:
    """The byte offset of the first ``\\uD800``-``\\uDFFF`` escape that is not a proper high+low pair."""
    skip_to = -1
    for match in _SURROGATE.finditer(body):
        if match.start() < skip_to:
            continue
        is_high = match.group()[3:4].lower() in b"89ab"
        if is_high and _LOW.match(body, match.end()):
            skip_to = match.end() + 6
            continue
        return match.start()
    return None


def malformed(body: bytes, exc: Exception) -> ClientException:
    """The 400 for a body msgspec could not read."""
    if isinstance(exc, UnicodeDecodeError):
        message = (
            "The body is not valid UTF-8: JSON text must be UTF-8, and an encoded UTF-16 surrogate is not a character."
        )
    elif isinstance(exc, RecursionError):
        message = "JSON is nested too deeply: keep objects and arrays to a few levels."
    elif (offset := lone_surrogate_at(body)) is not None:
        message = f"JSON is malformed: a lone UTF-16 surrogate escape at byte {offset} is not a character."
    else:
        message = str(exc)
    return ClientException(message)


class JsonRequest(Request[Any, Any, Any]):
    """The app's request class: ``json()`` answers 400 for every undecodable body."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except (UnicodeDecodeError, RecursionError, SerializationException) as exc:
            raise malformed(await self.body(), exc) from None
