"""Process definitions: the shipped default per business type, and the versions center admins deploy
from the designer. Deploy checks the file with SpiffWorkflow and the center's groups, and writes an
audit record in the same transaction."""

from __future__ import annotations

from pathlib import Path

from flask import request
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from hall_common import audit, db
from hall_common.client import ServiceClient, ServiceError
from hall_common.errors import BusinessError
from hall_common.security import Principal

from . import engine
from .models import RETURNED, RUNNING, AuditRecord, ProcessDefinition, ProcessInstance

PROCESS_DIR = Path(__file__).resolve().parent / "processes"
SYSTEM = "system"


def center_groups() -> list[dict[str, str]]:
    """The center's candidate groups, asked of the auth service with the caller's own token (unit
    tests replace this function)."""
    header = request.headers.get("Authorization", "")
    token = header[len("Bearer "):] if header.startswith("Bearer ") else None
    try:
        body = ServiceClient("auth", token).get("/groups")
    except ServiceError as exc:
        raise BusinessError(f"无法读取用户组：{exc.message}", 503 if exc.status >= 500 else exc.status) from exc
    return [{"code": str(g["code"]), "name": str(g.get("name") or g["code"])} for g in body.get("items", [])]


def refusal(exc: engine.DefinitionError) -> BusinessError:
    """The 422 the designer shows: the message, and the element at fault to select on the diagram."""
    return BusinessError(exc.message, 422, {"json": {"bpmn_xml": [exc.message]}, "element": exc.element})


def check(process_key: str, bpmn_xml: str) -> engine.ParsedDefinition:
    if process_key not in known_process_keys() and latest_definition(process_key) is None:
        raise BusinessError(f"业务类型 {process_key} 不存在", 404)
    try:
        return engine.parse(bpmn_xml, process_key, center_groups())
    except engine.DefinitionError as exc:
        raise refusal(exc) from exc


def _store(parsed: engine.ParsedDefinition, bpmn_xml: str, deployed_by: str, note: str,
           latest: ProcessDefinition | None) -> ProcessDefinition:
    definition = ProcessDefinition(
        process_key=parsed.process_key, version=(latest.version + 1) if latest else 1, name=parsed.name,
        bpmn_xml=bpmn_xml, spec_json=parsed.spec_json, checksum=parsed.checksum, deployed_by=deployed_by,
        deployed_at=db.utcnow(), note=note, task_groups=parsed.task_groups, end_outcomes=parsed.end_outcomes,
        initiator_may_end=parsed.initiator_may_end,
    )
    db.session().add(definition)
    return definition


def newer_version(version: int) -> str:
    return f"该流程已有新版本（版本{version}），请重新打开后再部署"


def deploy(principal: Principal, process_key: str, bpmn_xml: str, note: str,
           base_version: int | None = None) -> ProcessDefinition:
    """A center admin deploys a new version; instances already running keep theirs.

    ``base_version``: the version the designer opened. A deploy based on an older version than the
    newest is refused; of two based on the same one, the unique (process_key, version) lets one
    commit and the other is told (the new version number is always the base's plus one).
    """
    parsed = check(process_key, bpmn_xml)
    session = db.session()
    latest = latest_definition(process_key)
    if base_version is not None and latest is not None and latest.version != base_version:
        raise BusinessError(newer_version(latest.version), 409)
    if latest is not None and _same_substance(latest, parsed):
        raise BusinessError(f"流程与当前版本（第{latest.version}版）内容相同（仅格式或布局不同），无需重新部署", 409)
    definition = _store(parsed, bpmn_xml, principal.login_name, note.strip(), latest)
    before = {"version": latest.version, "checksum": latest.checksum} if latest else None
    audit.record(session, AuditRecord, principal.login_name, "deploy_process", process_key, detail=note.strip(),
                 before=before,
                 after={"version": definition.version, "checksum": definition.checksum, "note": note.strip()})
    try:
        session.commit()
    except IntegrityError as exc:  # another admin deployed the same version number first
        session.rollback()
        newest = latest_definition(process_key)
        raise BusinessError(newer_version(newest.version) if newest else "流程已被他人部署新版本，请刷新后重试",
                            409) from exc
    return definition


def _same_substance(latest: ProcessDefinition, parsed: engine.ParsedDefinition) -> bool:
    if latest.checksum == parsed.checksum:
        return True
    return engine.substance(latest.spec_json, latest.task_groups, latest.end_outcomes, latest.initiator_may_end) \
        == engine.substance(parsed.spec_json, parsed.task_groups, parsed.end_outcomes, parsed.initiator_may_end)


