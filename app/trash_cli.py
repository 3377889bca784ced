"""``athena purge``: delete for good the executions that have been in the trash too long."""

from __future__ import annotations

import datetime as dt

import click


@click.command(name="purge", help="Delete for good the executions in the trash longer than the retention period.")
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
    from app.cli import _run
    from app.domain.executions.trash import purge_trash

    async def make(services):  # type: ignore[no-untyped-def]
        days = services.settings.trash_retention_days if older_than is None else older_than
        return await purge_trash(services.db, dt.timedelta(days=days), dry_run=dry_run, batch_size=batch_size)

    report = _run(make)
    verb = "would purge" if report.dry_run else "purged"
    click.echo(f"{verb} {report.purged} execution(s) deleted before {report.cutoff:%Y-%m-%d %H:%M} UTC")
    for workspace, n in sorted(report.by_workspace.items()):
        click.echo(f"  {workspace}: {n}")
    if not report.dry_run and report.purged:
        click.echo(f"in {report.batches} batch(es); PURGE rows recorded in the operator audit log")
