"""Help and input: every command's help shows an example and no `<bool>` noise, enumerations
are choices, and shell completion can be installed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from rtsales.cli import app

runner = CliRunner()


def _paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The root, every group and every command, as the words that reach them."""
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _paths(sub, (*path, name))


PATHS = list(_paths(get_command(app)))


def _help(path: tuple[str, ...]) -> str:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_every_command_is_covered() -> None:
    assert {("sales",), ("fill-day",), ("audit", "daily"), ("keepa", "products"), ("simulator", "serve"),
            ("xai", "ask"), ()} <= set(PATHS)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: "-".join(p) or "rtsales")
def test_help_has_an_example(path: tuple[str, ...]) -> None:
    text = _help(path)
    assert "Example" in text
    examples = text[text.index("Example"):]
    assert f"rtsales {' '.join(path)}".rstrip() in examples  # the example runs this very command


@pytest.mark.parametrize("path", PATHS, ids=lambda p: "-".join(p) or "rtsales")
def test_help_shows_no_type_noise(path: tuple[str, ...]) -> None:
    # `<bool>` on flags, and `<str>` / `<int range>` / `<path>` where a named placeholder belongs
    text = _help(path)
    assert not re.findall(r"<[a-z][^>]*>", text), text


def test_sales_by_is_a_choice() -> None:
    assert re.search(r"--by asin\|hour ", _help(("sales",)))
    result = runner.invoke(app, ["sales", "--by", "week"])
    assert result.exit_code == 2
    assert "'week' is not one of 'asin', 'hour'" in result.stderr and result.stderr.count("\n") == 1


def test_keepa_domain_lists_its_codes() -> None:
    assert "US|UK|DE|FR|JP|CA|IT|ES|IN|MX|BR" in _help(("keepa", "products"))


@pytest.mark.parametrize(("words", "typed", "offered"), [
    (["sales", "--by"], "", ["asin", "hour"]), (["status", "-m"], "d", ["de"]), (["sales", "-m"], "U", ["US", "UK"]),
    (["keepa", "products", "--domain"], "f", ["fr"])])
def test_completion_offers_choices_and_codes(words: list[str], typed: str, offered: list[str]) -> None:
    env = {"_RTSALES_COMPLETE": "complete_bash", "COMP_WORDS": " ".join(["rtsales", *words, typed]),
           "COMP_CWORD": str(len(words) + 1)}
    result = runner.invoke(app, [], env=env, prog_name="rtsales")
    assert sorted(result.stdout.split()) == sorted(offered)


def test_shell_completion_is_installable() -> None:
    text = _help(())
    assert "--install-completion" in text and "--show-completion" in text
    result = runner.invoke(app, ["--show-completion", "bash"])
    assert result.exit_code == 0 and "_RTSALES_COMPLETE" in result.stdout
