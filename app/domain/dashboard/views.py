"""The executions list's filter: filters parsed from the URL (so a view can be bookmarked and shared),
turned into SQL filters for the first render and into a Python predicate for live events."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urlencode

from app.domain.dashboard.attention import may_match, parse_attention
from app.domain.dashboard.columns import DEFAULT_COLUMNS, parse_columns
from app.domain.executions.id_search import names, parse_id_ref
from app.domain.executions.state import STATUS_VALUES
from app.domain.executions.summary import SummaryLike
from app.lib.identity import CurrentUser

QUICK_RANGES = {
    "1h": dt.timedelta(hours=1),
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
}
PER_PAGE = 50


def _uuid(value: str | None) -> uuid_lib.UUID | None:
    try:
        return uuid_lib.UUID(value) if value else None
    except ValueError:
        return None


def _date(value: str | None, end: bool = False) -> dt.datetime | None:
    if not value:
        return None
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return dt.datetime.combine(day, dt.time.max if end else dt.time.min, tzinfo=dt.UTC)
        moment = dt.datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    except ValueError:
        return None


@dataclass
class ExecutionFilter:
    """Which executions a list shows: the dashboard service's input (SQL filters for a page, a Python
    predicate for live events) and a saved view's canonical query. Unknown or foreign values are
    dropped, never an error page. The page's view state (app/web/pages/executions/view.py) extends it."""

    workspace_ids: list[int]
    workspace_uuid: str | None
    organization: str | None
    workflow_uuids: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    search: str = ""
    range: str = ""
    date_from: dt.datetime | None = None
    date_to: dt.datetime | None = None
    needs_review: bool = False
    command_room: bool = False
    sort: str = "created"
    direction: str = "desc"
    page: int = 1
    columns: list[str] = field(default_factory=lambda: list(DEFAULT_COLUMNS))
    attention: list[str] = field(default_factory=list)
    fold_retries: bool = True  # retry chains show as their latest attempt (``chains=all`` unfolds)

    @classmethod
    def from_query(cls, user: CurrentUser, params: Mapping[str, Any], now: dt.datetime | None = None) -> Self:
        getall = (
            params.getall if hasattr(params, "getall") else (lambda k, d=None: [params[k]] if k in params else d or [])
        )
        ws_uuid = _uuid(params.get("workspace"))
        access = next((a for a in user.access.values() if ws_uuid and a.workspace_uuid == ws_uuid), None)
        organization = params.get("organization") or None
        if access is not None:
            workspace_ids, organization = [access.workspace_id], access.organization_multiplai_id
        elif organization and user.workspace_ids_of_organization(organization):
            workspace_ids = user.workspace_ids_of_organization(organization)
        else:
            first = min(user.access.values(), key=lambda a: a.workspace_name, default=None)
            workspace_ids = [first.workspace_id] if first else []
            access, organization = first, (first.organization_multiplai_id if first else None)
        statuses = [s for raw in getall("status", []) for s in raw.split(",") if s in STATUS_VALUES]
        range_key = params.get("range") or ""
        now = now or dt.datetime.now(dt.UTC)
        date_from = now - QUICK_RANGES[range_key] if range_key in QUICK_RANGES else _date(params.get("from"))
        date_to = None if range_key in QUICK_RANGES else _date(params.get("to"), end=True)
        if date_from and date_to and date_from > date_to:
            # From after To (typed the wrong way round): the days between them, not an empty list.
            date_from, date_to = _date(params.get("to")), _date(params.get("from"), end=True)
        try:
            page = max(1, min(int(params.get("page") or 1), 100_000))
        except ValueError:
            page = 1
        return cls(
            workspace_ids=workspace_ids,
            workspace_uuid=str(access.workspace_uuid) if access else None,
            organization=organization,
            workflow_uuids=[str(u) for raw in getall("workflow", []) if (u := _uuid(raw))],
            statuses=sorted(set(statuses)),
            search=(params.get("q") or "").replace("\x00", "").strip()[:200],
            range=range_key if range_key in QUICK_RANGES else "",
            date_from=date_from,
            date_to=date_to,
            needs_review=params.get("review") == "1",
            command_room=params.get("command_room") == "1",
            sort="updated" if params.get("sort") == "updated" else "created",
            direction="asc" if params.get("dir") == "asc" else "desc",
            page=page,
            columns=parse_columns(getall("cols", [])) or list(DEFAULT_COLUMNS),
            attention=parse_attention(getall("attention", [])),
            fold_retries=params.get("chains") != "all",
        )

    # ------------------------------------------------------------- URL state
    def query(self, **overrides: Any) -> str:
        """The URL query for this view with some values changed (page resets unless given)."""
        return urlencode(self.query_pairs(**overrides))

    def query_pairs(self, **overrides: Any) -> list[tuple[str, str]]:
        """The view's URL state as (name, value) pairs: hidden inputs of the page's small forms."""
        state: dict[str, Any] = {
            "workspace": self.workspace_uuid if len(self.workspace_ids) == 1 else None,
            "organization": self.organization if len(self.workspace_ids) != 1 else None,
            "workflow": self.workflow_uuids,
            "status": self.statuses,
            "q": self.search,
            "range": self.range,
            "from": self.date_from.date().isoformat() if self.date_from and not self.range else None,
            "to": self.date_to.date().isoformat() if self.date_to else None,
            "review": "1" if self.needs_review else None,
            "command_room": "1" if self.command_room else None,
            "sort": self.sort if self.sort != "created" else None,
            "dir": self.direction if self.direction != "desc" else None,
            "page": None,
            "cols": ",".join(self.columns) if tuple(self.columns) != DEFAULT_COLUMNS else None,
            "attention": self.attention,
            "chains": None if self.fold_retries else "all",
        }
        state.update(overrides)
        pairs = []
        for key, value in state.items():
            for item in value if isinstance(value, list) else [value]:
                if item not in (None, "", False):
                    pairs.append((key, str(item)))
        return pairs

    # ------------------------------------------------------------- live match
    def matches(self, execution: SummaryLike, workspace_id: int) -> bool:
        """Python twin of the SQL filters, applied to an event's execution summary."""
        if workspace_id not in self.workspace_ids or execution.get("deleted_at"):
            return False
        if self.workflow_uuids and execution.get("workflow_uuid") not in self.workflow_uuids:
            return False
        if self.statuses and execution.get("status") not in self.statuses:
            return False
        created = _date(str(execution.get("created_at") or "").replace("Z", "+00:00"))
        if self.date_from and (created is None or created < self.date_from):
            return False
        if self.date_to and (created is None or created > self.date_to):
            return False
        if self.needs_review and not execution.get("pending_workflow_approvals_count"):
            return False
        if self.command_room and not execution.get("in_command_room"):
            return False
        if self.attention:
            now = dt.datetime.now(dt.UTC)
            if not all(may_match(key, execution, now) for key in self.attention):
                return False
        if self.fold_retries and execution.get("retry_success_id"):
            return False  # its successful retry is the chain's row now
        if self.search:
            term = self.search.lower()
            ref = parse_id_ref(term)
            if ref is not None and ref.whole is not None:
                return str(execution.get("uuid")) == str(ref.whole)
            haystack = f"{execution.get('workflow_name') or ''}\n{execution.get('error') or ''}".lower()
            if term not in haystack and not (ref is not None and names(ref, str(execution.get("uuid")))):
                return False
        return True
