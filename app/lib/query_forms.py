"""Query strings as the seed's clients write them (Laravel style), normalised before the API reads them.

- **Empty means not given.** ``?search=&page=&with=`` is what a Laravel client sends for every
  optional parameter it leaves unset: each ``key=`` with an empty value is dropped, so the handler
  sees its default. A present, wrong value is still a 422 naming the field.
- **Brackets.** ``status[]=failed`` (or ``status[0]=failed``) is ``status=failed`` for every list
  parameter, and for a scalar one too. A handler may declare a bracket name itself
  (``workflow_uuids[]``), which is then kept as it is. Any other bracket parameter (``foo[]``,
  ``filter[status]``) is a 422 naming it: a filter silently ignored would answer the wrong rows.
- **Enums ignore case.** A parameter typed ``Literal[...]`` (``sort_by``, ``sort_direction``)
  accepts its values in any case; they reach the handler in their declared spelling.

One middleware on the API router; what a handler accepts is read from its signature once.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from litestar.enums import ParamType, ScopeType
from litestar.handlers import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Empty, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from app.lib.errors import QUERY_ALIASES_KEY, FieldValidationError

_BRACKETS = re.compile(r"^([^\[\]]+)\[(\d*)\]$")


class QueryShape:
    """The query parameters one handler declares: names, and the declared spellings of enum values."""

    def __init__(self, handler: BaseRouteHandler, path_params: set[str]) -> None:
        # Litestar reads only the keys; the route's own definitions are not reachable from the scope.
        model = handler.create_kwargs_model(path_parameters=dict.fromkeys(path_params))  # type: ignore[arg-type]
        self.names: set[str] = set()
        self.choices: dict[str, dict[str, str]] = {}
        self.aliases: dict[str, str] = {}
        fields = handler.parsed_fn_signature.parameters
        for param in model.expected_query_params:
            if param.param_type is not ParamType.QUERY:
                continue
            self.names.add(param.field_alias)
            self.aliases[param.field_name] = param.field_alias
            definition = fields.get(param.field_name)
            if definition is not None and definition.is_literal:
                values = [v for v in definition.args if isinstance(v, str)]
                self.choices[param.field_alias] = {v.lower(): v for v in values}

    def normalise(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for key, value in pairs:
            if value == "":
                continue
            if key not in self.names and (match := _BRACKETS.match(key)) is not None:
                if match.group(1) not in self.names:
                    raise FieldValidationError(key, f"Unknown parameter {key}.")
                key = match.group(1)
            elif "[" in key and key not in self.names:
                raise FieldValidationError(key, f"Unknown parameter {key}.")
            if key in self.choices:
                value = self.choices[key].get(value.lower(), value)
            out.append((key, value))
        return out


def normalise_query(handler: BaseRouteHandler, path_params: set[str], query_string: bytes) -> bytes:
    """The query string with empty values dropped, bracket names resolved and enum values spelled
    as declared; raises a 422 for an unknown bracket parameter."""
    shape = handler.opt.get(_SHAPE_KEY)
    if shape is None:  # once per handler (its ``opt`` lives as long as it does)
        shape = handler.opt[_SHAPE_KEY] = QueryShape(handler, path_params)
        handler.opt[QUERY_ALIASES_KEY] = shape.aliases  # 422s name a parameter as sent (errors.py)
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    return urlencode(shape.normalise(pairs), encoding="latin-1").encode("latin-1")


_SHAPE_KEY = "_athena_query_shape"


class SeedQueryMiddleware(ASGIMiddleware):
    """Rewrites ``scope["query_string"]`` of API requests before any parameter is parsed."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        raw: bytes = scope.get("query_string", b"")
        if raw:
            handler: Any = scope.get("route_handler")
            scope["query_string"] = normalise_query(handler, set(scope.get("path_params", {})), raw)
            ScopeState.from_scope(scope).parsed_query = Empty  # parse again from the new string
        await next_app(scope, receive, send)
