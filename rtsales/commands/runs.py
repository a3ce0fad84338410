"""`rtsales runs`: the recent sync, audit and fill-day runs from the run history (read-only)."""

from typing import Annotated

import typer

from rtsales.commands.options import examples

EXAMPLES = examples("rtsales runs", "rtsales runs --limit 5", "rtsales runs --json")


def runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000, metavar="N",
                                       help="How many runs, newest first.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """When each run started and ended, how it ended (exit code, error), its API calls, 429s and hours."""
    from datetime import timedelta

    from rtsales import render
    from rtsales.sync.runs import history

    app = ctx.obj
    report = history(app.existing_db, app.clock.now(), timedelta(minutes=app.settings.lock_ttl_minutes), limit)
    render.emit(report, as_json, render.runs_table)
