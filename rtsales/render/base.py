"""The consoles and the primitives every view draws with: the only place rich is set up.

One shared stdout console and one stderr console. Rich drops colour by itself
when output is not a terminal (pipes, cron); NO_COLOR is honoured too. `--json`
output bypasses rich entirely. Dynamic text is escaped and secrets redacted.

Off a terminal (a pipe, a file, cron) nothing is wrapped or padded: one message is
one line, whatever its length, and no line ends in blanks. There, every stderr line
starts with the UTC time it was written (`2026-12-01T14:03:00Z `), as the log lines
of `rtsales.logs` do: wall-clock time, not RTSALES_NOW, since a log is read beside
cron's own records. On a terminal, stderr lines are not stamped and long runs show
a transient line saying what they do (`activity`).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, is_dataclass
from typing import Any, TextIO

from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.table import Table

from rtsales import logs
from rtsales.redaction import redact


PIPE_WIDTH = 100_000  # off a terminal: wide enough that no message or table row ever wraps
_PADDING = re.compile(r"[ \t]+(?=\n)")


class _Stream:
    """sys.stdout or sys.stderr as it is at each write (tests swap them). Off a terminal, each line
    loses the blanks rich pads table cells and titles with and, on stderr, starts with its time."""

    def __init__(self, name: str, stamped: bool):
        self._name, self._stamped = name, stamped
        self._line_start = True

    def _target(self) -> TextIO:
        stream = getattr(sys, self._name)
        # Under a live display rich swaps in a proxy that prints through this console: write past it, as rich does.
        return getattr(stream, "rich_proxied_file", stream)  # type: ignore[no-any-return]

    @property
    def encoding(self) -> str:
        return getattr(self._target(), "encoding", None) or "utf-8"

    def isatty(self) -> bool:
        return logs.on_terminal(self._target())

    def fileno(self) -> int:
        return self._target().fileno()

    def write(self, text: str) -> int:
        if text and not self.isatty():
            text = _PADDING.sub("", text)
            if self._stamped:
                text = self._stamp(text)
        return self._target().write(text)

    def _stamp(self, text: str) -> str:
        lines = text.split("\n")
        stamp = logs.stamp()
        stamped = [stamp + line if line and (i or self._line_start) else line for i, line in enumerate(lines)]
        self._line_start = text.endswith("\n")
        return "\n".join(stamped)

    def flush(self) -> None:
        self._target().flush()


class _Console(Console):
    """A rich Console that wraps at the terminal's width on a terminal, and nowhere else."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(PIPE_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


console = _Console(file=_Stream("stdout", stamped=False), highlight=False)  # type: ignore[arg-type]
err_console = _Console(file=_Stream("stderr", stamped=True), highlight=False)  # type: ignore[arg-type]


def text(value: object) -> str:
    """Dynamic text made safe for rich markup and free of secrets."""
    return escape(redact(str(value)))


def print_json(data: Any) -> None:
    if is_dataclass(data) and not isinstance(data, type):
        data = asdict(data)
    sys.stdout.write(redact(json.dumps(data, indent=2, sort_keys=False, default=str)) + "\n")
    sys.stdout.flush()


def emit(data: Any, as_json: bool, human: Callable[[Any], None]) -> None:
    """The one output switch of every command: JSON for scripts (no rich), or the human view."""
    if as_json:
        print_json(data)
    else:
        human(data)


def error(message: str, hint: str | None = None) -> None:
    line = f"[bold red]error:[/] {text(message)}"
    if hint:
        line += f" [dim]({text(hint)})[/]"
    err_console.print(line, soft_wrap=True)


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {text(message)}", soft_wrap=True)


def info(message: str) -> None:
    console.print(text(message), soft_wrap=True)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    grid = Table(title=text(title), title_justify="left")
    for index, column in enumerate(columns):
        # The first column is the key (marketplace, hour): never cut it; others wrap first.
        grid.add_column(text(column), no_wrap=index == 0, min_width=len(column) if index == 0 else None)
    for row in rows:
        grid.add_row(*(text("" if cell is None else cell) for cell in row))
    console.print(grid)
