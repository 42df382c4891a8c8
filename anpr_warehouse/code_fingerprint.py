"""One hash of a dbt project's code and config, for every "is this what was built before?" question.

Why: the reference nodes a build may skip (reference_nodes.py), the unit tests it may skip (same
module) and the snapshot a new one may start from (snapshot_tables.py) all ask whether the code is
unchanged, and they used to hash the same ingredients in two copies of the same function, one over
dbt's parsed manifest and one over its JSON. Both now hand their nodes and macros here.

Not the manifest file's hash: dbt stamps it with the invocation's id and time on every run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable


def code_fingerprint(nodes: Iterable[tuple[str, str, dict]], macros: Iterable[tuple[str, str]]) -> str:
    """sha256 over (unique_id, checksum, config) of each node and (unique_id, SQL) of each macro, in order given.

    Empty ("") when there is nothing to hash, so "no project" never matches a stored fingerprint.
    """
    parts = [f"{unique_id}:{checksum}:{json.dumps(config, sort_keys=True, default=str)}" for unique_id, checksum, config in nodes]
    parts += [f"{unique_id}:{hashlib.sha256(sql.encode()).hexdigest()}" for unique_id, sql in macros]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest() if parts else ""
