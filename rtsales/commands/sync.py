"""`rtsales sync`: one cron cycle over every configured marketplace."""

from typing import Annotated

import typer

from rtsales.commands.options import KindOption, check_kind, examples

EXAMPLES = examples("rtsales sync", "rtsales sync --quiet   # from cron: prints only problems", "rtsales sync --json",
                    "rtsales sync --kind traffic")


def sync(
    ctx: typer.Context,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing unless something is wrong.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable summary.")] = False,
    report_kind: KindOption = None,
) -> None:
    """Advance the hour ledger as far as quota allows, then exit (run it from cron every 15 minutes)."""
    from rtsales.sync.engine import SyncRun

    app = ctx.obj
    app.require_spapi("sync")  # before opening (or creating) the database
    kinds = check_kind(report_kind, app.settings.report_types)
    if quiet:  # rich: not for a quiet cron run
        result = SyncRun(app.db, app.settings, app.clock, kinds=kinds).run()
    else:
        from rtsales import render

        with render.activity():  # on a terminal: what it does and waits for
            result = SyncRun(app.db, app.settings, app.clock, kinds=kinds).run()
    if as_json or not quiet:
        from rtsales import render

        render.emit(result, as_json, render.sync_result)
    if result.hours_failed:
        from rtsales import render

        render.sync_failures(result)  # on stderr, --quiet or not: cron mails it
    raise typer.Exit(result.exit_code)
