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


def test_delivered_events_and_resolved_dead_letters_go_after_the_retention_the_rest_stays() -> None:
    app = make_app("notify", seed=False)
    now = db.utcnow()
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    with app.app_context():
        plumbing = get_runtime().plumbing
        session = db.session()

        def outbox(event_id: str, published: object, check_at: object = None) -> object:
            return plumbing.outbox(event_id=event_id, type="t", payload="{}", created_at=old,
                                   published_at=published, check_at=check_at)

        def letter(event_id: str, status: str, resolved: object = None) -> object:
            return plumbing.dead_letter(event_id=event_id, type="t", payload="{}", last_error="e", attempts=1,
                                        status=status, first_failed_at=old, last_failed_at=old, retry_count=0,
                                        retried_by="", resolved_at=resolved)

        session.add_all([
            outbox("delivered-old", old), outbox("delivered-recent", recent), outbox("never-sent", None),
            outbox("awaiting-receipts", old, check_at=now),
            letter("resolved-old", "resolved", old), letter("resolved-recent", "resolved", recent),
            letter("still-dead", "dead"),
        ])
        session.commit()
        run_housekeeping()
        kept_events = set(session.scalars(select(plumbing.outbox.event_id)))
        assert kept_events == {"delivered-recent", "never-sent", "awaiting-receipts"}
        kept_letters = set(session.scalars(select(plumbing.dead_letter.event_id)))
        assert kept_letters == {"resolved-recent", "still-dead"}
