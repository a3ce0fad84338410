"""The root Typer app: global options, command groups, and the one error boundary.

Command modules are imported here; they import their core modules lazily inside
the command so that `rtsales status` never pays for httpx or tenacity. `render`
(rich's console, tables, progress) is imported only when something is printed, and
options are coerced without pydantic unless a value needs it (`rtsales.coercion`),
so a quiet cron run with nothing to do pays for neither.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from rtsales import __version__, coercion
from rtsales.commands import demo, keepa, simulator, status, sync, xai
from rtsales.errors import ExitCode, RtsalesError


def _error(message: str, hint: str | None = None) -> None:
    from rtsales import render

    render.error(message, hint)


class _ErrorBoundary(TyperGroup):
    """Maps RtsalesError (and, outside debug, any error) to one stderr line and an exit code."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        coercion.defer(self.get_params(ctx), paths=("db", "env_file"))
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            coercion.defer(command.get_params(ctx))
        return name, command, rest

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except RtsalesError as exc:
            _error(exc.message, exc.hint)
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            _error("interrupted")
            raise typer.Exit(130) from None
        except Exception as exc:
            if os.environ.get("RTSALES_DEBUG"):
                raise
            _error(f"unexpected error: {exc.__class__.__name__}: {exc}",
                   "set RTSALES_DEBUG=1 to see the traceback")
            raise typer.Exit(int(ExitCode.FAILURE)) from None


app = typer.Typer(
    cls=_ErrorBoundary,
    name="rtsales",
    help="Keep an hour-by-hour local copy of Amazon Vendor real-time sales, within SP-API quotas.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rtsales {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[Path | None, typer.Option("--db", help="SQLite file (default: RTSALES_DB or ./rtsales.db).")] = None,
    env_file: Annotated[Path | None, typer.Option("--env-file", help="Read settings from this file instead of ./.env.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging on stderr (secrets masked).")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False,
) -> None:
    """Load settings once, here, and hand them to every command."""
    from rtsales import logs
    from rtsales.config import load_settings
    from rtsales.context import AppContext

    logs.configure(verbose)
    app_ctx = AppContext(settings=load_settings(env_file=env_file, db_path=db), verbose=verbose)
    ctx.obj = app_ctx
    ctx.call_on_close(app_ctx.close)


app.command("status")(status.status)
app.command("sync")(sync.sync)
app.command("demo")(demo.demo)
app.add_typer(simulator.app, name="simulator")
app.add_typer(xai.app, name="xai")
app.add_typer(keepa.app, name="keepa")


def main() -> None:
    app()
