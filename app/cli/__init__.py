"""The ``athena`` command line: one click group whose commands are imported when they run.

Importing this package costs click and nothing else: each command lives in a module of its own
(``accounts``, ``serve``, ``maintenance``, ``demo``, ``bridge``) that imports click at the top and the app's
code inside the command, so ``athena --help`` never loads SQLAlchemy, Alembic, Redis or Litestar.
Litestar's own commands (``database`` from advanced-alchemy, ``run``, ``routes``, ``schema``...)
are handed to Litestar's CLI with the app factory, the only place the whole app is built.

Nothing in ``app`` imports this package: it sits on top of everything (no import cycle).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from typing import Any

import click

APP_FACTORY = "app.asgi:create_app"

# command name -> "module:attribute" of a click command, imported on first use
COMMANDS = {
    "serve": "app.cli.serve:serve",
    "workspaces": "app.cli.accounts:workspaces",
    "users": "app.cli.accounts:users",
    "tokens": "app.cli.accounts:tokens",
    "purge": "app.cli.maintenance:purge",
    "day-counts": "app.cli.maintenance:day_counts",
    "demo": "app.cli.demo:demo",
    "simulate": "app.cli.demo:simulate",
    "bridge": "app.cli.bridge:bridge",
}

# Litestar's CLI commands (and advanced-alchemy's ``database``), run with the app factory
LITESTAR_COMMANDS = {
    "database": "Manage the database schema (Alembic): upgrade, downgrade, history... (--help for more)",
    "info": "Show information about the app (Litestar).",
    "routes": "Show the app's routes (Litestar).",
    "run": "Run the app with Litestar's development server (use `athena serve` in production).",
    "schema": "Export the OpenAPI schema (Litestar).",
    "sessions": "Manage server-side sessions (Litestar).",
    "version": "Show the Litestar version.",
}


def litestar_command(name: str, help_text: str) -> click.Command:
    """A command that passes its arguments, ``--help`` included, to Litestar's CLI."""

    @click.pass_context
    def forward(ctx: click.Context) -> None:
        os.environ.setdefault("LITESTAR_APP", APP_FACTORY)
        from litestar.cli.main import litestar_group

        litestar_group.main(args=[name, *ctx.args], prog_name=ctx.find_root().info_name)

    return click.Command(
        name,
        callback=forward,
        help=help_text,
        short_help=help_text,
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


class LazyGroup(click.Group):
    """Lists every command by name; imports a command's module only when it is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*COMMANDS, *LITESTAR_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name].split(":")
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
        if cmd_name in LITESTAR_COMMANDS:
            return litestar_command(cmd_name, LITESTAR_COMMANDS[cmd_name])
        return None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def athena() -> None:
    """Athena Monitor: serve the dashboard and API, manage accounts, run maintenance."""


def main(argv: list[str] | None = None) -> Any:
    """The ``athena`` console script. A ``.env`` in the working directory is read first, as
    Litestar's CLI did (when python-dotenv is installed; variables already set win)."""
    with contextlib.suppress(ImportError):
        import dotenv

        dotenv.load_dotenv(dotenv.find_dotenv(usecwd=True))
    return athena.main(args=sys.argv[1:] if argv is None else argv, prog_name="athena")
