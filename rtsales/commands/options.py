"""Options shared by several commands, their validation, and the examples every help ends with."""

from typing import Annotated

import typer

from rtsales.amazon import marketplaces
from rtsales.errors import UsageError
from rtsales.kinds import KINDS

def complete_codes(codes: list[str], incomplete: str) -> list[str]:
    """Tab completion of codes accepted in any case, offered in the case typed (typer keeps only
    the offers that start with what was typed)."""
    return [code if code.startswith(incomplete) else code.lower() for code in codes
            if code.startswith(incomplete.upper())]


def _complete_marketplace(incomplete: str) -> list[str]:
    """Country codes: people know DE, not A1PA6795UKMFR9."""
    return complete_codes(list(marketplaces.BY_COUNTRY), incomplete)


MarketplaceOption = Annotated[str | None, typer.Option(
    "--marketplace", "-m", metavar="ID|CODE", autocompletion=_complete_marketplace,
    help="Only this marketplace: its ID or country code, any case (ATVPDKIKX0DER, US, de, GB).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _complete_kind(incomplete: str) -> list[str]:
    return [kind for kind in KINDS if kind.startswith(incomplete.lower())]


KindOption = Annotated[str | None, typer.Option(
    "--kind", "-k", metavar="|".join(KINDS), autocompletion=_complete_kind,
    help="Only this report kind (default: every kind in REPORT_TYPES).")]


def check_kind(kind: str | None, configured: tuple[str, ...]) -> tuple[str, ...] | None:
    """The kinds a command works on: `kind` alone when it is configured, None (every configured kind)
    when none is given; else a usage error naming the kinds it could be."""
    if kind is None:
        return None
    name = kind.strip().lower()
    if name in configured:
        return (name,)
    if name in KINDS:
        raise UsageError(f"report kind {name} is not in REPORT_TYPES ({', '.join(configured)})",
                         hint=f"add it to REPORT_TYPES (e.g. REPORT_TYPES={','.join([*configured, name])})")
    raise UsageError(f"unknown report kind {kind[:40]!r} (known: {', '.join(KINDS)})",
                     hint=f"use one of {', '.join(configured)}")


def examples(*lines: str) -> str:
    """A help epilog of command lines to copy; the '\\b' paragraph keeps click from re-wrapping them."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


def check_marketplace(marketplace: str, known: list[str]) -> str:
    """The ID that `marketplace` (an ID or a country code) names among the known ones; else a usage
    error saying whether it is a typo (with the nearest known one) or a marketplace not configured."""
    found = marketplaces.find(marketplace)
    if found is not None and found.marketplace_id in known:
        return found.marketplace_id
    listed = ", ".join(map(marketplaces.label, known)) or "none yet"
    hint = "add it to MARKETPLACE_IDS or pick one of the known IDs or country codes"
    if found is not None:
        raise UsageError(f"marketplace {marketplaces.label(found.marketplace_id)} is not configured (known: {listed})",
                         hint=hint)
    guess = marketplaces.nearest(marketplace, known)
    typo = f"; did you mean {guess!r}?" if guess else ""
    raise UsageError(f"unknown marketplace {marketplace[:40]!r}{typo} (known: {listed})", hint=hint)
