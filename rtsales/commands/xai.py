"""`rtsales xai quota` and `rtsales xai ask`: the xAI daily cap and the cached answers."""

from typing import Annotated

import typer

from rtsales.commands.options import JsonOption, examples

app = typer.Typer(help="Ask xAI (Grok) product questions within a daily cap, through a cache.",
                  no_args_is_help=True, epilog=examples("rtsales xai quota", 'rtsales xai ask "Is this a textbook?"'))


@app.command("quota", epilog=examples("rtsales xai quota", "rtsales xai quota --json"))
def quota(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show today's xAI calls against the limit, tokens, cache counters and any cooldown (needs no key)."""
    from rtsales import render
    from rtsales.xai.report import quota_report

    report = quota_report(ctx.obj.existing_db, ctx.obj.settings, ctx.obj.clock.now())
    render.emit(report, as_json, render.xai_quota)


@app.command("ask", epilog=examples(
    'rtsales xai ask "Is this title a textbook?" --title "Calculus, 9th Edition" --category Books',
    'rtsales xai ask "Does it sell before school starts?" --season "back to school" --price 24.99 --json'))
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(metavar="QUESTION", hidden=True)],
    title: Annotated[str | None, typer.Option("--title", metavar="TEXT", help="Product title.")] = None,
    category: Annotated[str | None, typer.Option("--category", metavar="TEXT", help="Product category.")] = None,
    season: Annotated[str | None, typer.Option("--season", metavar="TEXT",
                                               help="Season, e.g. 'back to school'.")] = None,
    price: Annotated[float | None, typer.Option("--price", min=0, metavar="AMOUNT",
                                                help="Price in the listing currency.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Answer QUESTION through the cache (free) or one xAI call within XAI_DAILY_LIMIT; says which."""
    from rtsales import render
    from rtsales.xai.ask import ask as ask_xai
    from rtsales.xai.cache import ProductFacts

    facts = ProductFacts(title=title, category=category, season=season, price=price)
    result = ask_xai(ctx.obj.db, ctx.obj.settings, ctx.obj.clock, question, facts)
    if as_json:
        render.print_json(result.as_dict())
    else:
        render.xai_answer(result.as_dict())
