"""Prometheus metrics: ``GET /metrics`` (bearer ``METRICS_TOKEN``), one registry per app instance.

Two kinds of figures:

- counters incremented where things happen, through the one-line ``record_*`` helpers called from
  ``app.realtime`` and ``app.web.live`` (process-wide: one app per process in production);
- figures the hub, bus and database pool already keep, read at scrape time by ``AppCollector``
  (events published and delivered, reconnects, open sockets, per-socket queue depth, pool usage),
  so the hot paths pay nothing for them.

This module must not import ``app.realtime`` (which imports it); services are duck-typed.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.openapi import ResponseSpec
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from app.lib.read_gate import ARRIVED

if TYPE_CHECKING:
    from app.lib.idempotency_store import IdempotencyStore
    from app.services import Services

SOCKET_KINDS = ("api", "page")
QUEUE_BUCKETS = (0, 1, 5, 10, 50, 100, 250, 500, 1000)

SOCKET_REPLAYS = Counter(
    "athena_socket_replays",
    "Sockets that replayed missed events from their cursor on connect.",
    ["socket"],
    registry=None,
)
SOCKET_REPLAYED_EVENTS = Counter(
    "athena_socket_replayed_events", "Events replayed from the database to reconnecting sockets.", ["socket"],
    registry=None,
)  # fmt: skip
SOCKET_RESYNCS = Counter(
    "athena_socket_resyncs", "Resync notices sent on connect (cursor too far behind or unknown).", ["socket"],
    registry=None,
)  # fmt: skip
SOCKET_EVICTIONS = Counter(
    "athena_socket_evictions", "Sockets evicted because their queue filled up (closed with 1013).", ["socket"],
    registry=None,
)  # fmt: skip
WIRE_FALLBACK_REASONS = ("protocol", "deflate")
WIRE_FALLBACKS = Counter(
    "athena_ws_fast_path_fallbacks",
    "WebSockets served through ASGI send, not the direct write of app/realtime/wire.py: reason protocol = the "
    "server is not uvicorn's websockets-sansio protocol (docs/architecture.md), deflate = compression negotiated.",
    ["reason"],
    registry=None,
)
SOCKET_COUNTERS = (SOCKET_REPLAYS, SOCKET_REPLAYED_EVENTS, SOCKET_RESYNCS, SOCKET_EVICTIONS)
PROCESS_COUNTERS = (*SOCKET_COUNTERS, WIRE_FALLBACKS)
for _socket_counter in SOCKET_COUNTERS:
    for _kind in SOCKET_KINDS:
        _socket_counter.labels(_kind)  # export zeros from the start: rate() needs the series to exist
for _reason in WIRE_FALLBACK_REASONS:
    WIRE_FALLBACKS.labels(_reason)


def record_replay(socket: str, events: int) -> None:
    SOCKET_REPLAYS.labels(socket).inc()
    SOCKET_REPLAYED_EVENTS.labels(socket).inc(events)


def record_resync(socket: str) -> None:
    SOCKET_RESYNCS.labels(socket).inc()


def record_eviction(socket: str) -> None:
    SOCKET_EVICTIONS.labels(socket).inc()


def record_wire_fallback(reason: str) -> None:
    WIRE_FALLBACKS.labels(reason).inc()


class AppCollector(Collector):
    """Reads one app's hub, bus and database pool at scrape time."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def describe(self) -> list[Metric]:
        return []  # names are only known by collecting; the registry need not check them

    def collect(self) -> Iterator[Metric]:
        hub, bus = self.services.hub, self.services.hub.bus
        yield _counter("athena_events_published", "Events handed to the bus after commit.", bus.published)
        yield _counter(
            "athena_events_publish_dropped", "Events the bus could not publish (left to replay).",
            getattr(bus, "publish_dropped", 0),
        )  # fmt: skip
        yield _counter("athena_events_delivered", "Events offered to local sockets' queues.", hub.delivered)
        yield _counter("athena_events_filled", "Events the hub read from the database to fill gaps.", hub.filled)
        yield _counter("athena_hub_resyncs", "Gaps too large to replay; watching sockets told to resync.", hub.resyncs)
        yield _counter(
            "athena_subscriber_reconnects", "Times the Redis subscription came back after a loss.",
            getattr(bus, "reconnects", 0),
        )  # fmt: skip
        yield _gauge("athena_subscriber_connected", "1 while the event subscription is up.", int(bus.connected))
        yield _gauge(
            "athena_publish_queue_depth",
            "Events waiting to be published to Redis.",
            bus.status().get("publish_queue", 0),
        )
        yield _gauge("athena_watched_workspaces", "Workspaces at least one local socket watches.", len(hub.subscribers))
        yield from self._sockets(hub)
        yield from _pool(self.services.db.engine.pool)
        gate = self.services.read_gate
        yield _gauge(
            "athena_http_reads_running", "GET requests being worked on (at most HTTP_READ_CONCURRENCY).", gate.running
        )
        yield _gauge("athena_http_reads_waiting", "GET requests waiting for their turn.", gate.waiting)
        yield _counter("athena_http_reads_waited", "GET requests that had to wait for their turn.", gate.waited_total)
        yield from _idempotency(self.services.idempotency)
        limiter = self.services.limiter
        yield _gauge(
            "athena_ratelimit_store_up", "0 while the rate-limit store (Redis) does not answer.", int(limiter.available)
        )
        yield _counter(
            "athena_ratelimit_store_failures",
            "Rate-limit calls allowed unchecked: the store did not answer.",
            limiter.failures,
        )

    def _sockets(self, hub: Any) -> Iterator[Metric]:
        subs = {id(s): s for subs in hub.subscribers.values() for s in subs}.values()
        open_sockets = GaugeMetricFamily(
            "athena_websockets_open", "Open WebSockets on this instance.", labels=["socket"]
        )
        depth = HistogramMetricFamily(
            "athena_socket_queue_depth", "Items queued per open socket, sampled at scrape time.", labels=["socket"]
        )
        for kind in SOCKET_KINDS:
            sizes = [s.queue.qsize() for s in subs if s.kind == kind]
            open_sockets.add_metric([kind], len(sizes))
            buckets = [(str(float(b)), sum(1 for n in sizes if n <= b)) for b in QUEUE_BUCKETS]
            depth.add_metric([kind], [*buckets, ("+Inf", len(sizes))], sum(sizes))
        yield open_sockets
        yield depth


