"""``athena serve``: migrate, then run the app under uvicorn (the production server)."""

from __future__ import annotations

import importlib.util
import os

import click


@click.command(name="serve", help="Migrate the database, then serve the app (production server).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Apply the migrations, then serve ``app.asgi:create_app`` with the production settings."""
    import uvicorn

    from app.db.migrate import upgrade_to_head
    from app.ops.logs import configure_logging

    # JSON logs by default in production; create_app applies the same settings in the server.
    os.environ.setdefault("LOG_FORMAT", "json")
    configure_logging(os.environ["LOG_FORMAT"], os.environ.get("LOG_LEVEL", "info"))
    upgrade_to_head()
    click.echo(f"Athena Monitor on http://{host}:{port}  (API docs: /schema)")
    if (os.environ.get("WEB_CONCURRENCY") or "1").strip() != "1":
        click.echo("WEB_CONCURRENCY is ignored: athena serve is one process; run more instances instead.", err=True)
    uvicorn.run(
        "app.asgi:create_app",
        factory=True,
        host=host,
        port=port,
        # One process, whatever WEB_CONCURRENCY says (uvicorn forks that many workers when `workers`
        # is None): the per-user socket cap, the hashing pool, in-memory sign-in limits and the
        # in-process bus are all per process (docs/deployment.md, "Scaling out").
        workers=1,
        ws_per_message_deflate=False,  # ~70 KiB per socket and a compression per client per message
        ws_max_size=64 * 1024,
        # Slow clients (docs/reliability.md): a deadline and a size bound on every request head,
        # idle keep-alive connections closed after 5 s, h11's buffer bounded as well.
        http=_http_protocol(),
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=16 * 1024,
        proxy_headers=True,
        log_config=None,  # ours (LOG_FORMAT), not uvicorn's: its loggers propagate to the root handler
        log_level=os.environ.get("LOG_LEVEL", "info").lower(),
    )


def _http_protocol() -> type:
    """uvicorn's HTTP protocol (httptools when installed, else h11) with the request-head deadline."""
    from app.ops.http_guard import GuardedH11Protocol, GuardedHttpToolsProtocol

    if importlib.util.find_spec("httptools") is None:
        return GuardedH11Protocol
    return GuardedHttpToolsProtocol
