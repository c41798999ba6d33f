"""The demo UKey: a SoftHSM2 token under var/, its key generated on the token, certified by the
center's CA and bound to the demo employer accounts, so the demo login is the real path."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from hall_common import db

from . import demo_data as demo

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def softhsm_conf(var_dir: Path) -> Path:
    """A SoftHSM2 configuration of our own, so the tokens live under var/ and nowhere else."""
    conf = var_dir / "softhsm" / "softhsm2.conf"
    tokens = conf.parent / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    if not conf.exists():
        conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    return conf


def init_token(conf: Path, label: str, pin: str, so_pin: str) -> None:
    util = shutil.which("softhsm2-util")
    if util is None:
        raise RuntimeError("softhsm2-util not found: run `make deps` (installs Debian's softhsm2)")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    slots = subprocess.run([util, "--show-slots"], env=env, capture_output=True, text=True, check=True).stdout
    labels = {line.split(":", 1)[1].strip() for line in slots.splitlines() if line.strip().startswith("Label:")}
    if label not in labels:
        subprocess.run([util, "--init-token", "--free", "--label", label, "--so-pin", so_pin, "--pin", pin],
                       env=env, capture_output=True, check=True)


def provision_demo() -> None:
    """Generate the key on the demo token and certify it, once (run with SOFTHSM2_CONF set)."""
    from services.auth import create_app
    from services.auth import ukeys as auth_ukeys
    from ukey_agent.token import UKeyToken

    token = UKeyToken(SOFTHSM_MODULE, demo.UKEY_LABEL)
    app = create_app()
    with app.app_context():
        if token.certificate_pem() is not None and auth_ukeys.list_ukeys():
            return
        generated = token.generate_key(demo.UKEY_PIN)
        logins = [e["employer_no"] for e in demo.EMPLOYERS]
        ukey = auth_ukeys.issue("system", generated["token_serial"], generated["token_label"],
                                generated["public_key"], logins)
        token.store_certificate(demo.UKEY_PIN, ukey.certificate_pem)
    db.get_db(app).dispose()