def _pool(pool: Any) -> Iterator[Metric]:
    """QueuePool exposes its figures; SQLite's NullPool/StaticPool have none beyond their class."""
    info = GaugeMetricFamily("athena_db_pool_info", "The database pool class.", labels=["pool"])
    info.add_metric([type(pool).__name__], 1)
    yield info
    for name, method, doc in (
        ("athena_db_pool_size", "size", "Connections the pool keeps open."),
        ("athena_db_pool_checked_out", "checkedout", "Connections in use right now."),
        ("athena_db_pool_overflow", "overflow", "Connections opened beyond the pool size (negative: unopened)."),
        ("athena_db_pool_checked_in", "checkedin", "Idle connections in the pool."),
    ):
        if callable(getattr(pool, method, None)):
            yield _gauge(name, doc, getattr(pool, method)())


def _idempotency(store: IdempotencyStore) -> Iterator[Metric]:
    """Keyed POSTs by outcome (docs/api.md, "Idempotent requests")."""
    outcomes = CounterMetricFamily(
        "athena_idempotency_requests",
        "POST requests with an Idempotency-Key: ran (first of its key), replayed (a retry answered from"
        " the stored answer), mismatch (422: the key was used for another request), in_progress (409).",
        labels=["outcome"],
    )
    counts = store.counts
    for outcome, value in (
        ("ran", counts.ran), ("replayed", counts.replayed),
        ("mismatch", counts.mismatched), ("in_progress", counts.in_progress),
    ):  # fmt: skip
        outcomes.add_metric([outcome], value)
    yield outcomes
    yield _counter(
        "athena_idempotency_waits", "Keyed retries that waited for their key's first request.", counts.waited
    )
    yield _counter("athena_idempotency_purged", "Expired idempotency keys this process deleted.", store.purged)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


