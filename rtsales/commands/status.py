"""`rtsales status`: why it is (not) syncing, at a glance, without calling any API."""

from typing import Annotated

import typer

from rtsales.commands.options import MarketplaceOption, check_marketplace, examples

EXAMPLES = examples("rtsales status", "rtsales status -m US --days 2", "rtsales status --check --json")


def status(
    ctx: typer.Context,
    marketplace: MarketplaceOption = None,
    days: Annotated[int, typer.Option("--days", min=1, max=90, metavar="N", help="Days shown in the hour grid.")] = 7,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 when something needs attention (monitoring).")] = False,
) -> None:
    """Ledger, lock, cooldown, audits and a day x hour grid per marketplace (read-only; no credentials needed)."""
    from rtsales import render
    from rtsales.views.status import collect_status, known_marketplaces

    app = ctx.obj
    db = app.existing_db  # status never creates a database: a wrong path fails, --check included
    if marketplace:
        marketplace = check_marketplace(marketplace, known_marketplaces(db, app.settings))
    report = collect_status(db, app.settings, app.clock.now(), marketplace, days)
    render.emit(report, as_json, render.status)
    if check and not report["ok"]:
        raise typer.Exit(1)
