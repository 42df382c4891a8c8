"""`anpr` is declared in one module: cli.py holds every sub-command and option, the handlers live where the work is.

Why: a command defined in a fifth module is a command the README test, the help text and a reader of
cli.py do not see together. These tests fail when a sub-parser is added outside cli.py, or when the
parser names a handler that does not exist (a typo would otherwise only show when that command runs).
"""

from __future__ import annotations

import argparse
import re

import pytest

from anpr_warehouse.cli import build_parser, resolve_handler
from anpr_warehouse.paths import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "anpr_warehouse"


def _leaf_parsers(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _leaf_parsers(sub, (*words, name))
            return
    yield " ".join(words), parser


LEAVES = dict(_leaf_parsers(build_parser()))


def test_only_cli_py_declares_sub_commands():
    declaring = sorted(
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if re.search(r"\.add_(sub)?parsers?\(", path.read_text(encoding="utf-8"))
    )
    assert declaring == ["cli.py"]


@pytest.mark.parametrize("command", sorted(LEAVES))
def test_every_command_names_a_handler_that_exists(command):
    reference = LEAVES[command].get_default("handler")
    assert isinstance(reference, str) and ":" in reference, f"anpr {command} names no handler"
    handler = resolve_handler(reference)
    assert callable(handler)
    assert handler.__name__.startswith("cmd_")


def test_a_mistyped_handler_fails_loudly():
    with pytest.raises(AttributeError):
        resolve_handler("commands:cmd_no_such_command")
    with pytest.raises(ModuleNotFoundError):
        resolve_handler("no_such_module:cmd_build")


def test_help_loads_no_heavy_dependency():
    """`anpr --help` parses without importing dbt, MetricFlow, HiGHS or FastAPI (handlers import them when run)."""
    import subprocess
    import sys

    code = (
        "import sys; from anpr_warehouse.cli import build_parser; build_parser().format_help();"
        "print(sorted(m for m in ('dbt', 'metricflow', 'highspy', 'fastapi', 'vl_convert') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
