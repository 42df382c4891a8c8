"""Interval audit of a delivery's disclosure control across its linked tables.

Every confidential cell is an unknown, every published number a constraint
(its rounding range, the totals along each dimension, the links between
tables); linear programming gives each unknown's feasible interval, and a cell
whose interval is narrower than `min_cell` is at risk. See docs/disclosure-audit.md.
"""

from __future__ import annotations

from .cells import DeliveryCells, cells_from_checked, cells_from_warehouse
from .run import AuditResult, audit_cells

__all__ = ["AuditResult", "DeliveryCells", "audit_cells", "cells_from_checked", "cells_from_warehouse"]
