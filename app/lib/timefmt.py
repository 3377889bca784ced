from __future__ import annotations

import datetime as dt


def iso(value: dt.datetime | None) -> str | None:
    """UTC ISO-8601 with exactly six fraction digits and ``Z`` (``2026-12-08T09:00:00.000000Z``), as
    the seed API prints timestamps: the fraction is kept when it is zero."""
    if value is None:
        return None
    tz = value.tzinfo
    if tz is not dt.UTC:  # the drivers hand back UTC times: usually nothing to convert
        value = value.replace(tzinfo=dt.UTC) if tz is None else value.astimezone(dt.UTC)
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")


# What ``parse_date_param`` accepts, for the OpenAPI schema: a date or an ISO date-time, 1970-9998.
DATE_PATTERN = (
    r"^(19[7-9]\d|[2-9]\d{3})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-](0\d|1[0-4]):[0-5]\d)?)?$"
)


def parse_date_param(field: str, raw: str, *, end_of_day: bool = False) -> dt.datetime:
    """Accept ``YYYY-MM-DD`` or an ISO datetime; a bare date as an upper bound means its whole day."""
    from app.lib.errors import FieldValidationError

    value = raw.strip()
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            moment = dt.datetime.combine(day, dt.time.max if end_of_day else dt.time.min, tzinfo=dt.UTC)
        else:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
    except ValueError:
        raise FieldValidationError(
            field, f"The {field} field must be a date (YYYY-MM-DD) or an ISO-8601 date-time."
        ) from None
    if not (1970 <= moment.year <= 9998):
        raise FieldValidationError(field, f"The {field} field is out of range.")
    return moment.astimezone(dt.UTC)


def body_datetime(field: str, value: dt.datetime | None) -> dt.datetime | None:
    """A date-time from a request body as aware UTC: naive means UTC, and like the query dates it
    must fall in 1970-9998 (beyond that the UTC conversion overflows and the database rejects it).

    Call it from a msgspec ``__post_init__``: the ``ValueError`` becomes a 422 naming ``field``."""
    if not isinstance(value, dt.datetime):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    message = f"The field `{field}` must be a date-time between the years 1970 and 9998."
    try:
        value = value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(message) from None
    if not (1970 <= value.year <= 9998):
        raise ValueError(message)
    return value
