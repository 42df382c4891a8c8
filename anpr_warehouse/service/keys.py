"""API keys: created once, shown once, stored only as a salted scrypt hash, per warehouse, outside git.

`<warehouse dir>/api-keys.json` sits next to the warehouse (the loader never locks
it). A key reads `anpr_<id>_<secret>`: the id finds the record, scrypt checks the
secret. scrypt is deliberately slow, so a verified key is remembered in memory by
a fast digest until the keys file changes (a revocation takes effect on the next
request).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError

ANALYST = "analyst"
SCRYPT = dict(n=2**14, r=8, p=1, dklen=32)


@dataclass(frozen=True)
class ApiKey:
    id: str
    vendor: str  # a vendors.yml name, or "analyst" (sees every municipality)
    created_at: str
    revoked_at: str | None = None

    @property
    def role(self) -> str:
        return ANALYST if self.vendor == ANALYST else "vendor"


def keys_file(warehouse: Path) -> Path:
    return warehouse.parent / "api-keys.json"


def _hash(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode(), salt=salt, **SCRYPT).hex()


class KeyStore:
    """The keys of one warehouse; safe to share between the service's threads."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._verified: dict[str, ApiKey] = {}
        self._stamp: tuple[int, int] | None = None

    def _read(self) -> dict:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"keys": {}}
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read the API keys {self.path}: {exc}") from None

    def _write(self, doc: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def create(self, vendor: str) -> tuple[ApiKey, str]:
        """A new key for `vendor`; returns the record and the key text (shown once, never stored)."""
        key_id = secrets.token_hex(4)
        secret = secrets.token_urlsafe(24)
        salt = secrets.token_bytes(16)
        record = ApiKey(key_id, vendor, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        with self._lock:
            doc = self._read()
            doc["keys"][key_id] = {
                "vendor": vendor,
                "created_at": record.created_at,
                "revoked_at": None,
                "salt": salt.hex(),
                "scrypt": _hash(secret, salt),
            }
            self._write(doc)
        return record, f"anpr_{key_id}_{secret}"

    def list(self) -> list[ApiKey]:
        doc = self._read()
        return [ApiKey(k, v["vendor"], v["created_at"], v.get("revoked_at")) for k, v in sorted(doc["keys"].items())]

    def revoke(self, key_id: str) -> ApiKey:
        with self._lock:
            doc = self._read()
            if key_id not in doc["keys"]:
                raise UserError(f"no key {key_id!r}; 'anpr keys list' shows them")
            doc["keys"][key_id]["revoked_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            self._write(doc)
            entry = doc["keys"][key_id]
        return ApiKey(key_id, entry["vendor"], entry["created_at"], entry["revoked_at"])

    def verify(self, key: str) -> ApiKey | None:
        """The key's record if it is valid and not revoked, else None."""
        parts = key.split("_", 2)  # the secret itself may contain "_"
        if len(parts) != 3 or parts[0] != "anpr" or not parts[1] or not parts[2] or len(key) > 200:
            return None
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_ino)
        except OSError:
            return None
        digest = hashlib.sha256(key.encode()).hexdigest()
        with self._lock:
            if stamp != self._stamp:
                self._verified.clear()
                self._stamp = stamp
            if digest in self._verified:
                return self._verified[digest]
        entry = self._read()["keys"].get(parts[1])
        if not entry or entry.get("revoked_at"):
            return None
        if not hmac.compare_digest(_hash(parts[2], bytes.fromhex(entry["salt"])), entry["scrypt"]):
            return None
        record = ApiKey(parts[1], entry["vendor"], entry["created_at"], None)
        with self._lock:
            self._verified[digest] = record
        return record
