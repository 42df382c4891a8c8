"""Finds licence plates (plain or hashed) and malformed text anywhere in a delivery.

The rules are the contract's "Edge cases and limits (settled)": text is normalised
first (see normalise.py), then

- a plate is six letters and digits in one of the 14 Dutch side codes. Without
  separators it must be a whole alphanumeric token (`VB12CD`, `foto/VB12CD`).
  With separators (dash, space, dot, underscore) exactly at the side code's group
  boundaries it counts anywhere, glued to other text too (`kentekenVB-12-CD`),
  with two refinements that keep the contract's own text legal: a digit group is
  never cut out of a longer number (the legacy file name `GM0344_2025-03_locaties`
  holds no "25-03-LO"), and gluing needs at least one dash, dot or underscore;
  separated by spaces alone the three groups must be words of their own
  (`VB 12 CD`), or `3511 AB Utrecht` ("11 AB Ut") would read as a plate;
- the contract's identifiers of side code 1's shape (`GM0344`, `FA2020`) pass
  undashed only (`GM-03-44` is a plate);
- a hashed plate is a run of 32+ hex digits (dashes ignored: UUIDs) or a base64
  token of 22+ characters mixing upper case, lower case and digits;
- a field is at most 1,000 characters and holds no control characters.

Work is done per distinct value, never per row: a 400,000-row file has a few
hundred distinct values besides its numbers, and Arrow finds them in C++.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from .normalise import normalise
from .parsing import PlainFields, delimiter_of

MAX_FIELD_CHARS = 1000
LETTER, DIGIT = "[A-Z]", "[0-9]"
# Side codes 1-14: (letters/digits per group).
SIDE_CODES = (
    ("LL", "DD", "DD"),
    ("DD", "DD", "LL"),
    ("DD", "LL", "DD"),
    ("LL", "DD", "LL"),
    ("LL", "LL", "DD"),
    ("DD", "LL", "LL"),
    ("DD", "LLL", "D"),
    ("D", "LLL", "DD"),
    ("LL", "DDD", "L"),
    ("L", "DDD", "LL"),
    ("LLL", "DD", "L"),
    ("L", "DD", "LLL"),
    ("D", "LL", "DDD"),
    ("DDD", "LL", "D"),
)
_NOT_ALNUM_BEFORE, _NOT_ALNUM_AFTER = "(?<![A-Z0-9])", "(?![A-Z0-9])"
_MARK = "[-._]"
_SEP = f"(?: ?{_MARK} ?| )"  # one dash, dot or underscore (spaces around allowed), or one space
_MARKED_SEP = f"(?: ?{_MARK} ?)"
# Side code 1's shape that the contract's own identifiers have: municipality and first-admission year.
_IDENTIFIER = f"(?:GM[0-9]{{4}}|FA(?:19|20)[0-9]{{2}}){_NOT_ALNUM_AFTER}"


def _group(spec: str) -> str:
    return "".join(LETTER if kind == "L" else DIGIT for kind in spec)


def _plate_pattern() -> re.Pattern[str]:
    undashed, words, glued = [], [], []
    for spec in SIDE_CODES:
        a, b, c = (_group(g) for g in spec)
        undashed.append(a + b + c)
        words.append(a + _SEP + b + _SEP + c)
        # Glued to text, but a digit group is never the tail or head of a longer number:
        # `2025-03_locaties` (a legacy file name) is a year, not "25-03-LO".
        before = "(?<![0-9])" if spec[0][0] == "D" else ""
        after = "(?![0-9])" if spec[2][0] == "D" else ""
        glued += [before + a + _MARKED_SEP + b + _SEP + c + after, before + a + _SEP + b + _MARKED_SEP + c + after]
    return re.compile(
        f"(?:{'|'.join(glued)})"
        f"|{_NOT_ALNUM_BEFORE}(?:{'|'.join(words)}){_NOT_ALNUM_AFTER}"
        f"|{_NOT_ALNUM_BEFORE}(?!{_IDENTIFIER})(?:{'|'.join(undashed)}){_NOT_ALNUM_AFTER}"
    )


PLATE = _plate_pattern()
HEX_RUN = re.compile(r"[0-9A-Fa-f](?:-?[0-9A-Fa-f]){31,}")
BASE64_TOKEN = re.compile(r"[A-Za-z0-9+/]{22,}")
_LETTER, _DIGIT = re.compile("[A-Z]"), re.compile("[0-9]")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL, C1; inside a field even a line end is one
_ONLY_DIGITS = r"^[0-9]{0,31}$"  # RE2: numbers shorter than a hex digest cannot fail any rule
_ONLY_DIGITS_RE = re.compile(r"\A[0-9]{0,31}\Z")  # the same, for pieces already in Python
_CHUNK_CHARS = 1 << 24  # Arrow works on 16 MB slices so a 1 GB file needs no second copy of itself
_LOCATED_PER_RULE = 25  # line numbers are looked up for this many findings per rule and file


@dataclass(frozen=True)
class Finding:
    rule: str  # "licence-plate", "hashed-identifier" or "text"
    message: str
    line: int | None = None


def find_plate(value: str) -> str | None:
    """The plate written in `value`, as normalised text, or None."""
    return _plate_in(normalise(value))


def find_digest(value: str) -> str | None:
    """A hex run or base64 token in `value` that looks like a hashed plate, or None."""
    return _digest_in(normalise(value))


def _plate_in(folded: str) -> str | None:
    upper = folded.upper()
    if not (_LETTER.search(upper) and _DIGIT.search(upper)):
        return None  # every side code mixes letters and digits
    match = PLATE.search(upper)
    return match.group(0) if match else None


def _digest_in(folded: str) -> str | None:
    if len(folded) < 22:
        return None
    hex_run = HEX_RUN.search(folded)
    if hex_run:
        return hex_run.group(0)
    for token in BASE64_TOKEN.findall(folded):
        if any(ch.isupper() for ch in token) and any(ch.islower() for ch in token) and any(ch.isdigit() for ch in token):
            return token
    return None


def _shown(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:77] + "...")


def judge(value: str, *, text_rule: bool = True, allow_digest: bool = False, label: str = "value") -> list[Finding]:
    """Every rule `value` (one field, name or string) breaks, without a line number."""
    if text_rule and len(value) > MAX_FIELD_CHARS:
        return _text_faults(value, whole_field=True)  # refused anyway; matching megabytes would take minutes
    findings = []
    folded = normalise(value)
    plate = _plate_in(folded)
    if plate:
        reads_as = "" if folded == value else f" (reads as {_shown(folded)})"
        findings.append(
            Finding(
                "licence-plate", f"{label} {_shown(value)}{reads_as} looks like a licence plate; no plate may enter the warehouse"
            )
        )
    if not allow_digest and _digest_in(folded):
        findings.append(
            Finding(
                "hashed-identifier",
                f"{label} {_shown(value)} looks like a hashed identifier; no plate may enter the warehouse, hashed or not",
            )
        )
    if text_rule:
        findings += _text_faults(value, whole_field=True)
    return findings


def _text_faults(value: str, *, whole_field: bool) -> list[Finding]:
    """Control characters in `value`; its length too when `value` is a whole field."""
    findings = []
    control = CONTROL.search(value)
    if control:
        findings.append(
            Finding(
                "text",
                f"value {_shown(value)} holds control character U+{ord(control.group()):04X}; fields are text without control characters",
            )
        )
    if whole_field and len(value) > MAX_FIELD_CHARS:
        findings.append(Finding("text", f"a field of {len(value)} characters; at most {MAX_FIELD_CHARS:,} are allowed"))
    return findings


def scan_text(
    text: str, *, text_rule: bool = True, allowed: frozenset[str] = frozenset(), fields: PlainFields | None = None
) -> list[Finding]:
    """Findings in one delimited text file (either separator), with 1-based line numbers.

    Values are the pieces between `,` `;` `"` and line ends (no plate spans those), so every
    field, header and quoted part is judged once however many rows repeat it. `allowed` are
    pieces that may stand (the manifest's own checksums). `fields`: the file's data lines already
    split by Arrow (parsing.read_plain_fields), whose distinct values are the same pieces.
    """
    surveyed = _survey_fields(text, fields) if fields is not None else None
    pieces, long_lines = surveyed if surveyed is not None else _survey(text)
    judged: dict[str, list[Finding]] = {}
    for piece in pieces:
        if text_rule and len(piece) > MAX_FIELD_CHARS:
            found = _text_faults(piece, whole_field=False)  # its line is refused as too long; no need to match
        elif piece not in allowed:
            found = judge(piece, text_rule=False) + (_text_faults(piece, whole_field=False) if text_rule else [])
        else:
            found = []
        if found:
            judged[piece] = found
    findings = _with_lines(text, judged)
    if text_rule:
        findings += _line_break_faults(text) + _long_field_faults(text, long_lines)
    return findings


def scan_json(text: str) -> list[Finding] | None:
    """Findings in the decoded strings (keys and values) of a JSON document; None if it is no JSON.

    Decoding first is what catches `\\u0056\\u0042-12-CD`. A manifest's `files[].sha256` may be a digest.
    """
    try:
        document = json.loads(text.removeprefix("\ufeff"))
    except (ValueError, RecursionError):  # JSONDecodeError, or an integer too long to convert
        return None
    findings = []
    for path, value in _json_strings(document):
        is_checksum = (
            re.fullmatch(r"files\[\d+\]\.sha256", path) is not None and re.fullmatch("[0-9a-fA-F]{64}", value) is not None
        )
        for finding in judge(value, allow_digest=is_checksum):
            findings.append(Finding(finding.rule, f"{path or '(document)'}: {finding.message}", _json_line(text, value)))
    return findings


def _json_strings(document: object) -> Iterator[tuple[str, str]]:
    """(JSON path, string) of every key and string value, depth-first, without recursion."""
    stack: list[tuple[str, object]] = [("", document)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            yield path, node
        elif isinstance(node, dict):
            for key, value in reversed(list(node.items())):
                where = f"{path}.{key}" if path else str(key)
                stack.append((where, value))
                stack.append((where, str(key)))
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", value) for i, value in reversed(list(enumerate(node))))


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _json_line(text: str, value: str) -> int | None:
    """The line of the first string literal that decodes to `value`, however it is escaped."""
    for literal in _JSON_STRING.finditer(text):
        try:
            decoded = json.loads(literal.group(0))
        except ValueError:
            continue
        if decoded == value:
            return text.count("\n", 0, literal.start()) + 1
    return None


def _chunks(text: str) -> Iterator[str]:
    """Slices of about 16 MB that end at a line end."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + _CHUNK_CHARS)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _survey(text: str) -> tuple[set[str], list[int]]:
    """Distinct pieces of `text` that could break a rule (all but short plain numbers), and the
    numbers of lines longer than a field may be; Arrow does the splitting and counting in C++."""
    pieces: set[str] = set()
    long_lines: list[int] = []
    first_line = 1
    for chunk in _chunks(text):
        flat = chunk.replace(";", ",").replace("\r", ",").replace('"', ",")
        lines = pc.split_pattern(pa.array([flat], pa.large_string()), "\n").flatten()
        long_lines += [first_line + i for i in _long_line_indices(lines)]
        parts = pc.unique(pc.split_pattern(lines, ",").flatten())
        pieces.update(pc.filter(parts, pc.invert(pc.match_substring_regex(parts, _ONLY_DIGITS))).to_pylist())
        if len(chunk) < len(text):
            first_line += chunk.count("\n")
    return pieces, long_lines


_PIECE_SEPARATORS = re.compile('[,;"\r]')


def _survey_fields(text: str, fields: PlainFields) -> tuple[set[str], list[int]] | None:
    """What `_survey` finds, from the distinct values of the already split fields plus the header line.

    Why: splitting the whole text into lines and pieces and hashing every piece cost ~0.12 CPU s per
    month's T01; the parsed columns have a few hundred distinct values besides numbers, which
    Arrow checks in C++ without a regular expression (`ascii_is_decimal`). A plain file has no quotes
    and no stray carriage return, so a field holds at most the other separator, split here as the
    survey would. None (survey the text) when a field or the header line is longer than a field may
    be: the long-field rule then needs the text's lines.
    """
    end = text.find("\n")
    header = (text if end < 0 else text[:end]).rstrip("\r")
    if len(header) > MAX_FIELD_CHARS:
        return None
    values = set(_PIECE_SEPARATORS.split(header))
    for column in fields.columns:
        if len(column) == 0 or (pc.all(pc.ascii_is_decimal(column)).as_py() and pc.max(pc.binary_length(column)).as_py() <= 31):
            continue  # a column of short numbers (Id): nothing to judge, and no distinct values to find
        distinct = pc.unique(column)
        lengths = pc.utf8_length(distinct)
        if pc.max(lengths).as_py() > MAX_FIELD_CHARS:
            return None
        number = pc.or_(pc.and_(pc.ascii_is_decimal(distinct), pc.less_equal(lengths, 31)), pc.equal(lengths, 0))
        for value in pc.filter(distinct, pc.invert(number)).to_pylist():
            values.update(_PIECE_SEPARATORS.split(value))
    return {piece for piece in values if not _ONLY_DIGITS_RE.match(piece)}, []


def _long_line_indices(lines: pa.Array) -> list[int]:
    """Indices of the lines longer than a field may be: byte lengths first (cheap, and never fewer than
    the characters), characters counted only on the few lines whose bytes already exceed the limit."""
    by_bytes = pc.indices_nonzero(pc.greater(pc.binary_length(lines), MAX_FIELD_CHARS))
    if len(by_bytes) == 0:
        return []
    chars = pc.utf8_length(pc.take(lines, by_bytes))
    return pc.filter(by_bytes, pc.greater(chars, MAX_FIELD_CHARS)).to_pylist()


def _with_lines(text: str, judged: dict[str, list[Finding]]) -> list[Finding]:
    """Findings with the line of their value's first occurrence (looked up for the first few per rule)."""
    located: list[Finding] = []
    unlocated: list[Finding] = []
    per_rule: dict[str, int] = {}
    for piece, findings in sorted(judged.items()):
        for finding in findings:
            per_rule[finding.rule] = per_rule.get(finding.rule, 0) + 1
            if per_rule[finding.rule] <= _LOCATED_PER_RULE:
                located.append(Finding(finding.rule, finding.message, _piece_line(text, piece)))
            else:
                unlocated.append(finding)
    return sorted(located, key=lambda f: f.line or 0) + unlocated


def _piece_line(text: str, piece: str) -> int | None:
    match = re.search(r'(?<![^,;"\r\n])' + re.escape(piece) + r'(?![^,;"\r\n])', text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _line_break_faults(text: str) -> list[Finding]:
    """A carriage return that ends no line, or a line break inside a quoted field, is a control character."""
    findings = []
    # most files have none: `in` stops at the first, and only then are they counted
    if "\r" in text and text.count("\r") > text.count("\r\n"):
        for match in list(re.finditer(r"\r(?!\n)", text))[:_LOCATED_PER_RULE]:
            findings.append(
                Finding(
                    "text",
                    "a carriage return inside a line; fields are text without control characters",
                    text.count("\n", 0, match.start()) + 1,
                )
            )
    if '"' in text:
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text))
        try:
            for row in rows:
                if any("\n" in field or "\r" in field for field in row):
                    findings.append(
                        Finding(
                            "text",
                            "a line break inside a quoted field; fields are text without control characters",
                            rows.line_num,
                        )
                    )
        except csv.Error:
            pass  # the CSV checks name a malformed file themselves
    return findings


def _long_field_faults(text: str, long_lines: list[int]) -> list[Finding]:
    """Fields over 1,000 characters; only lines that long are split into fields."""
    findings = []
    if long_lines:
        lines, delimiter = text.split("\n"), delimiter_of(text)
        for number in long_lines:
            longest = _longest_field(lines[number - 1], delimiter)
            if longest > MAX_FIELD_CHARS:
                findings.append(
                    Finding("text", f"a field of {longest} characters; at most {MAX_FIELD_CHARS:,} are allowed", number)
                )
    return findings


def _longest_field(line: str, delimiter: str) -> int:
    if '"' not in line:
        return max(len(field) for field in line.rstrip("\r").split(delimiter))
    try:
        return max((len(field) for field in next(csv.reader([line], delimiter=delimiter), [])), default=0)
    except csv.Error:  # a field beyond the csv module's own limit (128 KiB)
        return len(line)
