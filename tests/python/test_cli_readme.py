"""The README's command table and exit codes are held to the parser (as sqlite-utils holds its docs to --help).

Why: a flag added to the parser but not to the README (or a README row for a flag that was renamed) is how a
user learns the tool wrong. The table in "The command-line tool" must have one row per command, and each row
must name exactly the options that command takes; `--warehouse` and `--wait` are said once above the table.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from anpr_warehouse.cli import build_parser
from anpr_warehouse.errors import EXIT_CODE_MEANINGS, ExitCode
from anpr_warehouse.paths import PROJECT_ROOT

SAID_ONCE = {"--help", "--warehouse", "--wait"}


def _leaf_commands(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()):
    """Every runnable command (`keys create`, not `keys`) with its parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _leaf_commands(sub, (*words, name))
            return
    yield " ".join(words), parser


def _parser_options(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings if option.startswith("--")} - SAID_ONCE


def _readme_section() -> str:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## The command-line tool")
    return text[start : text.index("\n## ", start + 1)]


def _readme_rows() -> dict[str, set[str]]:
    """Command -> the options its README row names (the row's first cell)."""
    rows: dict[str, set[str]] = {}
    for line in _readme_section().splitlines():
        match = re.match(r"\| `anpr ([a-z-]+(?: [a-z]+)?)(.*?)` \|", line)
        if not match:
            continue
        words = match.group(1).split()
        # a second word is a sub-command only if it is not an argument placeholder (PATH, ID, ...)
        command = " ".join(words)
        rows[command] = set(re.findall(r"--[a-z][a-z-]*", match.group(2)))
    return rows


def test_every_command_has_exactly_one_row():
    parsed = {name for name, _ in _leaf_commands(build_parser())}
    documented = set(_readme_rows())
    assert parsed - documented == set(), "commands without a README row"
    assert documented - parsed == set(), "README rows for commands the parser does not have"


@pytest.mark.parametrize("command", sorted(name for name, _ in _leaf_commands(build_parser())))
def test_row_names_exactly_the_options_of_its_command(command):
    parser = dict(_leaf_commands(build_parser()))[command]
    assert _readme_rows().get(command) == _parser_options(parser)


def test_exit_codes_are_described_as_defined():
    section = _readme_section()
    for code in ExitCode:
        assert f"{int(code)} {EXIT_CODE_MEANINGS[code]}" in section
    help_text = subprocess.run(
        [sys.executable, "-m", "anpr_warehouse.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "exit codes: 0 ok, 1 error with a message, 2 refused, 3 warehouse busy" in " ".join(help_text.split())


def test_an_undocumented_option_is_caught():
    """The check itself must be able to fail: a parser with one more option differs from its row."""
    parser = dict(_leaf_commands(build_parser()))["build"]
    parser.add_argument("--not-in-readme", action="store_true")
    assert _readme_rows()["build"] != _parser_options(parser)
