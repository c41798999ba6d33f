"""The payment service issues the money prints (账户信息, 业务流水, 明细账, 利息单, 对账单): it keeps
what each verification code stands for (hall_common.verify, docs/prints.md)."""

from __future__ import annotations

from hall_common.verify import PrintVerificationMixin
from hall_common.verify_api import verification_blueprint

from .models import Base


class PrintVerification(PrintVerificationMixin, Base):
    pass


blp = verification_blueprint()
