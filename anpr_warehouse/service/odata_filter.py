"""OData v4 `$filter` and `$orderby`: a small recursive-descent parser and a compiler to parameterised DuckDB SQL.

Why a parser (and not regular expressions): a filter is a nested boolean expression,
and only a grammar can tell `a eq 'x' or (b eq 'y' and not c eq 'z')` from text that
merely looks like it. The compiler only ever writes column expressions from the
caller-supplied whitelist and `?` placeholders for every literal, so no text of the
request reaches DuckDB as SQL. Whatever the subset cannot express raises
`FilterError` with a message saying what is accepted; the routes turn it into a 400.

The subset (what Excel, Power BI and StatLine's own examples use):
  comparison   Field eq|ne|gt|ge|lt|le literal   (or literal op Field)
  membership   Field in ('a', 'b')
  functions    startswith(Field, 'x'), endswith(Field, 'x'), contains(Field, 'x')
  logic        and, or, not, parentheses
  literals     'text' (a quote doubled inside: 'it''s'), integers, decimals, true, false, null
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LENGTH = 4000
MAX_DEPTH = 40
MAX_IN = 500
COMPARISONS = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
FUNCTIONS = {"startswith": "starts_with({0}, ?)", "endswith": "ends_with({0}, ?)", "contains": "contains({0}, ?)"}
KEYWORDS = {"and", "or", "not", "in", *COMPARISONS}
TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[(),])
""",
    re.VERBOSE,
)


class FilterError(ValueError):
    """The expression is not in the accepted subset; the message says why and what is accepted."""


@dataclass(frozen=True)
class Column:
    """A whitelisted column: the SQL expression it stands for and its kind ('string', 'number' or 'boolean')."""

    sql: str
    kind: str


