"""``athena purge`` (the trash's retention, expired idempotency keys) and ``athena day-counts`` (the
kept per-day counts)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import click

from app.cli.context import CliContext, run

if TYPE_CHECKING:
    from app.domain.executions.trash import PurgeReport


@click.command(
    name="purge",
    help="Delete for good the executions in the trash longer than the retention period, and expired idempotency keys.",
)
@click.option(
    "--older-than",
    "older_than",
    type=click.IntRange(min=0),
    default=None,
    help="Days in the trash (default: TRASH_RETENTION_DAYS, 30).",
)
@click.option("--dry-run", is_flag=True, help="Only count what would be purged.")
@click.option("--batch-size", type=click.IntRange(min=1, max=10_000), default=500, show_default=True)
def purge(older_than: int | None, dry_run: bool, batch_size: int) -> None:
    """Purge (or with ``--dry-run`` count) the executions deleted before the retention cut-off, and
    the idempotency keys past ``IDEMPOTENCY_KEY_HOURS`` (the server also purges those every 10 minutes)."""
    from app.domain.executions.trash import purge_trash

    async def make(services: CliContext) -> tuple[PurgeReport, int]:
        days = services.settings.trash_retention_days if older_than is None else older_than
        trash = await purge_trash(services.db, dt.timedelta(days=days), dry_run=dry_run, batch_size=batch_size)
        return trash, await _purge_idempotency_keys(services, dry_run)

    report, keys = run(make)
    verb = "would purge" if report.dry_run else "purged"
    click.echo(f"{verb} {report.purged} execution(s) deleted before {report.cutoff:%Y-%m-%d %H:%M} UTC")
    for workspace, n in sorted(report.by_workspace.items()):
        click.echo(f"  {workspace}: {n}")
    if not report.dry_run and report.purged:
        click.echo(f"in {report.batches} batch(es); PURGE rows recorded in the operator audit log")
    click.echo(f"{verb} {keys} expired idempotency key(s)")


async def _purge_idempotency_keys(services: CliContext, dry_run: bool) -> int:
    """Delete (or count) the idempotency keys past their ``expires_at``."""
    from sqlalchemy import func, select

    from app.db.models import IdempotencyKey
    from app.lib.idempotency_store import IdempotencyStore, utcnow

    if dry_run:
        async with services.db.read() as session:
            query = select(func.count()).select_from(IdempotencyKey).where(IdempotencyKey.expires_at <= utcnow())
            return int((await session.execute(query)).scalar_one())
    retention = dt.timedelta(hours=services.settings.idempotency_key_hours)
    return await IdempotencyStore(services.db, retention).purge_expired()


@click.command(
    name="day-counts",
    help="Check the per-day execution counts the triggers keep against the executions (exit 1 on a difference).",
)
@click.option("--repair", is_flag=True, help="Rebuild the table when it differs (writes to executions wait meanwhile).")
def day_counts(repair: bool) -> None:
    """Compare ``execution_day_counts`` with the executions; ``--repair`` rebuilds it."""
    from app.domain.executions.day_counts import check_day_counts

    report = run(lambda services: check_day_counts(services.db, repair=repair))
    click.echo(f"{report.rows} day-count row(s); {len(report.differing)} differ from the executions")
    for workspace_id, day, workflow_id, status, user_id, kept, actual in report.differing[:20]:
        click.echo(
            f"  workspace {workspace_id} {day} workflow {workflow_id} {status} user {user_id}:"
            f" kept {kept}, actual {actual}"
        )
    if report.repaired:
        click.echo("rebuilt from the executions")
    elif report.differing:
        raise SystemExit(1)
