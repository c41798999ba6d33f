"""The center's service tokens: list, issue (the token is shown once) and withdraw one by one."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from hall_common.access import allow
from hall_common.security import current_principal

from . import token_registry
from .token_schemas import IssuedTokenSchema, ServiceTokenIssueSchema, ServiceTokenListSchema, WithdrawnTokenSchema

blp = Blueprint("service_tokens", __name__, description="Service tokens of downstream systems")


@blp.route("/service-tokens")
@allow("center:service_tokens")
@blp.response(200, ServiceTokenListSchema)
def list_tokens() -> dict[str, Any]:
    return {"items": token_registry.list_tokens()}


@blp.route("/service-tokens", methods=["POST"])
@allow("center:service_tokens")
@blp.arguments(ServiceTokenIssueSchema)
@blp.response(201, IssuedTokenSchema)
def issue_token(body: dict[str, Any]) -> dict[str, Any]:
    """A new token for a downstream system; the answer is the only place the token ever appears."""
    token, row = token_registry.issue(current_principal().login_name, body["name"],
                                      sorted(set(body["permissions"])), body["days"])
    return {"message": "服务令牌已签发，请立即复制保存，关闭后无法再次查看", "token": token,
            "item": token_registry.view(row)}


@blp.route("/service-tokens/<token_id>/withdraw", methods=["POST"])
@allow("center:service_tokens")
@blp.response(200, WithdrawnTokenSchema)
def withdraw_token(token_id: str) -> dict[str, Any]:
    """Withdraw one token: every service refuses it within seconds (401)."""
    item = token_registry.withdraw(current_principal().login_name, token_id)
    return {"message": f"服务令牌已撤销：{item['name']}", "item": item}
