"""安全密钥 in the admin console (UKey管理 permission): the center's switch per employer, one-time
enrolment codes for operators without a UKey, and the registered keys, each revocable (the account's
sessions end at once)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, flash, redirect, render_template, request, url_for

from . import session as sessions
from .admin_accounts import _flash_result
from .console import console
from .session import CENTER_KEY

bp = Blueprint("keyadmin", __name__, url_prefix="/admin")


def _auth() -> Any:
    return sessions.client("auth", CENTER_KEY)


@bp.route("/security-keys")
@console("ukey_admin")
def keys() -> Any:
    return render_template("admin/security_keys.html", switches=_auth().get("/auth/webauthn/switches"),
                           keys=_auth().get("/auth/webauthn/admin/keys"), operators=_auth().get("/auth/operators"))


@bp.route("/security-keys/switches/<employer_no>", methods=["POST"])
@console("ukey_admin")
def switch(employer_no: str) -> Any:
    allowed = request.form.get("allowed") == "1"
    _flash_result(lambda: _auth().request("PUT", f"/auth/webauthn/switches/{quote(employer_no, safe='')}",
                                          json={"allowed": allowed}))
    return redirect(url_for("keyadmin.keys"))


@bp.route("/security-keys/codes", methods=["POST"])
@console("ukey_admin")
def issue_code() -> Any:
    login_name = request.form.get("login_name", "")
    result = _flash_result(lambda: _auth().post(f"/auth/webauthn/codes/{quote(login_name, safe='')}"))
    if result is not None:  # shown once, to this administrator: only its hash is kept
        until = result["expires_at"][:16].replace("T", " ")
        flash(f"{login_name} 的安全密钥登记码：{result['code']}（有效期至 {until}）", "success")
    return redirect(url_for("keyadmin.keys"))


@bp.route("/security-keys/<int:key_id>/revoke", methods=["POST"])
@console("ukey_admin")
def revoke(key_id: int) -> Any:
    _flash_result(lambda: _auth().post(f"/auth/webauthn/admin/keys/{key_id}/revoke"))
    return redirect(url_for("keyadmin.keys"))
