"""Route-handler signatures parsed once per test process instead of once per app.

Every test builds its own app (tests/conftest.py), and Litestar registers each app's ~190 route
handlers and dependencies from fresh copies: it parses every handler's signature again (evaluating
its string annotations: ``get_type_hints``) and builds a msgspec signature model for it again. That
was ~40 % of building an app (~75 ms of CPU of ~185 ms, 50 ``create_app`` calls, medians).

Both are pure functions of the handler function and of names and types that stay the same from app
to app: ``ParsedSignature.from_fn(fn, namespace)`` and ``SignatureModel.create(dependency names, fn,
parsed signature, type decoders, DTO)``. This memoizes them for the test process, keyed on exactly
those inputs; a function whose inputs cannot be keyed safely is parsed as before. The results are
frozen dataclasses and a class Litestar never changes after creating it, so apps sharing them
behave as if each had made its own. Servers the tests start (tests/servers.py) build one app per
process and do not use this.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Hashable
from typing import Any

from litestar._signature.model import SignatureModel
from litestar.utils.signature import ParsedSignature

_parse = ParsedSignature.from_fn.__func__  # type: ignore[attr-defined]
_create_model = SignatureModel.create.__func__  # type: ignore[attr-defined]
_signatures: dict[Hashable, ParsedSignature] = {}
_models: dict[Hashable, tuple[ParsedSignature, type[SignatureModel]]] = {}


def _function_key(fn: Any) -> Hashable | None:
    """What a function's signature and type hints depend on, or None when that is not plain.

    Controllers' handlers arrive as methods bound to a new controller instance per app (the bound
    signature drops ``self``); Litestar's OPTIONS handlers and the app's dependency providers are
    closures made again per app, the same code with the same annotations."""
    if isinstance(fn, types.MethodType) and isinstance(fn.__func__, types.FunctionType):
        return ("method", fn.__func__)
    if not isinstance(fn, types.FunctionType) or hasattr(fn, "__wrapped__") or hasattr(fn, "__signature__"):
        return None
    key = (
        "function",
        fn.__code__,
        fn.__module__,
        fn.__name__,
        fn.__qualname__,
        tuple(fn.__annotations__.items()),
        fn.__defaults__,
        tuple((fn.__kwdefaults__ or {}).items()),
    )
    try:
        hash(key)
    except TypeError:  # an unhashable default or annotation
        return None
    return key


def _hashable(key: tuple[Any, ...]) -> bool:
    try:
        hash(key)
    except TypeError:
        return False
    return True


def _memo_parse(cls: type[ParsedSignature], fn: Any, signature_namespace: dict[str, Any]) -> ParsedSignature:
    function = _function_key(fn)
    key = (cls, function, tuple(signature_namespace.items()))
    if function is None or not _hashable(key):
        return _parse(cls, fn, signature_namespace)  # type: ignore[no-any-return]
    if (parsed := _signatures.get(key)) is None:
        parsed = _signatures[key] = _parse(cls, fn, signature_namespace)
    return parsed


def _memo_model(
    cls: type[SignatureModel],
    dependency_name_set: set[str],
    fn: Any,
    parsed_signature: ParsedSignature,
    type_decoders: Any,
    data_dto: Any = None,
) -> type[SignatureModel]:
    function = _function_key(fn)
    key = (cls, function, id(parsed_signature), frozenset(dependency_name_set), tuple(type_decoders or ()), data_dto)
    if function is None or not _hashable(key):
        return _create_model(cls, dependency_name_set, fn, parsed_signature, type_decoders, data_dto)  # type: ignore[no-any-return]
    cached = _models.get(key)
    # id() is only unique while the object lives: the entry keeps its signature, and is checked.
    if cached is None or cached[0] is not parsed_signature:
        cached = _models[key] = (
            parsed_signature,
            _create_model(cls, dependency_name_set, fn, parsed_signature, type_decoders, data_dto),
        )
    return cached[1]


def install() -> Callable[[], None]:
    """Memoize both for this process; returns the function that undoes it."""
    originals = (ParsedSignature.__dict__["from_fn"], SignatureModel.__dict__["create"])
    ParsedSignature.from_fn = classmethod(_memo_parse)  # type: ignore[assignment,method-assign]
    SignatureModel.create = classmethod(_memo_model)  # type: ignore[assignment,method-assign]

    def uninstall() -> None:
        ParsedSignature.from_fn, SignatureModel.create = originals  # type: ignore[method-assign]

    return uninstall
