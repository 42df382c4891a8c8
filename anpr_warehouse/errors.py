"""Errors the user can fix: the CLI prints them as one line, without a stack trace."""


class UserError(Exception):
    """A problem with the input or the environment that a message can explain."""

    exit_code = 1
