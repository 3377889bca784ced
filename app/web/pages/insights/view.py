"""The insights page's URL state: scope, range and interval. Like the executions page, unknown or
foreign values fall back to defaults instead of an error page."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from app.domain.executions.time_axis import TIME_AXES
from app.domain.metrics.buckets import MAX_BUCKETS, STEP, truncate
from app.domain.metrics.services import MetricsScope
from app.lib.identity import CurrentUser

# Quick ranges and the interval each one reads best in.
RANGES: dict[str, tuple[dt.timedelta, str]] = {
    "24h": (dt.timedelta(hours=24), "hour"),
    "7d": (dt.timedelta(days=7), "day"),
    "30d": (dt.timedelta(days=30), "day"),
    "90d": (dt.timedelta(days=90), "week"),
}
DEFAULT_RANGE = "24h"


def _day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None


@dataclass(frozen=True)
class InsightsView:
    workspace_ids: list[int]
    workspace_uuid: str | None  # set when the page shows one workspace
    organization: str | None
    range: str  # a RANGES key, or "" for From/To days
    day_from: dt.date | None
    day_to: dt.date | None
    interval: str
    date_from: dt.datetime
    date_to: dt.datetime
    time_axis: str = "created"

    @classmethod
    def from_query(cls, user: CurrentUser, params: Mapping[str, Any], now: dt.datetime | None = None) -> InsightsView:
        now = now or dt.datetime.now(dt.UTC)
        try:
            ws_uuid = uuid_lib.UUID(params.get("workspace") or "")
        except ValueError:
            ws_uuid = None
        access = next((a for a in user.access.values() if a.workspace_uuid == ws_uuid), None)
        organization = params.get("organization") or None
        if access is not None:
            workspace_ids, organization = [access.workspace_id], access.organization_multiplai_id
        elif organization and user.workspace_ids_of_organization(organization):
            workspace_ids = user.workspace_ids_of_organization(organization)
        else:  # default: every workspace of the user's first organization
            first = min(
                user.access.values(), key=lambda a: (a.organization_multiplai_id, a.workspace_name), default=None
            )
            organization = first.organization_multiplai_id if first else None
            workspace_ids = user.workspace_ids_of_organization(organization) if organization else []
        day_from, day_to = _day(params.get("from")), _day(params.get("to"))
        if day_from and day_to and day_from > day_to:
            day_from, day_to = day_to, day_from  # typed the wrong way round: the days between them
        range_key = params.get("range") or ""
        if range_key not in RANGES and not (day_from or day_to):
            range_key = DEFAULT_RANGE
        if range_key in RANGES:
            span, interval = RANGES[range_key]
            date_to = now
            date_from = truncate(now - span + STEP[interval], interval)
            day_from = day_to = None
        else:
            range_key, interval = "", "day"
            date_to = dt.datetime.combine(day_to, dt.time.max, tzinfo=dt.UTC) if day_to else now
            date_from = dt.datetime.combine(day_from or (date_to - dt.timedelta(days=29)).date(), dt.time.min, dt.UTC)
            if date_from > date_to:
                date_from, date_to = date_to - dt.timedelta(days=1), date_to
        requested = params.get("interval")
        if requested in STEP:
            interval = requested
        # Too many bars for the chosen interval: fall back to a longer one (hour → day → week).
        for longer in ("hour", "day", "week"):
            if interval == longer and (date_to - date_from) / STEP[longer] > MAX_BUCKETS - 2:
                interval = {"hour": "day", "day": "week", "week": "week"}[longer]
        return cls(
            workspace_ids=workspace_ids,
            workspace_uuid=str(access.workspace_uuid) if access else None,
            organization=organization,
            range=range_key,
            day_from=day_from,
            day_to=day_to,
            interval=interval,
            date_from=date_from,
            date_to=date_to,
            # An unknown axis falls back to the default, like every other page parameter.
            time_axis=axis if isinstance(axis := params.get("axis"), str) and axis in TIME_AXES else "created",
        )

    def scope(self) -> MetricsScope:
        return MetricsScope(self.workspace_ids, self.date_from, self.date_to, self.interval, self.time_axis)

    @property
    def is_live(self) -> bool:
        """Whether the range reaches now (then the current interval refreshes itself)."""
        return self.day_to is None

    def query(self, **overrides: Any) -> str:
        state: dict[str, Any] = {
            "workspace": self.workspace_uuid,
            "organization": None if self.workspace_uuid else self.organization,
            "range": self.range or None,
            "from": self.day_from.isoformat() if self.day_from else None,
            "to": self.day_to.isoformat() if self.day_to else None,
            "interval": self.interval if not self.range or RANGES[self.range][1] != self.interval else None,
            "axis": self.time_axis if self.time_axis != "created" else None,
        }
        state.update(overrides)
        return urlencode([(k, str(v)) for k, v in state.items() if v not in (None, "")])
