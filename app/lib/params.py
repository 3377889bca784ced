"""Helpers for query parameters given as repeated keys or comma lists."""

from __future__ import annotations

from app.lib.errors import FieldValidationError


def comma_list(values: list[str] | None) -> set[str]:
    return {part.strip() for value in values or [] for part in value.split(",") if part.strip()}


def comma_list_pattern(values: list[str] | set[str] | tuple[str, ...]) -> str:
    """A regular expression for one value or a comma list of them (OpenAPI ``pattern``)."""
    one = "(" + "|".join(sorted(values)) + ")"
    return f"^{one}(,{one})*$"


def one_of_pattern(values: list[str] | set[str] | tuple[str, ...]) -> str:
    """One of ``values`` as the parsers take them: lower, Capitalized or UPPER case (OpenAPI
    ``pattern``; JSON Schema patterns have no case flag)."""
    return "^(" + "|".join(v for b in sorted(values) for v in dict.fromkeys((b, b.capitalize(), b.upper()))) + ")$"


# What ``parse_bool`` accepts, for the OpenAPI schema (JSON Schema patterns have no case flag).
BOOL_VALUES = ("1", "0", "true", "false", "yes", "no", "on", "off")
BOOL_PATTERN = "^(" + "|".join(v for b in BOOL_VALUES for v in (b, b.capitalize(), b.upper())) + ")$"


def parse_bool(field: str, raw: str | None) -> bool | None:
    if raw is None or raw == "":
        return None
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise FieldValidationError(field, f"The {field} field must be true or false.")


def search_term(raw: str | None, field: str = "search") -> str | None:
    """A trimmed search term, or None. A NUL character is refused: SQLite ends the LIKE pattern
    there (so it would match everything) and PostgreSQL cannot store it in text."""
    if raw is None:
        return None
    if "\x00" in raw:
        raise FieldValidationError(field, f"The {field} field must not contain NUL characters.")
    return raw.strip() or None
