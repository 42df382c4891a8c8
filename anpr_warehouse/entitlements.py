"""Vendor entitlements (vendors.yml): a vendor receives only the municipalities it is entitled to.

Checked before anything is read or written, for the whole request: asking for one
municipality too many refuses the request, it does not quietly export the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import ExitCode, UserError
from .paths import PROJECT_ROOT

VENDORS_FILE = PROJECT_ROOT / "vendors.yml"
FORMATS = ("parquet", "csv", "geojson")


class NotEntitled(UserError):
    exit_code = ExitCode.REFUSED


@dataclass(frozen=True)
class Vendor:
    name: str
    municipalities: tuple[str, ...]
    formats: tuple[str, ...]


def load_vendors(path: Path = VENDORS_FILE) -> dict[str, Vendor]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"cannot read vendor entitlements {path}: {exc}") from None
    vendors_doc = doc.get("vendors") if isinstance(doc, dict) else doc  # not a mapping at all: refused below
    if not isinstance(vendors_doc or {}, dict) or not all(isinstance(e or {}, dict) for e in (vendors_doc or {}).values()):
        raise UserError(f"{path} is not a vendors file: expected 'vendors:' with a mapping per vendor (see vendors.yml)")
    vendors = {}
    for name, entry in (vendors_doc or {}).items():
        entry = entry or {}
        formats = _names(path, name, entry, "formats") or FORMATS
        unknown = set(formats) - set(FORMATS)
        if unknown:
            raise UserError(f"{path}: vendor {name} has unknown formats {sorted(unknown)}; known: {', '.join(FORMATS)}")
        vendors[name] = Vendor(name, _names(path, name, entry, "municipalities"), formats)
    return vendors


def _names(path: Path, vendor: str, entry: dict, key: str) -> tuple[str, ...]:
    """A vendor's list of codes; a bare string is refused, because `tuple("GM0344")` would silently read it as
    six one-letter codes and the vendor would get nothing, without a word."""
    value = entry.get(key) or ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise UserError(
            f"{path}: vendor {vendor}: {key} must be a list of codes, e.g. {key}: [{'GM0344' if key == 'municipalities' else 'csv'}]"
        )
    return tuple(value)


def entitled_municipalities(vendor_name: str, requested: list[str] | None, path: Path = VENDORS_FILE) -> tuple[Vendor, list[str]]:
    """The vendor and the municipalities to export; refuses the whole request on any unentitled one."""
    vendors = load_vendors(path)
    if vendor_name not in vendors:
        raise NotEntitled(f"unknown vendor {vendor_name!r}; vendors in {path.name}: {', '.join(sorted(vendors)) or 'none'}")
    vendor = vendors[vendor_name]
    wanted = list(dict.fromkeys(requested)) if requested else list(vendor.municipalities)
    refused = [m for m in wanted if m not in vendor.municipalities]
    if refused:
        raise NotEntitled(
            f"vendor {vendor_name} is not entitled to {', '.join(refused)} (entitled: {', '.join(vendor.municipalities) or 'none'}); nothing was exported"
        )
    return vendor, wanted
