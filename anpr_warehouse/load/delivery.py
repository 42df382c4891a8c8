"""A delivery's identity, and a delivery that passed every check and may be loaded."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

import pyarrow as pa

from .. import contract as c
from .parsing import ParsedTable


@dataclass(frozen=True)
class DeliveryMeta:
    delivery_id: str
    contract: str
    municipality_code: str
    municipality_name: str
    year: int
    month: int
    version: int
    supersedes: str | None
    produced_at: str | None
    min_cell: int | None
    rounding_base: int | None

    @property
    def period_code(self) -> str:
        return c.period_code(self.year, self.month)

    @property
    def period_start(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def period_end(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])


@dataclass
class CheckedDelivery:
    meta: DeliveryMeta
    layout: str  # "v1" or "legacy"
    tables: dict[str, ParsedTable]
    extra_columns: dict[str, dict[str, pa.Array]] = field(default_factory=dict)
    content_sha256: str = ""
    source: str = ""

    def arrow(self, file: str) -> pa.Table:
        table = self.tables[file].to_arrow()
        for name, values in self.extra_columns.get(file, {}).items():
            table = table.append_column(name, values)
        return table