@dataclass(frozen=True)
class Token:
    kind: str  # string, number, name, punct, end
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise FilterError(f"the expression is longer than {MAX_LENGTH} characters")
    tokens, pos = [], 0
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if match is None:
            raise FilterError(
                f"unexpected character {text[pos]!r} at position {pos + 1}; "
                "strings take single quotes, e.g. VehicleCategory eq 'BEST'"
            )
        if match.lastgroup != "space":
            tokens.append(Token(match.lastgroup, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# ---- the syntax tree: plain tuples, easy to compile and to assert on in tests ------------------------------------------
# ("or", a, b) ("and", a, b) ("not", a) ("cmp", op, left, right) ("in", field, [literals]) ("call", fn, field, literal)
# ("field", name) ("lit", value)


class Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def word(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "name" and token.text.lower() in words

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise FilterError(f"expected {text!r} at position {token.pos + 1}, found {token.text or 'the end'!r}")

    def parse(self) -> tuple:
        if self.peek().kind == "end":
            raise FilterError("the expression is empty")
        tree = self.or_()
        if self.peek().kind != "end":
            token = self.peek()
            raise FilterError(f"unexpected {token.text!r} at position {token.pos + 1}; combine conditions with 'and' or 'or'")
        return tree

    def or_(self) -> tuple:
        tree = self.and_()
        while self.word("or"):
            self.take()
            tree = ("or", tree, self.and_())
        return tree

    def and_(self) -> tuple:
        tree = self.not_()
        while self.word("and"):
            self.take()
            tree = ("and", tree, self.not_())
        return tree

    def not_(self) -> tuple:
        if self.word("not"):
            self.take()
            return ("not", self.nested(self.not_))
        return self.comparison()

    def nested(self, rule):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterError(f"the expression is nested deeper than {MAX_DEPTH} levels")
        try:
            return rule()
        finally:
            self.depth -= 1

    def comparison(self) -> tuple:
        left = self.primary()
        if self.word(*COMPARISONS):
            op = self.take().text.lower()
            return ("cmp", op, left, self.primary())
        if self.word("in"):
            self.take()
            self.expect("(")
            values = [self.literal()]
            while self.peek().text == ",":
                self.take()
                values.append(self.literal())
                if len(values) > MAX_IN:
                    raise FilterError(f"'in' takes at most {MAX_IN} values")
            self.expect(")")
            return ("in", left, values)
        return left

    def primary(self) -> tuple:
        token = self.peek()
        if token.text == "(":
            self.take()
            tree = self.nested(self.or_)
            self.expect(")")
            return tree
        if token.kind == "name" and self.tokens[self.i + 1].text == "(":
            name = token.text.lower()
            if name not in FUNCTIONS:
                raise FilterError(f"function {token.text!r} is not supported; supported: {', '.join(FUNCTIONS)}")
            self.take()
            self.expect("(")
            field = self.field()
            self.expect(",")
            value = self.literal()
            self.expect(")")
            return ("call", name, field, value)
        if token.kind == "name" and token.text.lower() not in ("true", "false", "null"):
            return self.field()
        return self.literal()

    def field(self) -> tuple:
        token = self.take()
        if token.kind != "name" or token.text.lower() in KEYWORDS:
            raise FilterError(f"expected a property name at position {token.pos + 1}, found {token.text or 'the end'!r}")
        return ("field", token.text)

    def literal(self) -> tuple:
        token = self.take()
        if token.kind == "string":
            return ("lit", token.text[1:-1].replace("''", "'"))
        if token.kind == "number":
            value = float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
            if not -(2**63) < value < 2**63:
                raise FilterError(f"the number {token.text[:30]} at position {token.pos + 1} is out of range")
            return ("lit", value)
        if token.kind == "name" and token.text.lower() in ("true", "false", "null"):
            return ("lit", {"true": True, "false": False, "null": None}[token.text.lower()])
        raise FilterError(
            f"expected a literal ('text', a number, true, false or null) at position {token.pos + 1}, "
            f"found {token.text or 'the end'!r}"
        )


def parse(text: str) -> tuple:
    return Parser(text).parse()


def compile_filter(text: str, columns: dict[str, Column]) -> tuple[str, list]:
    """`$filter` text -> (SQL boolean expression, parameters), over `columns` only."""
    params: list = []
    sql = _boolean(parse(text), columns, params)
    return sql, params


def _column(node: tuple, columns: dict[str, Column]) -> Column:
    name = node[1]
    if name not in columns:
        raise FilterError(f"unknown property {name!r}; properties: {', '.join(columns)}")
    return columns[name]


def _check_type(column: Column, name: str, value) -> None:
    if value is None:
        return
    expected = {"string": str, "number": (int, float), "boolean": bool}[column.kind]
    if isinstance(value, bool) and column.kind != "boolean" or not isinstance(value, expected):
        shown = "a quoted string" if column.kind == "string" else f"a {column.kind}"
        raise FilterError(f"{name} is compared with {value!r}, but it takes {shown}")


def _boolean(node: tuple, columns: dict[str, Column], params: list) -> str:
    kind = node[0]
    if kind in ("and", "or"):
        return f"({_boolean(node[1], columns, params)} {kind} {_boolean(node[2], columns, params)})"
    if kind == "not":
        return f"(not coalesce({_boolean(node[1], columns, params)}, false))"
    if kind == "cmp":
        _, op, left, right = node
        if left[0] == "lit" and right[0] == "field":  # 'x' eq Field: the same as Field eq 'x', mirrored
            left, right = right, left
            op = {"gt": "lt", "lt": "gt", "ge": "le", "le": "ge"}.get(op, op)
        if left[0] != "field" or right[0] != "lit":
            raise FilterError("a comparison needs a property on one side and a literal on the other, e.g. Hour eq 'H08'")
        column = _column(left, columns)
        value = right[1]
        _check_type(column, left[1], value)
        if value is None:
            if op not in ("eq", "ne"):
                raise FilterError("null can only be compared with eq or ne")
            return f"({column.sql} is {'' if op == 'eq' else 'not '}null)"
        params.append(value)
        return f"({column.sql} {COMPARISONS[op]} ?)"
    if kind == "in":
        _, field, values = node
        if field[0] != "field":
            raise FilterError("'in' needs a property on its left, e.g. VehicleCategory in ('BEST', 'VRAC')")
        column = _column(field, columns)
        for value in values:
            if value[1] is None:
                raise FilterError("'in' does not take null; use Field eq null")
            _check_type(column, field[1], value[1])
            params.append(value[1])
        return f"({column.sql} in ({', '.join('?' for _ in values)}))"
    if kind == "call":
        _, name, field, value = node
        column = _column(field, columns)
        if column.kind != "string" or not isinstance(value[1], str):
            raise FilterError(f"{name}() takes a text property and a quoted string, e.g. {name}(Location, 'GM0344')")
        params.append(value[1])
        return f"coalesce({FUNCTIONS[name].format(column.sql)}, false)"
    if kind == "field" and _column(node, columns).kind == "boolean":
        return f"({_column(node, columns).sql})"
    raise FilterError("the expression is not a condition; write e.g. VehicleCategory eq 'BEST'")


def compile_orderby(text: str, columns: dict[str, Column]) -> list[str]:
    """`$orderby` text ('Field [asc|desc], ...') -> SQL order items over `columns` only."""
    tokens = tokenize(text)
    items, i = [], 0
    while True:
        token = tokens[i]
        if token.kind != "name" or token.text not in columns:
            raise FilterError(
                f"$orderby takes property names with optional asc or desc; unknown {token.text or 'nothing'!r}; "
                f"properties: {', '.join(columns)}"
            )
        direction = "asc"
        i += 1
        if tokens[i].kind == "name" and tokens[i].text.lower() in ("asc", "desc"):
            direction = tokens[i].text.lower()
            i += 1
        items.append(f"{columns[token.text].sql} {direction} nulls {'first' if direction == 'asc' else 'last'}")
        if tokens[i].kind == "end":
            return items
        if tokens[i].text != "," or len(items) >= 10:
            raise FilterError(
                f"unexpected {tokens[i].text!r} in $orderby at position {tokens[i].pos + 1}; separate properties with ','"
            )
        i += 1
