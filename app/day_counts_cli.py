"""``athena day-counts``: check ``execution_day_counts`` against the executions, or rebuild it."""

from __future__ import annotations

import click


@click.command(
    name="day-counts",
    help="Check the per-day execution counts the triggers keep against the executions (exit 1 on a difference).",
)
@click.option("--repair", is_flag=True, help="Rebuild the table when it differs (writes to executions wait meanwhile).")
def day_counts(repair: bool) -> None:
    from app.cli import _run
    from app.domain.executions.day_counts import check_day_counts

    report = _run(lambda services: check_day_counts(services.db, repair=repair))
    click.echo(f"{report.rows} day-count row(s); {len(report.differing)} differ from the executions")
    for workspace_id, day, workflow_id, status, kept, actual in report.differing[:20]:
        click.echo(f"  workspace {workspace_id} {day} workflow {workflow_id} {status}: kept {kept}, actual {actual}")
    if report.repaired:
        click.echo("rebuilt from the executions")
    elif report.differing:
        raise SystemExit(1)
