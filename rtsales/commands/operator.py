"""`rtsales audit daily|weekly`, `rtsales fill-day` and `rtsales sales`: operator commands."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from rtsales.commands.options import MarketplaceOption, check_marketplace

audit_app = typer.Typer(help="Re-fetch recent hours now to catch Amazon's late revisions.", no_args_is_help=True)


def _marketplaces(ctx: typer.Context, marketplace: str | None) -> tuple[str, ...]:
    """The marketplaces an SP-API command works on; refuses missing credentials first, so that
    a command that cannot run does not create or touch the database."""
    app = ctx.obj
    app.settings.require_spapi()
    if marketplace:
        check_marketplace(marketplace, list(app.settings.marketplace_ids))
        return (marketplace,)
    return app.settings.marketplace_ids


def _audit(ctx: typer.Context, kind: str, marketplace: str | None, as_json: bool) -> None:
    from rtsales import render
    from rtsales.operator import run_audit
    app = ctx.obj
    marketplaces = _marketplaces(ctx, marketplace)
    with render.activity(enabled=not as_json):
        report = run_audit(app.db, app.settings, app.clock, kind, marketplaces)
    render.emit(report, as_json, render.audit_report)


JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@audit_app.command("daily")
def audit_daily(ctx: typer.Context, marketplace: MarketplaceOption = None, as_json: JsonOption = False) -> None:
    """Re-fetch the last AUDIT_DAILY_HOURS hours now (even if cron audits are disabled)."""
    _audit(ctx, "daily", marketplace, as_json)


@audit_app.command("weekly")
def audit_weekly(ctx: typer.Context, marketplace: MarketplaceOption = None, as_json: JsonOption = False) -> None:
    """Re-fetch the last 7 days now (even if cron audits are disabled)."""
    _audit(ctx, "weekly", marketplace, as_json)


def fill_day(
    ctx: typer.Context,
    day: Annotated[str, typer.Argument(help="The day to repair, YYYY-MM-DD.")],
    marketplace: MarketplaceOption = None,
    tz: Annotated[str, typer.Option("--tz", help="Time zone of the business day (IANA name).")] = "UTC",
    as_json: JsonOption = False,
) -> None:
    """Re-fetch every hour of one day (APPLIED and FAILED included) now, within quota."""
    from rtsales import render
    from rtsales.operator import day_hours
    from rtsales.operator import fill_day as repair
    app = ctx.obj
    marketplaces = _marketplaces(ctx, marketplace)
    day_hours(day, tz, app.clock.now(), app.settings.fill_day_max_age_days)  # refuse before touching the database
    with render.hour_progress(f"fill-day {day}", enabled=not as_json) as advance:
        report = repair(app.db, app.settings, app.clock, day, tz, marketplaces, on_progress=advance)
    render.emit(report, as_json, render.fill_day_report)


def sales(
    ctx: typer.Context,
    hours: Annotated[int, typer.Option("--hours", min=1, max=24 * 400, help="Window: the last N hours.")] = 24,
    marketplace: MarketplaceOption = None,
    by: Annotated[str, typer.Option("--by", help="Group by 'asin' or 'hour'.")] = "asin",
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout.")] = False,
) -> None:
    """Totals from the local database (no API call): works during a cooldown, showing last known data."""
    from rtsales import render
    from rtsales.errors import UsageError
    from rtsales.sales import sales_summary
    from rtsales.status import known_marketplaces
    if by not in ("asin", "hour"):
        raise UsageError(f"--by must be 'asin' or 'hour', not {by!r}")
    if as_json and as_csv:
        raise UsageError("choose one of --json and --csv")
    app = ctx.obj
    known = known_marketplaces(app.db, app.settings)
    if marketplace:
        check_marketplace(marketplace, known)
    report = sales_summary(app.db, [marketplace] if marketplace else known, app.clock.now(), hours, by,
                           timedelta(minutes=app.settings.quota_cooldown_max_minutes))
    if as_json:
        render.print_json(report)
    elif as_csv:
        render.sales_csv(report)
    else:
        render.sales_table(report)
