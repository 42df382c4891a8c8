"""The report's texts per language: `texts/nl.yaml` and `texts/en.yaml`, keyed by short ids (`page.overview.title`).

Why ids and not Dutch sentences as keys: a reworded Dutch sentence used to drop its English
silently (the page showed Dutch), and the two languages could not be checked against each
other. Now both files must have exactly the same ids (tests/python/test_report_texts.py),
every id the code asks for must exist, and an id that is missing raises instead of falling
back to another language. The files are read once per process.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

TEXTS_DIR = Path(__file__).parent / "texts"
LANGUAGES = ("nl", "en")


class MissingText(KeyError):
    """The code asked for a text id the language file does not have: a defect, never shown as another language."""

    def __str__(self) -> str:
        return str(self.args[0])


def _flatten(node: dict, prefix: str = "") -> dict[str, str | list[str]]:
    """Nested YAML -> {"page.overview.title": "Overzicht", ...}."""
    flat: dict[str, str | list[str]] = {}
    for key, value in node.items():
        ident = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{ident}."))
        else:
            flat[ident] = value
    return flat


class Texts:
    """`t("page.overview.title")` -> the text in this language; `t.list("calendar.months")` -> a list of texts."""

    def __init__(self, lang: str, entries: dict[str, str | list[str]]):
        self.lang, self.entries = lang, entries

    def _get(self, ident: str) -> str | list[str]:
        try:
            return self.entries[ident]
        except KeyError:
            raise MissingText(f"report text {ident!r} is missing from {TEXTS_DIR / f'{self.lang}.yaml'}") from None

    def __call__(self, ident: str) -> str:
        value = self._get(ident)
        if not isinstance(value, str):
            raise MissingText(f"report text {ident!r} in {self.lang}.yaml is a list, not one text")
        return value

    def list(self, ident: str) -> list[str]:
        value = self._get(ident)
        if not isinstance(value, list):
            raise MissingText(f"report text {ident!r} in {self.lang}.yaml is one text, not a list")
        return list(value)


def read_texts(path: Path) -> dict[str, str | list[str]]:
    """One language file, flattened to id -> text (or list of texts)."""
    return _flatten(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


@functools.cache
def texts(lang: str) -> Texts:
    """The texts of one language (read once per process)."""
    if lang not in LANGUAGES:
        raise ValueError(f"no report texts for language {lang!r} (have: {', '.join(LANGUAGES)})")
    return Texts(lang, read_texts(TEXTS_DIR / f"{lang}.yaml"))
