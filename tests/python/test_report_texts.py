"""The report's texts: both languages have exactly the same ids, every id the code asks for exists, none is unused.

Why: texts used to be keyed by whole Dutch sentences, so rewording one silently left the English page in Dutch.
Ids make that checkable; a missing id must fail loudly (MissingText), never fall back to another language.
"""

from __future__ import annotations

import re

import pytest

from anpr_warehouse.report.language import LANGUAGES, TEXTS_DIR, MissingText, read_texts, texts

REPORT = TEXTS_DIR.parent
# How the code names a text: t("page.overview.title"), t.list("calendar.months"), in Python and in the templates;
# ids kept in constants (compare.MEASURES, pages.STATUS_TEXT) are quoted strings with the same leading group.
TEXT_GROUPS = sorted({ident.split(".")[0] for ident in read_texts(TEXTS_DIR / "nl.yaml")})
GROUPS = "|".join(TEXT_GROUPS)
ID_LITERAL = re.compile(rf"""["']((?:{GROUPS})\.[a-z0-9_.]+)["']""")


def _ids_in_code() -> set[str]:
    sources = [*REPORT.glob("*.py"), *(REPORT / "templates").glob("*.html")]
    found = {ident for path in sources for ident in ID_LITERAL.findall(path.read_text(encoding="utf-8"))}
    return {ident for ident in found if not ident.endswith((".html", ".css", ".json"))}  # file names, not ids


def test_both_languages_have_exactly_the_same_ids():
    nl, en = (read_texts(TEXTS_DIR / f"{lang}.yaml") for lang in LANGUAGES)
    assert sorted(set(nl) - set(en)) == [], "ids only in nl.yaml"
    assert sorted(set(en) - set(nl)) == [], "ids only in en.yaml"
    for ident in nl:
        assert type(nl[ident]) is type(en[ident]), ident
        if isinstance(nl[ident], list):
            assert len(nl[ident]) == len(en[ident]), ident
        assert nl[ident] and en[ident], f"{ident} is empty"


def test_every_id_the_code_uses_exists_and_every_text_is_used():
    used, defined = _ids_in_code(), set(read_texts(TEXTS_DIR / "nl.yaml"))
    assert len(used) > 100  # the scan finds the code's ids (a broken pattern would find none and pass)
    assert sorted(used - defined) == [], "ids the code asks for that no language file has"
    assert sorted(defined - used) == [], "texts no code asks for"


def test_a_missing_id_fails_loudly_not_as_dutch():
    with pytest.raises(MissingText, match="page.overview.no_such_text"):
        texts("en")("page.overview.no_such_text")
    with pytest.raises(MissingText):
        texts("nl").list("page.overview.title")  # one text asked for as a list


def test_languages_differ_where_they_should():
    nl, en = texts("nl"), texts("en")
    assert nl("page.overview.title") == "Overzicht" and en("page.overview.title") == "Overview"
    assert en.list("calendar.months")[2] == "March" and nl.list("calendar.weekdays")[0] == "ma"
