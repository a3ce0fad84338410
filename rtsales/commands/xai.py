"""`rtsales xai quota` and `rtsales xai ask`: the xAI daily cap and the cached answers."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Ask xAI (Grok) product questions within a daily cap, through a cache.",
                  no_args_is_help=True)

_JSON = typer.Option("--json", help="Machine-readable output.")


@app.command("quota")
def quota(ctx: typer.Context, as_json: Annotated[bool, _JSON] = False) -> None:
    """Show today's xAI calls against the limit, tokens, cache counters and any cooldown (needs no key)."""
    from rtsales import render
    from rtsales.xai.report import quota_report

    report = quota_report(ctx.obj.existing_db, ctx.obj.settings, ctx.obj.clock.now())
    render.emit(report, as_json, render.xai_quota)


@app.command("ask")
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help='The question, e.g. "Is this title a textbook?".')],
    title: Annotated[str | None, typer.Option("--title", help="Product title.")] = None,
    category: Annotated[str | None, typer.Option("--category", help="Product category.")] = None,
    season: Annotated[str | None, typer.Option("--season", help="Season, e.g. 'back to school'.")] = None,
    price: Annotated[float | None, typer.Option("--price", min=0, help="Price in the listing currency.")] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Answer through the cache (free) or one xAI call within XAI_DAILY_LIMIT; says which."""
    from rtsales import render
    from rtsales.xai.ask import ask as ask_xai
    from rtsales.xai.cache import ProductFacts

    facts = ProductFacts(title=title, category=category, season=season, price=price)
    result = ask_xai(ctx.obj.db, ctx.obj.settings, ctx.obj.clock, question, facts)
    if as_json:
        render.print_json(result.as_dict())
    else:
        render.xai_answer(result.as_dict())
