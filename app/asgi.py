"""Application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advanced_alchemy.extensions.litestar import AlembicAsyncConfig, SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler, LifespanHook

from app.config import Settings, get_settings
from app.db.migrate import MIGRATIONS_DIR
from app.domain.accounts.controllers import AuthController, UserController
from app.domain.approvals.controllers import ApprovalController, CommandRoomController
from app.domain.audit.controllers import AuditController
from app.domain.executions.controllers import WorkflowExecutionController
from app.domain.executions.trash_controllers import TrashController
from app.domain.metrics.controllers import MetricsController
from app.domain.operations.controllers import BulkActionController, OperationController
from app.domain.workflows.controllers import WorkflowController, WorkspaceController
from app.lib.auth import TokenAuthMiddleware
from app.lib.errors import exception_handlers
from app.lib.headers import PageOriginMiddleware, allow_header_hook, security_headers_hook
from app.lib.idempotency import IdempotencyMiddleware
from app.lib.json_body import JsonRequest
from app.lib.openapi_build import complete_openapi_on_build
from app.lib.query_forms import SeedQueryMiddleware
from app.ops.runtime import freeze_startup_heap
from app.ops.wiring import OPS_BEFORE_SEND, OPS_MIDDLEWARE, OPS_ROUTES, ops_logging, ops_state
from app.realtime.api_socket import api_events_socket
from app.realtime.presence import PresenceBoard
from app.realtime.wire import AthenaApp, warn_if_unexpected_server
from app.services import Services
from app.web.errors import pages_get_html
from app.web.fragments import Fragments
from app.web.live import announce_link, executions_socket
from app.web.pages import ROUTES
from app.web.pages.executions.list_page import ListPageBodies
from app.web.session import SignInRequired, sign_in_redirect
from app.web.templating import configure_environment
from app.web.tiles import TileTicker

ROOT = Path(__file__).resolve().parent.parent


def _provider(name: str) -> Provide:
    def provide(state: State) -> Any:
        return getattr(state.services, name)

    return Provide(provide, sync_to_thread=False)


API_CONTROLLERS: list[ControllerRouterHandler] = [
    AuthController,
    UserController,
    WorkspaceController,
    WorkflowController,
    WorkflowExecutionController,
    ApprovalController,
    CommandRoomController,
    MetricsController,
    TrashController,
    AuditController,
    BulkActionController,
    OperationController,
    api_events_socket,
]
PAGES: list[ControllerRouterHandler] = [*ROUTES, executions_socket]
SERVICE_DEPENDENCIES = {
    "account_service": "accounts",
    "execution_service": "executions",
    "workflow_service": "workflows",
    "approval_service": "approvals",
    "dashboard_service": "dashboard",
    "metrics_service": "metrics",
    "operation_service": "operations",
}


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Athena Monitor API",
        version="1.0.0",
        path="/schema",
        description="Workflow executions, approvals and command room. See docs/api.md.",
        use_handler_docstrings=True,  # the endpoints' docstrings are their operations' descriptions
        components=Components(
            security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer", description="API token")}
        ),
    )


def _csrf(settings: Settings) -> CSRFConfig:
    # The API authenticates with bearer tokens, which a foreign site cannot send: no CSRF there.
    return CSRFConfig(
        secret=settings.secret_key,
        cookie_name="athena_csrf",
        header_name="x-csrftoken",
        cookie_secure=settings.session_cookie_secure,
        cookie_samesite="strict",
        cookie_httponly=True,  # pages carry the token in their markup; no script needs the cookie
        exclude=["/api/"],
    )


def _alchemy(services: Services) -> SQLAlchemyPlugin:
    """Only for the CLI's ``database`` commands (Alembic); the app uses ``services.db``'s engine."""
    return SQLAlchemyPlugin(
        config=SQLAlchemyAsyncConfig(
            engine_instance=services.db.engine,
            alembic_config=AlembicAsyncConfig(
                script_location=str(MIGRATIONS_DIR), version_table_name="alembic_versions"
            ),
            create_all=False,
        )
    )


def _lifecycle(services: Services) -> tuple[LifespanHook, LifespanHook]:
    async def start_services(app: Litestar) -> None:
        warn_if_unexpected_server()  # the sockets' fast path needs uvicorn's sans-io protocol
        app.openapi_schema  # noqa: B018 -- built now: a server whose document cannot be built stops here
        templates = app.template_engine
        if not isinstance(templates, JinjaTemplateEngine):  # the TemplateConfig below makes it one
            raise TypeError(f"the pages need Jinja templates, not {type(templates).__name__}")
        fragments = Fragments(templates.engine)
        app.state.fragments = fragments
        app.state.tile_ticker = TileTicker(services.dashboard, fragments)
        services.hub.link_listeners.append(lambda up: announce_link(services.hub, fragments, up))
        await services.start()
        await app.state.tile_ticker.start()
        app.state.presence = PresenceBoard(services.hub, services.db)
        await app.state.presence.start()
        if services.settings.gc_freeze_after_startup:
            freeze_startup_heap()  # last: what start-up made is then never walked by a full collection

    async def close_services(app: Litestar) -> None:
        if "presence" in app.state:
            await app.state.presence.stop()
        if "tile_ticker" in app.state:
            await app.state.tile_ticker.stop()
        await services.close()

    return start_services, close_services


def create_app(settings: Settings | None = None) -> Litestar:
    """One app instance: its own Services (database, hub), API under /api/v1, pages, sockets."""
    settings = settings or get_settings()
    services = Services.build(settings)
    api = Router(
        path="/api/v1",
        route_handlers=API_CONTROLLERS,
        # Authentication first (no 422 before a 401), then the seed's query forms (app/lib/query_forms.py),
        # then Idempotency-Key (app/lib/idempotency.py), which fingerprints the normalised query.
        middleware=[TokenAuthMiddleware, SeedQueryMiddleware(), IdempotencyMiddleware()],
        security=[{"BearerToken": []}],
    )
    static = create_static_files_router(path="/static", directories=[ROOT / "static"], include_in_schema=False)
    start_services, close_services = _lifecycle(services)
    app = AthenaApp(
        route_handlers=[api, *OPS_ROUTES, *PAGES, static],
        # Request id outermost (every log line carries it), then metrics, then the pages' Origin check.
        middleware=[*OPS_MIDDLEWARE, DefineMiddleware(PageOriginMiddleware, settings=settings)],
        before_send=[*OPS_BEFORE_SEND, security_headers_hook(settings), allow_header_hook],
        logging_config=ops_logging(settings),
        template_config=TemplateConfig(
            directory=ROOT / "templates", engine=JinjaTemplateEngine, engine_callback=configure_environment
        ),
        csrf_config=_csrf(settings),
        request_class=JsonRequest,  # undecodable JSON bodies: 400, never 500 (app/lib/json_body.py)
        state=State({"services": services, "list_bodies": ListPageBodies(), **ops_state(services)}),
        dependencies={key: _provider(name) for key, name in SERVICE_DEPENDENCIES.items()},
        exception_handlers={
            **{exc: pages_get_html(handler) for exc, handler in exception_handlers.items()},
            SignInRequired: sign_in_redirect,
        },
        plugins=[_alchemy(services), HTMXPlugin()],
        on_startup=[start_services],
        on_shutdown=[close_services],
        openapi_config=_openapi(),
        debug=settings.debug,
    )
    app.read_gate = services.read_gate
    complete_openapi_on_build(app)  # built on first use (a test's app seldom needs it) or at start-up
    return app