def install(process_key: str, bpmn_xml: str, deployed_by: str = SYSTEM, note: str = "系统默认流程",
            keep_admin_versions: bool = False) -> ProcessDefinition:
    """Deploy without a caller: the shipped defaults at setup, tools and tests. The file passes every
    check but the group lookup (nobody is logged in to ask the auth service; the shipped files use its
    seeded groups). The same content as the newest version deploys nothing."""
    parsed = engine.parse(bpmn_xml, process_key)
    latest = latest_definition(process_key)
    if latest is not None and latest.checksum == parsed.checksum:
        return latest
    if latest is not None and keep_admin_versions and latest.deployed_by != SYSTEM:
        return latest  # never replace what a center admin deployed with a shipped file
    definition = _store(parsed, bpmn_xml, deployed_by, note, latest)
    db.session().flush()
    return definition


def deploy_defaults() -> list[ProcessDefinition]:
    deployed = [install(p.stem, p.read_text(encoding="utf-8"), keep_admin_versions=True)
                for p in sorted(PROCESS_DIR.glob("*.bpmn"))]
    db.session().commit()
    return deployed


def latest_definition(process_key: str) -> ProcessDefinition | None:
    return db.session().scalar(_LATEST, {"process_key": process_key})


# Built once (every business started asks it). The BPMN file is read only by the designer and the path
# viewer: loaded when touched, not with every business started (make bench).
_LATEST = (
    select(ProcessDefinition)
    .options(defer(ProcessDefinition.bpmn_xml))
    .where(ProcessDefinition.process_key == bindparam("process_key"))
    .order_by(ProcessDefinition.version.desc())
    .limit(1)
)


def definition_for(process_key: str) -> ProcessDefinition:
    """The newest deployed definition, deploying the shipped default file the first time it is needed."""
    definition = latest_definition(process_key)
    if definition is None:
        path = PROCESS_DIR / f"{process_key}.bpmn"
        if not path.exists():
            raise BusinessError(f"业务类型 {process_key} 没有已部署的审批流程", 422)
        definition = install(process_key, path.read_text(encoding="utf-8"))
    return definition


def newest_per_key() -> list[ProcessDefinition]:
    session = db.session()
    newest = (
        select(ProcessDefinition.process_key, func.max(ProcessDefinition.version).label("version"))
        .group_by(ProcessDefinition.process_key)
        .subquery()
    )
    query = (
        select(ProcessDefinition)
        .join(newest, (ProcessDefinition.process_key == newest.c.process_key)
              & (ProcessDefinition.version == newest.c.version))
        .order_by(ProcessDefinition.process_key)
    )
    return list(session.scalars(query))


def versions(process_key: str) -> list[ProcessDefinition]:
    query = (
        select(ProcessDefinition)
        .where(ProcessDefinition.process_key == process_key)
        .order_by(ProcessDefinition.version.desc())
    )
    found = list(db.session().scalars(query))
    if not found:
        raise BusinessError("流程定义不存在", 404)
    return found


def version(process_key: str, number: int) -> ProcessDefinition:
    query = select(ProcessDefinition).where(ProcessDefinition.process_key == process_key,
                                            ProcessDefinition.version == number)
    found = db.session().scalar(query)
    if found is None:
        raise BusinessError("流程定义版本不存在", 404)
    return found


def naming_group(code: str) -> list[ProcessDefinition]:
    """The definitions that send tasks to candidate group ``code``: the newest version of each
    business type (every new business starts on it) and any older version an instance still runs or
    waits on (its open tasks, and a resubmission of a returned one, go to that group). Versions
    nothing can reach again do not hold a group."""
    live = select(ProcessInstance.definition_id).where(ProcessInstance.status.in_((RUNNING, RETURNED)))
    older = select(ProcessDefinition).where(ProcessDefinition.id.in_(live)).options(defer(ProcessDefinition.bpmn_xml))
    found = {d.id: d for d in [*newest_per_key(), *db.session().scalars(older)]}
    return sorted((d for d in found.values() if code in (d.task_groups or {}).values()),
                  key=lambda d: (d.process_key, d.version))


def known_process_keys() -> list[str]:
    return sorted(p.stem for p in PROCESS_DIR.glob("*.bpmn"))
