"""Faulty deliveries: archives and folders: non-regular files, duplicate or encrypted entries, limits.

Each entry is a `Fault` (see faulty.py) and is run by test_load.test_faulty_delivery_is_refused_whole.
"""

from __future__ import annotations

from .faulty import Fault  # noqa: F401

ARCHIVE_FAULTS: list = []
