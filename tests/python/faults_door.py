"""Faulty deliveries: strict dates and numbers, totals, DST hours, municipality codes.

Each entry is a `Fault` (see faulty.py) and is run by test_load.test_faulty_delivery_is_refused_whole.
"""

from __future__ import annotations

from .faulty import Fault  # noqa: F401

DOOR_FAULTS: list = []
