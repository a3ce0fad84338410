"""`rtsales doctor`: is everything a cron run needs in place? One line per check."""

from typing import Annotated

import typer

from rtsales.commands.options import examples

EXAMPLES = examples("rtsales doctor", "rtsales doctor --quiet", "rtsales doctor --json")


def doctor(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Only the checks that warn or fail: nothing when all pass (cron).")] = False,
) -> None:
    """Check settings, database, file modes, Amazon login and report access, marketplaces, cron, cooldowns and
    the client secret's age: ✔, ! (warning) or ✘ with its fix on each line; exit 1 on any ✘. Never spends
    createReport quota."""
    from rtsales import render
    from rtsales.views.doctor import run_doctor

    root = ctx.find_root().params  # the root callback left settings to doctor: it reports them instead of failing
    report = run_doctor(root.get("env_file"), root.get("db"))
    render.emit(report, as_json, lambda data: render.doctor(data, problems_only=quiet))
    if not report["ok"]:
        raise typer.Exit(1)
