"""The list's cached pages are keyed by ``view_key``, a hand-written tuple of the view's fields: a
field added to ``ExecutionFilter`` and left out of the key would serve one view's page to another.
This test changes each field alone and requires the key to change, bar the fields named below."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from app.domain.dashboard.pagecache import view_key
from app.domain.dashboard.views import ExecutionFilter

# Not part of the page's data: both are the URL's spelling of ``workspace_ids`` (the list page's HTML
# cache, app/web/pages/executions/list_page.py, adds them to its own key).
NOT_IN_DATA = {"workspace_uuid", "organization"}


def _other(value: Any) -> Any:
    """A different value of the same kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return [*value, 7 if value and isinstance(value[0], int) else "other"]
    if value is None or isinstance(value, dt.datetime):
        return dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    raise AssertionError(f"no other value for {value!r}: teach _other this type")


def test_every_field_of_the_view_moves_the_cached_pages_key() -> None:
    base = ExecutionFilter(workspace_ids=[1], workspace_uuid=None, organization=None)
    missed = [
        f.name
        for f in dataclasses.fields(ExecutionFilter)
        if f.name not in NOT_IN_DATA
        and view_key(dataclasses.replace(base, **{f.name: _other(getattr(base, f.name))})) == view_key(base)
    ]
    assert missed == []
