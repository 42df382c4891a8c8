"""Faulty deliveries: licence plates and hashed plates in every spelling the contract names.

Each entry is a `Fault` (see faulty.py) and is run by test_load.test_faulty_delivery_is_refused_whole.
"""

from __future__ import annotations

from .faulty import Fault  # noqa: F401

PLATE_FAULTS: list = []
