"""`rtsales audit daily|weekly`, `rtsales fill-day` and `rtsales sales`: operator commands."""

from datetime import timedelta
from enum import Enum
from typing import Annotated

import typer

from rtsales.commands.options import JsonOption, KindOption, MarketplaceOption, check_kind, check_marketplace, examples

audit_app = typer.Typer(help="Re-fetch recent hours now to catch Amazon's late revisions.", no_args_is_help=True,
                        epilog=examples("rtsales audit daily", "rtsales audit daily --kind traffic",
                                        "rtsales audit weekly -m DE --json"))


def _marketplaces(ctx: typer.Context, marketplace: str | None, command: str) -> tuple[str, ...]:
    """The marketplaces an SP-API command works on; refuses missing credentials first, so that
    a command that cannot run does not create the database."""
    app = ctx.obj
    app.require_spapi(command)
    if marketplace:
        return (check_marketplace(marketplace, list(app.settings.marketplace_ids)),)
    return app.settings.marketplace_ids


def _audit(ctx: typer.Context, kind: str, marketplace: str | None, report_kind: str | None, as_json: bool) -> None:
    from rtsales import render
    from rtsales.sync.operator import run_audit
    app = ctx.obj
    marketplaces = _marketplaces(ctx, marketplace, f"audit-{kind}")
    kinds = check_kind(report_kind, app.settings.report_types)
    with render.activity(enabled=not as_json):
        report = run_audit(app.db, app.settings, app.clock, kind, marketplaces, kinds=kinds)
    render.emit(report, as_json, render.audit_report)


@audit_app.command("daily", epilog=examples("rtsales audit daily", "rtsales audit daily -m us --json"))
def audit_daily(ctx: typer.Context, marketplace: MarketplaceOption = None, report_kind: KindOption = None,
                as_json: JsonOption = False) -> None:
    """Re-fetch the last AUDIT_DAILY_HOURS hours now (even if cron audits are disabled)."""
    _audit(ctx, "daily", marketplace, report_kind, as_json)


@audit_app.command("weekly", epilog=examples("rtsales audit weekly", "rtsales audit weekly -m us --json"))
def audit_weekly(ctx: typer.Context, marketplace: MarketplaceOption = None, report_kind: KindOption = None,
                 as_json: JsonOption = False) -> None:
    """Re-fetch the last 7 days now (even if cron audits are disabled)."""
    _audit(ctx, "weekly", marketplace, report_kind, as_json)


FILL_DAY_EXAMPLES = examples("rtsales fill-day 2026-11-21", "rtsales fill-day 2026-11-21 --tz Europe/Berlin -m DE",
                             "rtsales fill-day 2026-11-21 --kind traffic")


def fill_day(
    ctx: typer.Context,
    day: Annotated[str, typer.Argument(metavar="DAY", hidden=True)],  # the docstring says what it is
    marketplace: MarketplaceOption = None,
    tz: Annotated[str, typer.Option("--tz", metavar="ZONE",
                                    help="Time zone of the business day (IANA name); hours are shown in it too.")
                  ] = "UTC",
    report_kind: KindOption = None,
    as_json: JsonOption = False,
) -> None:
    """Re-fetch every hour of DAY (YYYY-MM-DD; APPLIED and FAILED included) now, within quota."""
    from rtsales import render
    from rtsales.sync.operator import day_hours
    from rtsales.sync.operator import fill_day as repair
    app = ctx.obj
    marketplaces = _marketplaces(ctx, marketplace, "fill-day")
    kinds = check_kind(report_kind, app.settings.report_types)
    day_hours(day, tz, app.clock.now(), app.settings.fill_day_max_age_days)  # refuse before touching the database
    with render.hour_progress(f"fill-day {day}", enabled=not as_json) as advance:
        report = repair(app.db, app.settings, app.clock, day, tz, marketplaces, on_progress=advance, kinds=kinds)
    render.emit(report, as_json, render.fill_day_report)


class SalesBy(str, Enum):  # a choice on the command line; the core takes its value
    ASIN = "asin"
    HOUR = "hour"


class Compare(str, Enum):
    YESTERDAY = "yesterday"
    LAST_WEEK = "last-week"


SALES_EXAMPLES = examples("rtsales sales", "rtsales sales --by hour --tz America/New_York -m US",
                          "rtsales sales --hours 168 --csv > week.csv", "rtsales sales --compare yesterday -m DE")


def sales(
    ctx: typer.Context,
    hours: Annotated[int, typer.Option("--hours", min=1, max=24 * 400, metavar="N",
                                       help="Window: the last N hours of known data.")] = 24,
    marketplace: MarketplaceOption = None,
    by: Annotated[SalesBy | None, typer.Option("--by", case_sensitive=False, metavar="|".join(b.value for b in SalesBy),
                                               help="One row per ASIN (default), or per hour (every hour, 0 when none "
                                                    "sold).")] = None,
    tz: Annotated[str, typer.Option("--tz", metavar="ZONE", help="Show hours in this IANA time zone.")] = "UTC",
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout.")] = False,
    compare: Annotated[Compare | None, typer.Option("--compare", case_sensitive=False,
                                                    metavar="|".join(c.value for c in Compare),
                                                    help="Hour by hour against the same hours of the day before or "
                                                         "a week before, with a bar per row.")] = None,
) -> None:
    """Totals from the local database (no API call): works during a cooldown, showing last known data.

    When the window holds traffic or inventory (REPORT_TYPES keeps them), glance views, conversion
    (units per glance view) and sellable units stand beside the sales."""
    from rtsales import render
    from rtsales.errors import UsageError
    from rtsales.views.sales import sales_summary
    from rtsales.views.status import known_marketplaces
    from rtsales.zones import zone
    if as_json and as_csv:
        raise UsageError("choose one of --json and --csv")
    if compare and by == SalesBy.ASIN:
        raise UsageError("--compare compares hour by hour", hint="leave out --by asin")
    display_zone = zone(tz)  # before opening (or creating) the database
    app = ctx.obj
    known = known_marketplaces(app.existing_db, app.settings)
    chosen = [check_marketplace(marketplace, known)] if marketplace else known
    if compare:
        from rtsales.views.compare import compare_hours
        report = compare_hours(app.existing_db, chosen, app.clock.now(), hours, compare.value, display_zone)
    else:
        report = sales_summary(app.existing_db, chosen, app.clock.now(), hours, (by or SalesBy.ASIN).value,
                               timedelta(minutes=app.settings.quota_cooldown_max_minutes), display_zone)
    if as_json:
        render.print_json(report)
    elif as_csv:
        render.sales_csv(report)
    else:
        (render.sales_compare if compare else render.sales_table)(report)