class BridgeCollector(Collector):
    """The bridges' rows (``athena bridge n8n``), read by the ``/metrics`` handler just before the
    registry renders (the collector itself is synchronous)."""

    def __init__(self) -> None:
        self.states: list[dict[str, Any]] = []

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        gauges = {
            "up": ("1 while the bridge polls n8n successfully (state ok or slow).", None),
            "backoff_seconds": (
                "Seconds the bridge waits before its next try (0 when n8n answers).",
                "backoff_seconds",
            ),
            "heartbeat_age_seconds": ("Seconds since the bridge last wrote its heartbeat.", "heartbeat_age_seconds"),
            "consecutive_failures": ("Failed polls in a row.", "consecutive_failures"),
            "last_poll_seconds": ("Duration of the last successful poll.", "last_poll_seconds"),
            "cursor": ("n8n execution id up to which everything is mirrored.", "cursor"),
        }
        for name, (doc, key) in gauges.items():
            family = GaugeMetricFamily(f"athena_bridge_{name}", doc, labels=["bridge", "kind"])
            for item in self.states:
                value = int(item["state"] in ("ok", "slow")) if key is None else item.get(key)
                family.add_metric([str(item["id"]), item["kind"]], float(value or 0))
            yield family
        counters = {
            "polls": "Polls of n8n (failed ones included).",
            "failures": "Polls that failed (n8n slow, down or refusing).",
            "mirrored": "n8n executions mirrored into the workspace.",
            "resumes": "n8n executions resumed by an Athena decision.",
            "stops_refused": "Athena stops n8n's public API could not apply (n8n runs on).",
        }
        for name, doc in counters.items():
            counter = CounterMetricFamily(f"athena_bridge_{name}", doc, labels=["bridge", "kind"])
            for item in self.states:
                counter.add_metric([str(item["id"]), item["kind"]], float(item[name]))
            yield counter


class OpsMetrics:
    """One app's registry: its request latencies, its collector, and the process-wide counters."""

    def __init__(self, services: Services) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.request_seconds = Histogram(
            "athena_http_request_duration_seconds",
            "HTTP request latency by route template (the path pattern, not the raw path).",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.registry.register(AppCollector(services))
        self.bridges = BridgeCollector()
        self.registry.register(self.bridges)
        for counter in PROCESS_COUNTERS:
            self.registry.register(counter)
        ProcessCollector(registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)


_STARTED = "athena_metrics_started"
_STATUS = "athena_metrics_status"


def metrics_middleware(app: ASGIApp) -> ASGIApp:
    """Notes when an HTTP request reached its route; ``observe_response`` times it when it is sent."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            # From its arrival: a GET's wait for a place (app/lib/read_gate.py) is part of its time.
            arrived = scope.get(ARRIVED)  # set in the server's own scope, before Litestar
            scope["state"][_STARTED] = arrived if isinstance(arrived, float) else time.perf_counter()
        await app(scope, receive, send)

    return middleware


async def observe_response(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: it also sees the answers the app's exception handlers send (a 401 from
    the token middleware, a 422, a 503), which a middleware would only see as an exception."""
    state = scope["state"]
    started: float | None = state.get(_STARTED)
    if started is None:
        return  # a WebSocket, or a path no route matched
    if message["type"] == "http.response.start":
        state[_STATUS] = str(message["status"])
    elif message["type"] == "http.response.body" and not message.get("more_body", False):
        ops: OpsMetrics | None = scope["app"].state.get("ops_metrics")
        if ops is not None:
            route = scope.get("path_template") or "unmatched"
            status = state.get(_STATUS, "500")
            ops.request_seconds.labels(scope.get("method", ""), route, status).observe(time.perf_counter() - started)
        del state[_STARTED]


@get(
    "/metrics",
    tags=["Operations"],
    summary="Prometheus metrics",
    media_type=CONTENT_TYPE_LATEST,
    responses={
        401: ResponseSpec(data_container=dict[str, str], description="Missing or wrong METRICS_TOKEN"),
        404: ResponseSpec(data_container=dict[str, str], description="Metrics are disabled (no METRICS_TOKEN)"),
    },
)
async def metrics(request: Request[Any, Any, Any], state: State) -> Response[bytes]:
    """Prometheus text format. Requires ``Authorization: Bearer <METRICS_TOKEN>``; 404 when unset."""
    expected = state.services.settings.metrics_token
    if not expected:
        raise NotFoundException("metrics are disabled: set METRICS_TOKEN")
    supplied = request.headers.get("authorization", "")
    if not hmac.compare_digest(supplied.encode(), f"Bearer {expected}".encode()):
        raise NotAuthorizedException("metrics need Authorization: Bearer <METRICS_TOKEN>")
    from app.bridges.n8n.status import bridge_states

    try:
        state.ops_metrics.bridges.states = await bridge_states(state.services.db)
    except Exception:  # no bridge table yet, or the database is down: the other figures still count
        state.ops_metrics.bridges.states = []
    return Response(state.ops_metrics.render(), media_type=CONTENT_TYPE_LATEST)
