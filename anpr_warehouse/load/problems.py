"""What a refusal says: one problem per broken rule, naming file, line and rule."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    rule: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: [{self.rule}] {self.message}"


class DeliveryRefused(Exception):
    """Raised with every problem found; nothing of the delivery has been written."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        super().__init__(f"delivery {source} refused: {len(problems)} problem(s)")


PROBLEMS_PER_RULE = 20  # the contract: at most 20 lines per rule, then "... and N more"


class Collector:
    """Gathers problems, listing at most `per_rule` of one rule, so any refusal stays readable.

    The cap is per rule over the whole delivery, not per file: a folder of ten thousand stray
    files is still a short message. The summary line names the file(s) of the unlisted problems.
    """

    def __init__(self, per_rule: int = PROBLEMS_PER_RULE):
        self.problems: list[Problem] = []
        self._counts: dict[str, int] = {}
        self._unlisted_in: dict[str, list[str]] = {}  # rule -> files with problems beyond the cap, first seen first
        self.per_rule = per_rule

    def add(self, file: str, rule: str, message: str, line: int | None = None) -> None:
        self._counts[rule] = self._counts.get(rule, 0) + 1
        if self._counts[rule] <= self.per_rule:
            self.problems.append(Problem(file, rule, message, line))
        else:
            self._note_unlisted(file, rule)

    def bump(self, file: str, rule: str, more: int) -> None:
        """Counts `more` problems of a rule that were found but not listed one by one."""
        if more > 0:
            self._counts[rule] = max(self._counts.get(rule, 0), self.per_rule) + more
            self._note_unlisted(file, rule)

    def _note_unlisted(self, file: str, rule: str) -> None:
        files = self._unlisted_in.setdefault(rule, [])
        if file not in files:
            files.append(file)

    def summarise(self) -> list[Problem]:
        extra = [
            Problem(
                _files_label(self._unlisted_in.get(rule, [])), rule, f"... and {n - self.per_rule} more problem(s) of this kind"
            )
            for rule, n in self._counts.items()
            if n > self.per_rule
        ]
        return self.problems + extra

    def __bool__(self) -> bool:
        return bool(self.problems)


def _files_label(files: list[str], shown: int = 3) -> str:
    """`a.csv`, `a.csv, b.csv` or `a.csv, b.csv, c.csv and 7 more files`: bounded, however many files."""
    if len(files) <= shown:
        return ", ".join(files)
    return f"{', '.join(files[:shown])} and {len(files) - shown} more files"
