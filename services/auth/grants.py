"""The center permissions an account holds: its own grants and those of its center roles (read by the
token issuer, services/auth/sessions.py, and by the rights administration, services/auth/rights.py)."""

from __future__ import annotations

from sqlalchemy import select

from hall_common import db
from hall_common.permissions import CENTER_PERMISSIONS

from .models import CenterRole, CenterRoleMember, Operator


def roles_of(login_names: list[str]) -> dict[str, list[str]]:
    query = select(CenterRoleMember.login_name, CenterRoleMember.role_code).where(
        CenterRoleMember.login_name.in_(login_names)).order_by(CenterRoleMember.role_code)
    roles: dict[str, list[str]] = {name: [] for name in login_names}
    for login_name, code in db.session().execute(query):
        roles[login_name].append(code)
    return roles


def role_permissions() -> dict[str, list[str]]:
    return {r.code: list(r.permissions or []) for r in db.session().scalars(select(CenterRole))}


def effective(operator: Operator) -> frozenset[str]:
    """What a center account's token carries: its own grants and those of its roles."""
    held = set(operator.permissions or ())
    query = (select(CenterRole.permissions)
             .join(CenterRoleMember, CenterRoleMember.role_code == CenterRole.code)
             .where(CenterRoleMember.login_name == operator.login_name))
    for permissions in db.session().scalars(query):
        held.update(permissions or ())
    return frozenset(p for p in held if p in CENTER_PERMISSIONS)
