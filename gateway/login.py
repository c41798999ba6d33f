"""The employer's login (manual ch. 1): password and UKey, forced password change, the choice of the
employer account, the agent (联连客户端) to download; and, once in, 修改密码, 关闭音效, 退出系统
and the idle timeout."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)

from deploy import agent_wheel
from hall_common.client import ServiceClient, ServiceError
from hall_common.settings import get_settings

from . import session as sessions
from .session import CENTER_KEY, EMPLOYER_KEY

bp = Blueprint("login", __name__)
login_required = sessions.login_required(EMPLOYER_KEY, "login.login")
PENDING = "pending_login"


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = {"employer_no": "", "login_name": ""}
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in ("employer_no", "login_name")}
        try:
            stage = ServiceClient("auth").post(*_login_call(form))
        except ServiceError as exc:
            if exc.status >= 500:
                raise
            flash(exc.message, "error")
        else:
            session.pop(PENDING, None)  # a login begun and abandoned before does not choose where this one ends
            return _next_stage(stage)
    return render_template("login.html", form=form, agent_url=get_settings().ukey_agent_url, agent=_agent_download())


def _login_call(form: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The login with the UKey's signature, or with a security key's assertion (使用安全密钥登录)."""
    proof = {k: request.form.get(k, "") for k in ("password", "challenge_id")}
    if request.form.get("credential"):
        try:
            credential = json.loads(request.form["credential"])
        except ValueError:
            credential = {}
        return "/auth/webauthn/login", {**form, **proof,
                                        "credential": credential if isinstance(credential, dict) else {}}
    signed = {k: request.form.get(k, "") for k in ("certificate", "signature")}
    return "/auth/login", {**form, **proof, **signed}


def _agent_download() -> dict[str, str] | None:
    """The agent's wheel and the one-line commands that install and start it on the employer's PC."""
    wheel = agent_wheel.wheel_path()
    if wheel is None:
        return None
    url = url_for("login.agent_download", filename=wheel.name, _external=True)
    origin = request.host_url.rstrip("/")
    return {
        "filename": wheel.name,
        "url": url,
        "windows": f"py -m pip install --user {url} && py -m ukey_agent --origin {origin}"
                   " --module 厂商PKCS11驱动.dll",
        # A virtualenv of its own: Debian and Ubuntu refuse `pip install` into the system Python.
        "linux": f"python3 -m venv ~/.hall-ukey-agent && ~/.hall-ukey-agent/bin/pip install {url}"
                 f" && ~/.hall-ukey-agent/bin/hall-ukey-agent --origin {origin} --module 厂商PKCS11驱动.so",
    }


@bp.route("/agent/<filename>")
def agent_download(filename: str) -> Any:
    wheel = agent_wheel.wheel_path()
    if wheel is None or wheel.name != filename:
        abort(404)
    return send_from_directory(wheel.parent, wheel.name, as_attachment=True, mimetype="application/zip")


@bp.route("/login/challenge", methods=["POST"])
def challenge() -> Any:
    data = sessions.json_object()
    try:
        result = sessions.auth_for_browser().post("/auth/challenge", {
            "employer_no": str(data.get("employer_no", "")).strip(),
            "login_name": str(data.get("login_name", "")).strip(),
        })
    except ServiceError as exc:
        return jsonify({"message": exc.message}), exc.status
    return jsonify(result)


def _next_stage(stage: dict[str, Any]) -> Any:
    # The page that asked for the login, kept through the password change and the choice of employer.
    back = (session.get(PENDING) or {}).get("next") or sessions.next_path("")
    session[PENDING] = {"ticket": stage["ticket"], "employers": stage.get("employers", []), "next": back}
    if stage["stage"] == "change_password":
        flash(stage.get("message") or "请先修改密码", "info")
        return redirect(url_for("login.initial_password"))
    return redirect(url_for("login.select"))


def _confirmed_new_password() -> str | None:
    """The new password if both entries agree; otherwise the page says so."""
    new_password = request.form.get("new_password", "")
    if new_password != request.form.get("confirm_password", ""):
        flash("两次输入的新密码不一致", "error")
        return None
    return new_password


@bp.route("/login/password", methods=["GET", "POST"])
def initial_password() -> Any:
    pending = session.get(PENDING)
    if not pending:
        return redirect(url_for("login.login"))
    if request.method == "POST":
        new_password = _confirmed_new_password()
        if new_password is not None:
            try:
                stage = ServiceClient("auth").post(
                    "/auth/initial-password", {"ticket": pending["ticket"], "new_password": new_password}
                )
            except ServiceError as exc:
                return _retry_or_restart(exc, "login.initial_password")
            flash("密码修改成功", "success")
            return _next_stage(stage)
    return render_template("password.html", initial=True)


# A closed employer's accounts still log in, to query (auth grants them nothing else).
CLOSED_NOTICE = "单位账户已销户，仅可办理查询业务"


