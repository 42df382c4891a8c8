"""Errors the user can fix: the CLI prints them as one line, without a stack trace.

Exit codes: 0 ok, 1 error, 2 refused (a delivery, a query, an export), 3 the
warehouse is busy (another process holds it; trying again later can succeed).
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the input or the environment that a message can explain."""

    exit_code = 1


class WarehouseBusy(UserError):
    """Another process holds the warehouse file's lock for longer than we were willing to wait.

    A separate exit code, because the cure differs from every other error: wait and run the
    same command again, nothing about the input is wrong.
    """

    exit_code = 3

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
