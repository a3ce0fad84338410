"""`rtsales simulator serve`: run the built-in SP-API simulator on a loopback port."""

from typing import Annotated, Any

import typer

from rtsales.commands.options import examples


def _chance(name: str, what: str) -> Any:
    """A probability option of the simulator's fault injection."""
    return typer.Option(name, min=0.0, max=1.0, metavar="P", help=f"Chance {what}.")


EXAMPLES = examples("rtsales simulator serve", "rtsales simulator serve --port 0 --seed 1 --p429 0.1")
app = typer.Typer(help="The built-in SP-API simulator (Login with Amazon + Reports API).", no_args_is_help=True,
                  epilog=EXAMPLES)

DEFAULT_HOST = "127.0.0.1"

@app.callback()
def simulator() -> None:
    """The built-in SP-API simulator (Login with Amazon + Reports API)."""


@app.command("serve", epilog=EXAMPLES)
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", metavar="ADDRESS",
                                             help=f"Address to bind (default {DEFAULT_HOST}).")] = None,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, metavar="PORT",
                                      help="Port; 0 picks a free one.")] = 8765,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Seed of the sales data and the faults.")] = 0,
    p429: Annotated[float, _chance("--p429", "of an extra 429")] = 0.0,
    p5xx: Annotated[float, _chance("--p5xx", "of a 500/503")] = 0.0,
    p_slow: Annotated[float, _chance("--p-slow", "of a slow answer")] = 0.0,
    p_truncated: Annotated[float, _chance("--p-truncated", "of a truncated document")] = 0.0,
    p_fatal: Annotated[float, _chance("--p-fatal", "a report ends FATAL")] = 0.0,
    p_expired: Annotated[float, _chance("--p-expired", "a download answers 'expired'")] = 0.0,
    p_cancel: Annotated[float, _chance("--p-cancel", "a report with data ends CANCELLED")] = 0.0,
    p_400: Annotated[float, _chance("--p-400", "createReport answers a generic 400")] = 0.0,
    max_window_hours: Annotated[int, typer.Option("--max-window-hours", min=1, metavar="HOURS",
                                                  help="Longest report window accepted.")] = 24,
    max_data_age_hours: Annotated[float, typer.Option("--max-data-age-hours", min=1.0, metavar="HOURS",
                                                      help="How far back a report may start.")] = 168.0,
    allow_non_loopback: Annotated[bool, typer.Option("--allow-non-loopback",
                                                     help="With an explicit --host: bind beyond loopback.")] = False,
) -> None:
    """Serve the simulator until Ctrl-C; time is RTSALES_NOW (frozen) if set, else the system clock."""
    from rtsales import render
    from rtsales.simulator import Faults, Simulator
    from rtsales.simulator import serve as serve_simulator

    bind = _checked_host(host, allow_non_loopback)
    faults = Faults(p429=p429, p5xx=p5xx, p_slow=p_slow, p_truncated=p_truncated, p_fatal=p_fatal,
                    p_expired=p_expired, p_cancel=p_cancel, p_400=p_400)
    model = Simulator(seed=seed, clock=ctx.obj.settings.clock(), faults=faults, max_window_hours=max_window_hours,
                      max_data_age_hours=max_data_age_hours)
    try:
        serve_simulator(model, bind, port, on_ready=lambda server: render.simulator_ready(
            server.base_url, server.lwa_token_url, model.lwa.client_id, model.lwa.client_secret,
            model.lwa.refresh_token))
    except OSError as exc:
        from rtsales.errors import UsageError

        raise UsageError(f"cannot listen on {bind}:{port}: {exc.strerror or exc}",
                         hint="pick another --port, or --port 0 for a free one") from None


def _checked_host(host: str | None, allow_non_loopback: bool) -> str:
    """The default host is loopback; anything else needs --host and --allow-non-loopback."""
    from rtsales import render
    from rtsales.errors import UsageError
    from rtsales.simulator import is_loopback

    if host is None:
        return DEFAULT_HOST
    if is_loopback(host):
        return host
    if not allow_non_loopback:
        raise UsageError(f"refusing to serve the simulator on non-loopback host {host!r}",
                         hint="use 127.0.0.1, or add --allow-non-loopback if you really mean it")
    render.warn(f"serving the simulator on non-loopback host {host}: anyone who can reach it can use it")
    return host
