"""`rtsales demo`: the real sync path against the built-in simulator, days of cron in seconds."""

import logging
from pathlib import Path
from typing import Annotated

import typer

from rtsales.commands.options import examples

EXAMPLES = examples("rtsales demo", "rtsales --db demo.db demo --days 5 --seed 3")


def demo(
    ctx: typer.Context,
    days: Annotated[int, typer.Option(min=1, max=14, metavar="N", help="Simulated days of 15-minute cron runs.")] = 2,
    seed: Annotated[int, typer.Option(metavar="N", help="Seed of the simulated sales and faults.")] = 7,
) -> None:
    """Watch rtsales fill its ledger (sales, traffic and inventory) from the simulator, hit a quota cooldown
    and recover."""
    from rtsales import render
    from rtsales.clock import floor_hour
    from rtsales.simulator.cron import run_demo
    from rtsales.views.sales import sales_summary
    from rtsales.views.status import collect_status

    app = ctx.obj
    if not app.verbose:  # the demo narrates 429s itself; the engine's warnings would repeat them
        logging.getLogger("rtsales").setLevel(logging.ERROR)
    db_path = app.settings.db_path if ctx.find_root().params.get("db") else Path("demo.db")
    end = floor_hour(app.clock.now())
    render.info(f"Simulating {days} days of cron (every 15 minutes) into {db_path} ...")
    cron = run_demo(db_path, end, days, seed, render.demo_cycle)
    render.demo_summary(cron.sim.log.counts(), len(cron.results))
    render.status(collect_status(cron.db, cron.settings, cron.clock.now()))
    # What the three kinds hold together: sales, glance views, conversion and stock, hour by hour.
    first = cron.settings.marketplace_ids[0]
    render.sales_table(sales_summary(cron.db, [first], cron.clock.now(), 6, "hour"))
