"""流程设计: the center admin's BPMN designer. Lists the business types with their newest process,
opens one in the bpmn-js Modeler (static/designer.js), validates and deploys the edited XML through
the workflow service (which checks it with SpiffWorkflow and answers the element at fault), and
shows every deployed version read-only."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, flash, jsonify, render_template, url_for

from hall_common.client import ServiceError

from . import session as sessions
from .console import console
from .session import CENTER_KEY

bp = Blueprint("designer", __name__, url_prefix="/admin/definitions")
MAX_NOTE = 200


def _workflow() -> Any:
    return sessions.client("workflow", CENTER_KEY)


def _key(key: str) -> str:
    return quote(key, safe="")


def _items(body: Any) -> list[dict[str, Any]]:
    return list(body["items"] if isinstance(body, dict) else body)


@bp.route("/")
@console("process_design")
def definitions() -> Any:
    return render_template("admin/definitions.html", items=_items(_workflow().get("/definitions")))


def _versions(key: str) -> list[dict[str, Any]]:
    try:
        return _items(_workflow().get(f"/definitions/{_key(key)}/versions"))
    except ServiceError as exc:
        if exc.status == 404:
            abort(404)
        raise


@bp.route("/<key>")
@console("process_design")
def design(key: str) -> Any:
    versions = _versions(key)
    if not versions:
        abort(404)
    newest = _workflow().get(f"/definitions/{_key(key)}/versions/{int(versions[0]['version'])}")
    groups = _items(sessions.client("auth", CENTER_KEY).get("/groups"))
    model = {"bpmn_xml": newest["bpmn_xml"], "version": newest["version"],
             "groups": [{"code": g["code"], "name": g["name"]} for g in groups],
             "validate_url": url_for("designer.validate", key=key), "deploy_url": url_for("designer.deploy", key=key)}
    return render_template("admin/designer.html", key=key, definition=versions[0], versions=versions, model=model)


@bp.route("/<key>/versions/<int:version>")
@console("process_design")
def version(key: str, version: int) -> Any:
    try:
        body = _workflow().get(f"/definitions/{_key(key)}/versions/{version}")
    except ServiceError as exc:
        if exc.status == 404:
            abort(404)
        raise
    path = {"bpmn_xml": body["bpmn_xml"], "completed": [], "taken_flows": [], "current": []}
    return render_template("admin/definition_version.html", key=key, definition=body, path=path)


def _forward(action: str, key: str, payload: dict[str, Any]) -> Any:
    """A script's validate or deploy, passed on; a refusal comes back with the element at fault."""
    try:
        result = _workflow().post(f"/definitions/{_key(key)}/{action}", payload)
    except ServiceError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        errors = exc.errors if isinstance(exc.errors, dict) else {}
        return jsonify({"message": exc.message, "element": str(errors.get("element") or "")}), exc.status
    return result


@bp.route("/<key>/validate", methods=["POST"])
@console("process_design")
def validate(key: str) -> Any:
    body = sessions.json_object()
    result = _forward("validate", key, {"bpmn_xml": body.get("bpmn_xml", "")})
    if isinstance(result, tuple):
        return result
    return jsonify({"message": result.get("message") or "校验通过"})


@bp.route("/<key>/deploy", methods=["POST"])
@console("process_design")
def deploy(key: str) -> Any:
    body = sessions.json_object()
    note = str(body.get("note", "")).strip()
    if not note:
        return jsonify({"message": "请填写部署说明", "element": ""}), 422
    if len(note) > MAX_NOTE:
        return jsonify({"message": f"部署说明不能超过{MAX_NOTE}字", "element": ""}), 422
    payload: dict[str, Any] = {"bpmn_xml": body.get("bpmn_xml", ""), "note": note}
    base = body.get("base_version")
    if base is not None:  # the version the page opened: a newer one deployed meanwhile refuses (409)
        if not isinstance(base, int) or isinstance(base, bool):
            return jsonify({"message": "基础版本号无效，请刷新页面", "element": ""}), 422
        payload["base_version"] = base
    result = _forward("deploy", key, payload)
    if isinstance(result, tuple):
        return result
    done = f"部署成功，当前版本为第{result['version']}版"
    flash(done, "success")  # shown on the reloaded designer, beside the new version in the list
    return jsonify({"message": done, "version": result["version"], "reload": url_for("designer.design", key=key)}), 201
