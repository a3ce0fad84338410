"""`rtsales keepa ...`: the token balance and product titles / sales ranks from Keepa."""

from typing import Annotated

import typer

from rtsales.commands.options import JsonOption, complete_codes, examples

app = typer.Typer(help="Keepa product data, spent under a token budget.", no_args_is_help=True,
                  epilog=examples("rtsales keepa balance", "rtsales keepa products --from-sales --domain DE"))
# Not a strict choice: Keepa's domain numbers (3) and GB are accepted too.
DOMAIN_CODES = "US|UK|DE|FR|JP|CA|IT|ES|IN|MX|BR"


def _complete_domain(incomplete: str) -> list[str]:
    return complete_codes(DOMAIN_CODES.split("|"), incomplete)


@app.command("balance", epilog=examples("rtsales keepa balance", "rtsales keepa balance --cost 100 --json"))
def balance(
    ctx: typer.Context,
    cost: Annotated[int, typer.Option("--cost", min=0, metavar="TOKENS",
                                      help="Tell whether a request of this many tokens could run now.")] = 1,
    as_json: JsonOption = False,
) -> None:
    """Tokens left, refill, and the wait for a request of --cost (calls Keepa only on a status older than 60 s)."""
    from rtsales import render
    from rtsales.keepa.balance import balance_report

    ctx.obj.settings.require_keepa()  # before opening (or creating) the database
    report = balance_report(ctx.obj.db, ctx.obj.settings, ctx.obj.clock, cost)
    render.emit(report, as_json, render.keepa_balance)


@app.command("products", epilog=examples("rtsales keepa products B000000001 B000000002",
                                         "rtsales keepa products --from-sales --domain UK --no-wait --json"))
def products(
    ctx: typer.Context,
    asins: Annotated[list[str] | None, typer.Argument(metavar="ASIN", hidden=True)] = None,
    from_sales: Annotated[bool, typer.Option(
        "--from-sales", help="Also every ASIN in vendor_realtime_sales for the domain's marketplace.")] = False,
    domain: Annotated[str, typer.Option(
        "--domain", metavar=DOMAIN_CODES, autocompletion=_complete_domain,
        help="Keepa domain (any case; GB or Keepa's number work too).")] = "US",
    no_wait: Annotated[bool, typer.Option(
        "--no-wait", help="Fail (exit 75) instead of waiting for tokens.")] = False,
    buffer: Annotated[int, typer.Option(
        "--buffer", min=0, metavar="TOKENS", help="Extra tokens this run keeps above the policy's threshold.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Fetch each ASIN's title and sales rank (cached 24 h; cached ASINs cost nothing) and report tokens spent."""
    from rtsales import render
    from rtsales.keepa.products import fetch_products

    ctx.obj.settings.require_keepa()  # before opening (or creating) the database
    with render.wait_progress() as on_wait:
        report = fetch_products(ctx.obj.db, ctx.obj.settings, ctx.obj.clock, asins or [], from_sales=from_sales,
                                domain=domain, wait=not no_wait, caller_buffer=buffer, on_wait=on_wait)
    render.emit(report, as_json, render.keepa_products)
