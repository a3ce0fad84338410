"""`rtsales watch`: stock-outs, lost listings and spikes from the hours already held (no API call)."""

from typing import Annotated

import typer

from rtsales.commands.options import JsonOption, MarketplaceOption, check_marketplace, examples

EXAMPLES = examples("rtsales watch", "rtsales watch --all -m US", "rtsales watch --json --no-record",
                    "20 * * * *  rtsales watch   # a crontab line: cron mails each new event once (exit 1)")


def watch(
    ctx: typer.Context,
    marketplace: MarketplaceOption = None,
    show_all: Annotated[bool, typer.Option("--all", help="Also the flags reported by earlier runs.")] = False,
    as_json: JsonOption = False,
    no_record: Annotated[bool, typer.Option("--no-record",
                                            help="Remember nothing: the next run reports the same flags again.")
                         ] = False,
) -> None:
    """Compare the latest hours of each ASIN with its baseline and flag drops, spikes, broken conversion, new
    and vanished ASINs; exit 1 when something new is flagged. Reads the database only (no API call, no lock,
    no credentials); remembers what it reported, so that cron mails each event once."""
    from rtsales import render
    from rtsales.views.status import known_marketplaces
    from rtsales.views.watch import Thresholds, watch_report

    app = ctx.obj
    db = app.existing_db  # never creates a database: a wrong path fails with one line
    known = known_marketplaces(db, app.settings)
    chosen = [check_marketplace(marketplace, known)] if marketplace else known
    report = watch_report(db, chosen, Thresholds.of(app.settings), app.clock.now(), show_all=show_all,
                          record=not no_record)
    render.emit(report, as_json, render.watch)
    if report["new"]:
        raise typer.Exit(1)
