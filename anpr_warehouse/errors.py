"""Errors the user can fix: the CLI prints them as one line, without a stack trace.

The exit codes are defined here once (`ExitCode`); the CLI's help and the README's paragraph are held to
this list by tests/python/test_cli_readme.py.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """What `anpr` returns; the meaning is what a script calling it must decide on."""

    OK = 0
    ERROR = 1  # a message says what to fix (also a full disk: the warehouse unchanged)
    REFUSED = 2  # a delivery, a non-additive query, an export a vendor is not entitled to, an unexplained build failure
    BUSY = 3  # another process held the warehouse longer than --wait: run the same command again later


EXIT_CODE_MEANINGS = {
    ExitCode.OK: "ok",
    ExitCode.ERROR: "error with a message",
    ExitCode.REFUSED: "refused",
    ExitCode.BUSY: "warehouse busy",
}


def exit_codes_text() -> str:
    """One line for `anpr --help`: the codes and their meaning, from the one definition above."""
    return "exit codes: " + ", ".join(f"{int(code)} {EXIT_CODE_MEANINGS[code]}" for code in ExitCode)


class UserError(Exception):
    """A problem with the input or the environment that a message can explain."""

    exit_code = ExitCode.ERROR


class WarehouseBusy(UserError):
    """Another process holds the warehouse file's lock for longer than we were willing to wait.

    A separate exit code, because the cure differs from every other error: wait and run the
    same command again, nothing about the input is wrong.
    """

    exit_code = ExitCode.BUSY

    def __init__(self, warehouse: object, waited: float):
        self.warehouse = str(warehouse)
        self.waited = waited
        super().__init__(f"warehouse busy: {warehouse} is held by another process (waited {waited:.0f} s); nothing changed")


class WarehouseWriteFailed(UserError):
    """The disk refused a write (full, quota or file size limit) while the warehouse was being changed.

    Exit code 1, not 3: waiting does not free a disk. The write happens in one transaction, which
    the failed commit discards, so the warehouse keeps its state before the command.
    """

    def __init__(self, warehouse: object, detail: str):
        self.warehouse = str(warehouse)
        super().__init__(f"cannot write the warehouse: disk full or file size limit ({detail}); nothing changed")