@bp.route("/login/select", methods=["GET", "POST"])
def select() -> Any:
    pending = session.get(PENDING)
    if not pending:
        return redirect(url_for("login.login"))
    if request.method == "POST":
        try:
            result = ServiceClient("auth").post(
                "/auth/select", {"ticket": pending["ticket"], "employer_no": request.form.get("employer_no", "")}
            )
        except ServiceError as exc:
            return _retry_or_restart(exc, "login.select")
        session.pop(PENDING, None)
        sessions.start(EMPLOYER_KEY, result)
        if result.get("closed"):
            flash(CLOSED_NOTICE, "error")
        back = pending.get("next") or ""
        return redirect(back if sessions.local_path(back) else url_for("hall.home"))
    return render_template("select.html", employers=pending["employers"])


def _retry_or_restart(error: ServiceError, endpoint: str) -> Any:
    if error.status >= 500:
        raise error
    flash(error.message, "error")
    if error.status == 401:  # the ticket expired: the whole login again
        session.pop(PENDING, None)
        return redirect(url_for("login.login"))
    return redirect(url_for(endpoint))


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    sessions.revoke(EMPLOYER_KEY)
    flash("已退出系统", "success")
    return redirect(url_for("login.login"))


def _area_key() -> str:
    area = request.args.get("area") or sessions.json_object().get("area")
    return CENTER_KEY if area == "center" else EMPLOYER_KEY


@bp.route("/session/keepalive", methods=["POST"])
def keepalive() -> Any:
    """继续办理 on the idle warning: the user is here, the idle clock starts again."""
    key = _area_key()
    if sessions.current(key) is None or sessions.end_if_idle(key):
        return jsonify({"message": sessions.IDLE_MESSAGE, "login": url_for(sessions.LOGIN_ENDPOINTS[key])}), 401
    sessions.touch(key)
    return jsonify({"idle_seconds": get_settings().session_idle_seconds})


@bp.route("/session/expired")
def expired() -> Any:
    """Where the page goes at its idle timeout. Another tab may have been used meanwhile: only a session
    really idle is ended; otherwise the user returns to the page."""
    key = _area_key()
    if sessions.current(key) is None or sessions.end_if_idle(key):
        return redirect(url_for(sessions.LOGIN_ENDPOINTS[key]))
    target = request.args.get("next", "")
    if not sessions.local_path(target):
        target = url_for("admin.tasks" if key == CENTER_KEY else "hall.home")
    return redirect(target)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    if request.method == "POST":
        new_password = _confirmed_new_password()
        if new_password is not None:
            try:
                result = sessions.client("auth").post("/auth/password", {
                    "old_password": request.form.get("old_password", ""), "new_password": new_password,
                })
            except ServiceError as exc:
                if exc.status >= 500 or exc.status == 401:
                    raise
                flash(exc.message, "error")
            else:
                flash(result["message"], "success")
                return redirect(url_for("hall.home"))
    return render_template("password.html", initial=False)


@bp.route("/sound", methods=["POST"])
@login_required
def sound() -> Any:
    current = sessions.current(EMPLOYER_KEY) or {}
    enabled = not current.get("sound_enabled", True)
    result = sessions.client("auth").post("/auth/sound", {"sound_enabled": enabled})
    current["sound_enabled"] = result["sound_enabled"]
    session[EMPLOYER_KEY] = current
    flash("音效已开启" if enabled else "音效已关闭", "success")
    return redirect(request.referrer or url_for("hall.home"))


def _back_to_referrer(fallback: str) -> Any:
    """Back to the page the switch was pressed on (its path and query only), else the fallback."""
    referrer = urlsplit(request.referrer or "")
    target = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return redirect(target if referrer.netloc == request.host and sessions.local_path(target) else fallback)


@bp.route("/large-text", methods=["POST"])
def large_text() -> Any:
    """大字模式 on or off for the operator of the page's console (employer hall or admin console): kept
    at the auth service with the account, so the next login starts the same way."""
    key = CENTER_KEY if request.form.get("area") == "center" else EMPLOYER_KEY
    login_page = url_for(sessions.LOGIN_ENDPOINTS[key])
    if sessions.current(key) is None or sessions.end_if_idle(key):
        return redirect(login_page)
    sessions.touch(key)
    value = sessions.current(key) or {}
    enabled = not value.get("large_text", False)
    try:
        result = sessions.client("auth", key).post("/auth/large-text", {"large_text": enabled})
    except ServiceError as exc:
        if exc.status != 401:
            raise
        sessions.end(key)
        flash(exc.message, "error")
        return redirect(login_page)
    value["large_text"] = result["large_text"]
    session[key] = value
    flash("已开启大字模式" if enabled else "已关闭大字模式", "success")
    return _back_to_referrer(url_for("admin.tasks" if key == CENTER_KEY else "hall.home"))
