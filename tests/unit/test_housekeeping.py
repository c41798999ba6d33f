"""Beat's hourly housekeeping: expired revocations and stale login challenges go, the rest stays."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from hall_common import db
from hall_common.runtime import get_runtime
from hall_common.tasks import run_housekeeping
from services.auth.models import Challenge

from .conftest import make_app


def test_expired_revocations_and_old_challenges_are_deleted() -> None:
    app = make_app("auth")
    now = db.utcnow()
    with app.app_context():
        revoked = get_runtime().plumbing.revoked
        session = db.session()
        session.add_all([
            revoked(token_id="expired", expires_at=now - timedelta(minutes=1)),
            revoked(token_id="still-valid", expires_at=now + timedelta(hours=1)),
            Challenge(id="old", nonce="AQ==", login_name="100100001", expires_at=now - timedelta(hours=2)),
            Challenge(id="recent", nonce="AQ==", login_name="100100001", expires_at=now - timedelta(minutes=5)),
        ])
        session.commit()
        run_housekeeping()
        assert list(session.scalars(select(revoked.token_id))) == ["still-valid"]
        assert list(session.scalars(select(Challenge.id))) == ["recent"]


def test_services_without_own_housekeeping_clean_revocations_only() -> None:
    app = make_app("notify", seed=False)
    with app.app_context():
        revoked = get_runtime().plumbing.revoked
        db.session().add(revoked(token_id="expired", expires_at=db.utcnow() - timedelta(seconds=1)))
        db.session().commit()
        run_housekeeping()
        assert db.session().scalar(select(func.count()).select_from(revoked)) == 0
