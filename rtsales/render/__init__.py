"""All terminal output: the only package that imports rich.

`base` sets up the two consoles (stdout, stderr) and the primitives every view draws
with; `state` draws status, runs and doctor; `runs` the sync, demo, audit, fill-day and
sales reports and the progress shown while waiting; `apis` xAI and Keepa; `watch` the flags
of `rtsales watch`. Commands call them as `render.<view>(data)`.
"""

from rtsales.render.apis import keepa_balance, keepa_products, wait_progress, xai_answer, xai_quota
from rtsales.render.base import console, emit, err_console, error, info, print_json, table, text, warn
from rtsales.render.runs import (activity, audit_report, demo_cycle, demo_summary, fill_day_report, hour_progress,
                                 sales_compare, sales_csv, sales_table, simulator_ready, sync_failures,
                                 sync_result)
from rtsales.render.state import doctor, runs_table, status
from rtsales.render.watch import watch

__all__ = ["activity", "audit_report", "console", "demo_cycle", "demo_summary", "doctor", "emit", "err_console",
           "error", "fill_day_report", "hour_progress", "info", "keepa_balance", "keepa_products", "print_json",
           "runs_table", "sales_compare", "sales_csv", "sales_table", "simulator_ready", "status", "sync_failures",
           "sync_result", "table", "text", "wait_progress", "warn", "watch", "xai_answer", "xai_quota"]
