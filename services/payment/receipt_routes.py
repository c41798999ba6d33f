"""到账登记 for banks and downstream systems (a service token with ``receipt_post``)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from hall_common.access import allow
from hall_common.security import current_principal

from . import receipts
from .bills import hall_today
from .schemas_money import ReceiptInSchema, ReceiptResultSchema

blp = Blueprint("receipts", __name__, description="Money received from the bank (到账)")


@blp.route("/receipts", methods=["POST"])
@allow("service:receipt_post")
@blp.arguments(ReceiptInSchema)
@blp.response(201, ReceiptResultSchema)
@blp.alt_response(200, schema=ReceiptResultSchema, description="the same receipt posted again: nothing stored")
@blp.alt_response(409, description="the bank reference was registered with another employer or amount")
def post_receipt(body: dict[str, Any]) -> Any:
    """Register money received for an employer, once per ``bank_reference``. It pays the employer's
    oldest unpaid remittance bills its unallocated amount now covers; the rest stays unallocated."""
    receipt, created, paid = receipts.receive(current_principal().login_name, body, hall_today())
    if not created:
        return {"message": "该笔到账已登记，未重复登记", "receipt": receipt, "paid_months": [],
                "unallocated": receipts.unallocated(receipt.employer_no)}, 200
    months = [f"{bill.month:%Y-%m}" for bill in paid]
    paid_text = "、".join(f"{bill.month:%Y年%m月}" for bill in paid)
    message = f"到账已登记，已缴清{paid_text}汇缴" if paid else "到账已登记，计入未分配金额"
    return {"message": message, "receipt": receipt, "paid_months": months,
            "unallocated": receipts.unallocated(receipt.employer_no)}, 201
