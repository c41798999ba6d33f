"""Build the UKey agent (联连客户端) as its own small wheel, which the login page offers for download.

The hall's own package carries every service; an employer's PC needs only ``ukey_agent`` and its four
dependencies. ``make`` runs this at setup into an ignored folder (``HALL_UKEY_AGENT_DIST_DIR``).
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

from hall_common.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
NAME = "hall_ukey_agent"
VERSION = "1.0.0"
METADATA = f"""Metadata-Version: 2.1
Name: {NAME}
Version: {VERSION}
Summary: UKey agent for the employer hall: signs login challenges with the USB key (PKCS#11)
Requires-Python: >=3.11
Requires-Dist: Flask>=3.0
Requires-Dist: Werkzeug>=3.0
Requires-Dist: python-pkcs11>=0.7
Requires-Dist: cryptography>=42
"""
WHEEL = "Wheel-Version: 1.0\nGenerator: deploy.agent_wheel\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
ENTRY_POINTS = "[console_scripts]\nhall-ukey-agent = ukey_agent.__main__:main\n"


def dist_dir() -> Path:
    path = get_settings().ukey_agent_dist_dir
    return path if path.is_absolute() else ROOT / path


def wheel_path() -> Path | None:
    """The built wheel, if setup has built it."""
    found = sorted(dist_dir().glob(f"{NAME}-*.whl"))
    return found[-1] if found else None


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return f"{name},sha256={digest},{len(data)}"


def build() -> Path:
    """Write the wheel directly (a zip with its metadata, PEP 427): a pure-Python package needs no build
    backend, so setup works offline with what the virtualenv has."""
    target = dist_dir()
    target.mkdir(parents=True, exist_ok=True)
    info = f"{NAME}-{VERSION}.dist-info"
    files = {f"ukey_agent/{p.name}": p.read_bytes() for p in sorted((ROOT / "ukey_agent").glob("*.py"))}
    files.update({f"{info}/METADATA": METADATA.encode("utf-8"), f"{info}/WHEEL": WHEEL.encode("ascii"),
                  f"{info}/entry_points.txt": ENTRY_POINTS.encode("ascii"),
                  f"{info}/top_level.txt": b"ukey_agent\n"})
    record = [_record_line(name, data) for name, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode("utf-8")
    path = target / f"{NAME}-{VERSION}-py3-none-any.whl"
    partial = path.with_suffix(".tmp")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files.items():
            wheel.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data)
    partial.replace(path)
    return path


if __name__ == "__main__":
    print(build())
