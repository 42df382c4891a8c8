"""`anpr docs --out DIR`: dbt's documentation as one self-contained page, `DIR/index.html`.

`dbt docs generate --static` inlines the manifest and catalog into one HTML file
that opens from disk. dbt writes it into a private target folder (not the
project's `target/`, which the metric layer reads while other commands run).
The page must make no request off the machine: dbt's anonymous-usage tracker
(the Snowplow collector at fuzzed.getdbt.com, only called when usage stats are
on) is neutralised in the copy, whatever the environment says.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from .dbt_runner import run_dbt
from .errors import UserError

# Hosts the static page names in code that could run in a reader's browser (everything else it mentions is
# text: links in help texts, licence headers, JSON-schema ids). Rewritten to an address that cannot resolve.
TRACKING_HOSTS = ("fuzzed.getdbt.com",)
UNREACHABLE = "invalid.invalid"


def neutralise(html: str) -> str:
    """The page with every tracking host replaced by an unresolvable one (RFC 2606 `.invalid`)."""
    for host in TRACKING_HOSTS:
        html = re.sub(re.escape(host), UNREACHABLE, html)
    return html


def build_docs(warehouse: Path, out: Path) -> Path:
    """Generates the static docs for the warehouse and writes `out/index.html`; returns its path."""
    with tempfile.TemporaryDirectory(prefix="anpr-docs-") as tmp:
        target = Path(tmp) / "target"
        run_dbt(["docs", "generate", "--static", "--quiet", "--target-path", str(target)], warehouse)
        page = target / "static_index.html"
        if not page.exists():
            raise UserError("dbt docs generate wrote no static_index.html (dbt too old for --static?)")
        out.mkdir(parents=True, exist_ok=True)
        index = out / "index.html"
        partial = out / ".index.html.tmp"
        partial.write_text(neutralise(page.read_text(encoding="utf-8")), encoding="utf-8")
        partial.replace(index)  # a reader never sees half a page
    print(f"docs: {index}", file=sys.stderr)
    return index


def cmd_docs(args) -> int:
    """`anpr docs --out DIR`."""
    from .cli_args import warehouse_path

    print(build_docs(warehouse_path(args), args.out.resolve()))
    return 0
