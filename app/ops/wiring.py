"""What ``create_app`` takes from ``app.ops``: routes, middleware and per-app state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.logging.config import BaseLoggingConfig
from litestar.types import Empty, EmptyType

from app.config import Settings
from app.ops.health import health, ready
from app.ops.logs import configure_logging, request_id_middleware
from app.ops.metrics import OpsMetrics, metrics, metrics_middleware, observe_response

if TYPE_CHECKING:
    from app.services import Services

OPS_ROUTES = [health, ready, metrics]
# Request id outermost, so the metrics middleware's own lines (and everything inside) carry it.
OPS_MIDDLEWARE = [request_id_middleware, metrics_middleware]
OPS_BEFORE_SEND = [observe_response]


def ops_state(services: Services) -> dict[str, Any]:
    """Per-app state: the metrics registry."""
    return {"ops_metrics": OpsMetrics(services)}


def ops_logging(settings: Settings) -> BaseLoggingConfig | EmptyType | None:
    """With LOG_FORMAT set, our logging replaces Litestar's (which would reconfigure the root logger);
    unset, Litestar keeps its default and the host process (tests, plain uvicorn) decides."""
    if not settings.log_format:
        return Empty
    configure_logging(settings.log_format, settings.log_level)
    return None
