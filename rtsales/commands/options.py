"""Options shared by several commands, and their validation."""

from __future__ import annotations

from typing import Annotated

import typer

from rtsales.errors import UsageError

MarketplaceOption = Annotated[str | None, typer.Option("--marketplace", "-m", help="Only this marketplace ID.")]


def check_marketplace(marketplace: str, known: list[str]) -> None:
    if marketplace not in known:
        listed = ", ".join(known) or "none yet"
        raise UsageError(f"unknown marketplace {marketplace!r} (known: {listed})",
                         hint="add it to MARKETPLACE_IDS or pick one of the known IDs")
