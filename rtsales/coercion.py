"""Option coercion that leaves pydantic out of a command run that does not need it.

typer 0.29 coerces every parameter whose value is not already a bool through a
pydantic TypeAdapter, and builds that adapter (importing pydantic, ~80 ms) even for
an absent option whose value is None, `--help` included. So every rtsales command
paid for pydantic, the idle cron run and `rtsales status` among them.

`defer(params)` gives such parameters a stand-in for typer's RuntimeParam (the
`coerce(value, param, ctx)` contract): None stays None (() for a multi-value
option), as in typer's own `RuntimeParam.coerce`, and an untouched default stays as
declared; an option named in `paths` (a
plain `Path | None` root option) becomes a Path; any other value goes to typer's
own coercion, built at that moment. If a typer release stops using
`_runtime_param`, nothing here applies and typer behaves exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any


_ABSENT = object()


class _Deferred:
    def __init__(self, as_path: bool = False):
        self.as_path = as_path

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:
            return () if param.multiple or param.nargs == -1 else None
        if value is getattr(param, "default", _ABSENT):  # an unchanged default is already the right type
            return value
        if self.as_path:
            return Path(str(value))
        param._runtime_param = None  # typer's own coercion from here on
        return param.get_runtime_param().coerce(value, param=param, ctx=ctx)


def defer(params: Iterable[Any], paths: Iterable[str] = ()) -> None:
    """Install the stand-in on every parameter whose coercion typer has not built yet."""
    path_names = set(paths)
    for param in params:
        if getattr(param, "_runtime_param", False) is None and hasattr(param, "get_runtime_param"):
            param._runtime_param = _Deferred(as_path=param.name in path_names)
