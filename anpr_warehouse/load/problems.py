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


class Collector:
    """Gathers problems, capping repeats of one rule in one file so a broken file stays readable."""

    def __init__(self, per_rule: int = 10):
        self.problems: list[Problem] = []
        self._counts: dict[tuple[str, str], int] = {}
        self.per_rule = per_rule

    def add(self, file: str, rule: str, message: str, line: int | None = None) -> None:
        key = (file, rule)
        self._counts[key] = self._counts.get(key, 0) + 1
        if self._counts[key] <= self.per_rule:
            self.problems.append(Problem(file, rule, message, line))

    def bump(self, file: str, rule: str, more: int) -> None:
        """Counts `more` problems of a rule that were found but not listed one by one."""
        if more > 0:
            key = (file, rule)
            self._counts[key] = max(self._counts.get(key, 0), self.per_rule) + more

    def summarise(self) -> list[Problem]:
        extra = [
            Problem(file, rule, f"... and {n - self.per_rule} more problem(s) of this kind")
            for (file, rule), n in self._counts.items()
            if n > self.per_rule
        ]
        return self.problems + extra

    def __bool__(self) -> bool:
        return bool(self.problems)
