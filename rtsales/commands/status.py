"""`rtsales status`: what the ledger, locks and cooldowns say, without calling any API."""

from __future__ import annotations

from typing import Annotated

import typer


def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show the hour ledger per marketplace (read-only; needs no credentials)."""
    from rtsales import render
    from rtsales.status import collect_status

    report = collect_status(ctx.obj.db, ctx.obj.settings, ctx.obj.clock.now())
    if as_json:
        render.print_json(report)
    else:
        render.status(report)
