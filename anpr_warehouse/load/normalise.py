"""Folds text to the plain form the licence-plate guard matches on.

A plate can be disguised without changing how it looks: fullwidth letters, a
zero-width space, a non-breaking hyphen, a Cyrillic `С` for a Latin `C`. The
contract's settled rule is to match on text that is NFKC-normalised, stripped of
format characters, with look-alike letters mapped to Latin, every dash one `-`
and every space one ` `. Case is left alone here (a base64 token is recognised by
its mix of cases); the plate matcher upper-cases the result itself.
"""

from __future__ import annotations

import re
import unicodedata

# Letters of other scripts (and Latin small capitals) that look like Latin letters or digits.
_LOOK_ALIKES = {
    # Cyrillic
    "А": "A",
    "В": "B",
    "С": "C",
    "Е": "E",
    "Н": "H",
    "І": "I",
    "Ӏ": "I",
    "Ј": "J",
    "К": "K",
    "М": "M",
    "О": "O",
    "Р": "P",
    "Ѕ": "S",
    "Т": "T",
    "Х": "X",
    "У": "Y",
    "Ү": "Y",
    "Ԛ": "Q",
    "Ԝ": "W",
    "Ѵ": "V",
    "З": "3",
    "Ԁ": "D",
    "а": "a",
    "в": "b",
    "с": "c",
    "е": "e",
    "н": "h",
    "і": "i",
    "ј": "j",
    "к": "k",
    "м": "m",
    "о": "o",
    "р": "p",
    "ѕ": "s",
    "т": "t",
    "х": "x",
    "у": "y",
    "ү": "y",
    "ԛ": "q",
    "ԝ": "w",
    "ѵ": "v",
    "з": "3",
    "ԁ": "d",
    "һ": "h",
    "ӏ": "l",
    # Greek
    "Α": "A",
    "Β": "B",
    "Ε": "E",
    "Ζ": "Z",
    "Η": "H",
    "Ι": "I",
    "Κ": "K",
    "Μ": "M",
    "Ν": "N",
    "Ο": "O",
    "Ρ": "P",
    "Τ": "T",
    "Υ": "Y",
    "Χ": "X",
    "Ϲ": "C",
    "Ϳ": "J",
    "α": "a",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ϲ": "c",
    "ϳ": "j",
    "ε": "e",
    # Latin small capitals (no NFKC mapping of their own)
    "ᴀ": "A",
    "ʙ": "B",
    "ᴄ": "C",
    "ᴅ": "D",
    "ᴇ": "E",
    "ɢ": "G",
    "ʜ": "H",
    "ɪ": "I",
    "ᴊ": "J",
    "ᴋ": "K",
    "ʟ": "L",
    "ᴍ": "M",
    "ɴ": "N",
    "ᴏ": "O",
    "ᴘ": "P",
    "ʀ": "R",
    "ᴛ": "T",
    "ᴜ": "U",
    "ᴠ": "V",
    "ᴡ": "W",
    "ʏ": "Y",
    "ᴢ": "Z",
}
# Dash-like characters outside category Pd.
_EXTRA_DASHES = "\u2212\u02d7\u2043\u2796\u2e3a\u2e3b\u207b\u208b"
# Dot-like characters NFKC leaves alone.
_EXTRA_DOTS = "\u00b7\u2027\u2219\u22c5\u30fb\uff65\u0387"
# Invisible letters (Hangul fillers) that act like a zero-width space.
_INVISIBLE = "\u115f\u1160\u3164\uffa0"
_SPACE_CONTROLS = "\t\n\v\f\r\x1c\x1d\x1e\x1f\x85"


def _fold(char: str) -> str | None:
    """What one character becomes: itself, a Latin letter, '-', '.', ' ', an ASCII digit, or nothing."""
    if char in _LOOK_ALIKES:
        return _LOOK_ALIKES[char]
    category = unicodedata.category(char)
    if char in _SPACE_CONTROLS or category in ("Zs", "Zl", "Zp"):
        return " "
    if category in ("Cc", "Cf", "Mn", "Me") or char in _INVISIBLE:
        return None  # controls, zero-width and format characters, combining accents
    if category == "Pd" or char in _EXTRA_DASHES:
        return "-"
    if char in _EXTRA_DOTS:
        return "."
    if category == "Nd":
        return str(unicodedata.decimal(char))
    return char


class _FoldTable(dict):
    """A `str.translate` table filled on first sight of each character, so no 1.1M-entry table is built."""

    def __missing__(self, code: int) -> str | None:
        self[code] = folded = _fold(chr(code))
        return folded


_TABLE = _FoldTable()
_ASCII_TABLE = {code: _fold(chr(code)) for code in range(128) if _fold(chr(code)) != chr(code)}
_SPACE_RUN = re.compile(" {2,}")


def normalise(value: str) -> str:
    """`value` as the guard sees it: compatibility-decomposed, invisible characters gone, look-alikes Latin.

    NFKD (the decomposition half of NFKC) also splits accented letters so their accents drop:
    `V̈B-12-CD` and a combining grapheme joiner inside a plate are found like `VB-12-CD`.
    """
    if value.isascii():
        folded = value.translate(_ASCII_TABLE)
    else:
        folded = unicodedata.normalize("NFKD", value).translate(_TABLE)
    return _SPACE_RUN.sub(" ", folded) if "  " in folded else folded
