"""The root Typer app: global options, command groups, and the one error boundary.

Command modules are imported here; they import their core modules lazily inside
the command so that `rtsales status` never pays for httpx or tenacity. `render`
(rich's console, tables, progress) is imported only when something is printed, and
options are coerced without pydantic unless a value needs it (`rtsales.coercion`),
so a quiet cron run with nothing to do pays for neither.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from rtsales import __version__, coercion
from rtsales.commands import demo, doctor, keepa, operator, runs, simulator, status, sync, watch, xai
from rtsales.commands.options import examples
from rtsales.errors import ExitCode, RtsalesError, Terminated


def _is_usage_error(exc: BaseException) -> bool:
    """A bad command, option or argument, known through typer's public API only: its
    exceptions are TyperExceptions, and usage errors are the ones that exit 2. A bare
    `rtsales` (help shown for want of arguments) keeps typer's own behaviour."""
    return (isinstance(exc, typer.TyperException) and getattr(exc, "exit_code", None) == ExitCode.USAGE
            and type(exc).__name__ != "NoArgsIsHelpError")


def _usage(exc: Any) -> NoReturn:
    """One line naming the problem and where to read more, exit 2."""
    ctx = getattr(exc, "ctx", None)
    where = f"{ctx.command_path} --help" if ctx is not None else "rtsales --help"
    _error(exc.format_message(), f"see '{where}'")
    raise typer.Exit(int(ExitCode.USAGE))


def _error(message: str, hint: str | None = None) -> None:
    from rtsales import render

    render.error(message, hint)


class _ErrorBoundary(TyperGroup):
    """Maps RtsalesError, bad usage and database trouble (and, outside debug, any error)
    to one stderr line and an exit code."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except typer.TyperException as exc:  # a bad global option
            if not _is_usage_error(exc):
                raise
            _usage(exc)

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
            result = super().invoke(ctx)
            sys.stdout.flush()  # a reader gone shows here, not as a flush error at exit
            return result
        except (typer.Exit, typer.Abort, typer.TyperException) as exc:
            if _is_usage_error(exc):
                _usage(exc)
            _flush_stdout()
            raise
        except BrokenPipeError:
            _reader_gone()
        except RtsalesError as exc:
            _fail(exc)
        except Terminated:
            _error("stopped by SIGTERM", "leases released; the next run resumes")
            raise typer.Exit(int(ExitCode.TERMINATED)) from None
        except KeyboardInterrupt:
            _error("interrupted")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except Exception as exc:
            known = _database_problem(ctx, exc)
            if known is not None:
                _fail(known)
            if os.environ.get("RTSALES_DEBUG"):
                raise
            _error(f"unexpected error: {exc.__class__.__name__}: {exc}",
                   "set RTSALES_DEBUG=1 to see the traceback")
            raise typer.Exit(int(ExitCode.FAILURE)) from None


def _reader_gone() -> NoReturn:
    """stdout's reader went away (`rtsales sales --csv | head -1`): stop without a word, as a writer
    killed by SIGPIPE would (141). stdout now points at /dev/null, so that the interpreter's last
    flush of what is still buffered fails no more (the recipe of Python's `signal` documentation)."""
    _to_devnull(sys.stdout)
    raise typer.Exit(int(ExitCode.BROKEN_PIPE))


def _to_devnull(stream: Any) -> None:
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    except (OSError, ValueError):  # no file descriptor: a test's captured stream
        pass


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _reader_gone()


def _fail(exc: RtsalesError) -> NoReturn:
    _error(exc.message, exc.hint)
    raise typer.Exit(int(exc.exit_code)) from None


def _database_problem(ctx: typer.Context, exc: Exception) -> RtsalesError | None:
    """A write refused half-way through a command (read-only file, lock held past the busy
    timeout, full disk) is the same trouble `open_db` reports, not an unexpected error."""
    from rtsales.store.db import database_problem

    settings = getattr(ctx.obj, "settings", None)
    if settings is None or not isinstance(exc, sqlite3.DatabaseError):
        return None
    return database_problem(Path(settings.db_path), exc)


app = typer.Typer(
    cls=_ErrorBoundary,
    name="rtsales",
    help="Keep an hour-by-hour local copy of Amazon Vendor real-time sales, traffic and inventory, "
         "within SP-API quotas.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    # Plain help, like git's or gh's: typer's rich panels print `<bool>` on every flag, box-draw a
    # pipe and pad a cron mail. Flags then show no type, and options show their metavar.
    rich_markup_mode=None,
    context_settings={"max_content_width": 120},
    epilog=examples("rtsales sync", "rtsales status", "rtsales sales --by hour --tz Europe/Berlin -m DE",
                    "rtsales --install-completion   # tab completion in bash, zsh, fish or PowerShell"),
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rtsales {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[Path | None, typer.Option("--db", metavar="PATH",
                                            help="SQLite file (default: RTSALES_DB or ./rtsales.db).")] = None,
    env_file: Annotated[Path | None, typer.Option("--env-file", metavar="PATH",
                                                  help="Read settings from this file instead of ./.env.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging on stderr (secrets masked).")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False,
) -> None:
    """Load settings once, here, and hand them to every command."""
    from rtsales import logs
    from rtsales.config import load_settings
    from rtsales.context import AppContext

    logs.configure(verbose)
    if ctx.invoked_subcommand == "doctor":  # it reports settings that do not load instead of stopping at them
        return
    app_ctx = AppContext(settings=load_settings(env_file=env_file, db_path=db), verbose=verbose)
    ctx.obj = app_ctx
    ctx.call_on_close(app_ctx.close)


app.command("status", epilog=status.EXAMPLES)(status.status)
app.command("doctor", epilog=doctor.EXAMPLES)(doctor.doctor)
app.command("sync", epilog=sync.EXAMPLES)(sync.sync)
app.command("runs", epilog=runs.EXAMPLES)(runs.runs)
app.command("demo", epilog=demo.EXAMPLES)(demo.demo)
app.add_typer(operator.audit_app, name="audit")
app.command("fill-day", epilog=operator.FILL_DAY_EXAMPLES)(operator.fill_day)
app.command("sales", epilog=operator.SALES_EXAMPLES)(operator.sales)
app.command("watch", epilog=watch.EXAMPLES)(watch.watch)
app.add_typer(simulator.app, name="simulator")
app.add_typer(xai.app, name="xai")
app.add_typer(keepa.app, name="keepa")


def _on_sigterm(signum: int, frame: object) -> None:
    """Unwind like Ctrl-C (leases released, hours left resumable) instead of dying with the leases held."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut that clean-up short
    raise Terminated()


def main() -> None:
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app()
    except BrokenPipeError:  # stderr's reader went away too, while an error was being told
        _to_devnull(sys.stderr)
        sys.exit(int(ExitCode.BROKEN_PIPE))
    except Exception:  # only with RTSALES_DEBUG does an unknown error get this far
        # The traceback, with secrets masked like every other line rtsales writes (no locals).
        from rtsales.redaction import redact

        sys.stderr.write(redact(traceback.format_exc()))
        sys.exit(int(ExitCode.FAILURE))
