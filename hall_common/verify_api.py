"""The public lookup of a verification code (hall_common.verify), in each service that issues
verifiable prints; the gateway's /verify page asks the service the code's first letter names."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from . import verify
from .access import allow
from .errors import BusinessError


class TotalSchema(Schema):
    label = fields.String()
    value = fields.String()


class VerifiedDocumentSchema(Schema):
    code = fields.String()
    employer_no = fields.String()
    employer_name = fields.String()
    kind = fields.String()
    period = fields.String()
    totals = fields.List(fields.Nested(TotalSchema))
    issued_at = fields.DateTime()


def verification_blueprint() -> Blueprint:
    blp = Blueprint("verifications", __name__, description="The document a printed verification code stands for")

    @blp.route("/verifications/<code>")
    @allow("public")  # anyone holding a print may verify it; 95 signature bits stand in for a login
    @blp.response(200, VerifiedDocumentSchema)
    def verified_document(code: str) -> dict[str, Any]:
        found = verify.lookup(verify.normalize(code))
        if found is None:
            raise BusinessError(verify.NOT_FOUND, 404)
        return found

    return blp
