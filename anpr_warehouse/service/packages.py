"""GET /v1/packages: the export package, built by export.py from the snapshot, zipped once per snapshot.

The zip is deterministic (sorted names, fixed timestamps), cached under
`<warehouse dir>/api-cache/<snapshot id>/`, and its ETag is the SHA-256 of the
package's manifest.json, so a vendor re-downloads only when the content changed.
"""

from __future__ import annotations

import hashlib
import os
import threading
import zipfile
from pathlib import Path

from ..entitlements import FORMATS, Vendor
from ..export import PackageRequest, write_package
from .state import SnapshotContext

_lock = threading.Lock()


def package_zip(ctx: SnapshotContext, vendor: Vendor | None, vendor_name: str, municipality: str, month: str) -> tuple[Path, str]:
    """The zip path and the manifest's sha256; builds the package on first request."""
    vendor = vendor or Vendor(vendor_name, (municipality,), FORMATS)  # analysts: every format
    folder = ctx.cache_root / "packages" / vendor.name
    zip_path = folder / municipality / f"{month}.zip"
    etag_path = zip_path.with_suffix(".etag")
    with _lock:
        if not zip_path.exists():
            con = ctx.cursor()
            try:
                package = write_package(con, ctx.layer, PackageRequest(vendor, municipality, f"{month}-01"), folder / "unzipped")
            finally:
                con.close()
            zip_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = zip_path.with_name(f".{zip_path.name}.tmp-{os.getpid()}")
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(p for p in package.rglob("*") if p.is_file()):
                    info = zipfile.ZipInfo(path.relative_to(package).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, path.read_bytes())
            etag_path.write_text(hashlib.sha256((package / "manifest.json").read_bytes()).hexdigest(), encoding="utf-8")
            os.replace(tmp, zip_path)
    return zip_path, etag_path.read_text(encoding="utf-8")
