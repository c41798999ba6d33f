"""The downstream catalog: a schema, a version and an example for every routed type, docs/events.md
generated from it, and a stream that is down never failing the hall's own delivery."""

from __future__ import annotations

import time

import jsonschema_rs
import pytest
from sqlalchemy import select

from hall_common import db, downstream, event_docs, event_schemas, outbox
from hall_common.events import ROUTES, make_event
from hall_common.runtime import get_runtime
from hall_common.settings import reset_settings

from .conftest import make_app
from .event_fakes import Sent


def test_every_routed_type_has_exactly_one_catalog_entry() -> None:
    assert sorted(event_schemas.CATALOG) == sorted(ROUTES)
    # Every domain and process event goes downstream; only the session revocation stays inside.
    assert set(ROUTES) - set(event_schemas.downstream_types()) == {"auth.session_revoked"}


@pytest.mark.parametrize("type_", list(event_schemas.CATALOG))
def test_each_schema_is_valid_and_its_example_passes_it(type_: str) -> None:
    schema = event_schemas.data_schema(type_)
    assert jsonschema_rs.meta.is_valid(schema)
    assert schema["$id"] == event_schemas.schema_uri(type_) == f"urn:hall:event-schema:{type_}:1"
    validator = jsonschema_rs.Draft202012Validator(schema)
    example = event_schemas.example(type_)
    assert validator.is_valid(example)
    # Readers rely on the required fields: data without one of them fails the schema.
    first = event_schemas.spec(type_).required[0]
    assert not validator.is_valid({k: v for k, v in example.items() if k != first})


def test_the_schemas_refuse_wrongly_typed_data() -> None:
    validator = jsonschema_rs.Draft202012Validator(event_schemas.data_schema("payment.supplemented"))
    example = event_schemas.example("payment.supplemented")
    assert not validator.is_valid({**example, "amount": 1200.5})  # money travels as text, never a float
    assert not validator.is_valid({**example, "applied": -1})
    task = jsonschema_rs.Draft202012Validator(event_schemas.data_schema("task.completed"))
    assert not task.is_valid({**event_schemas.example("task.completed"), "decision": "maybe"})


def test_docs_events_md_is_what_the_catalog_generates() -> None:
    text = event_docs.DOC.read_text(encoding="utf-8")
    assert event_docs.render(text) == text, "docs/events.md differs from the catalog: python -m hall_common.event_docs"
    for type_ in ROUTES:
        assert f"| `{type_}` |" in text
    for type_ in event_schemas.downstream_types():
        assert f"urn:hall:event-schema:{type_}:1" in text
    assert "#### `auth.session_revoked`" not in text


def test_the_doc_check_notices_a_catalog_change(monkeypatch: pytest.MonkeyPatch) -> None:
    text = event_docs.DOC.read_text(encoding="utf-8")
    entry = event_schemas.CATALOG["member.sealed"]
    monkeypatch.setitem(event_schemas.CATALOG, "member.sealed",
                        event_schemas.EventSpec(entry.emitted_by, entry.required, entry.doc, version=2))
    assert event_docs.render(text) != text
    with pytest.raises(ValueError, match="no markers"):
        event_docs.render(text.replace("<!-- end generated: event table -->", ""))


def test_the_envelope_adds_the_schema_and_keeps_the_event() -> None:
    event = make_event("member", "member.sealed", event_schemas.example("member.sealed"), subject="member_seal/42")
    event["requestid"] = "r1"  # an extension attribute the hall set travels on unchanged
    published = downstream.envelope(event)
    assert published == {**event, "dataschema": "urn:hall:event-schema:member.sealed:1", "schemaversion": "1"}
    assert downstream.carries(event)
    assert not downstream.carries(make_event("auth", "auth.session_revoked", {"token_id": "t"}))
    assert not downstream.carries(make_event("member", "member.renamed", {}))


def test_an_empty_stream_setting_publishes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_DOWNSTREAM_STREAM", "")
    reset_settings()
    assert not downstream.carries(make_event("member", "member.sealed", {}))


def test_an_unavailable_stream_neither_fails_nor_holds_up_the_halls_delivery(monkeypatch: pytest.MonkeyPatch) -> None:
    # The unit tests' Redis (HALL_REDIS_URL) is an address nothing answers on.
    downstream.reset_client()
    app = make_app("member", seed=False)
    sent = Sent(monkeypatch)
    with app.app_context():
        session = db.session()
        event = outbox.emit(session, "member.sealed", event_schemas.example("member.sealed"))
        session.commit()
        started = time.monotonic()
        assert outbox.relay() == 1
        assert time.monotonic() - started < 3
        assert [(name, e["id"]) for name, e, _ in sent.messages] == [("notify.handle_event", event["id"])]
        row = session.scalars(select(get_runtime().plumbing.outbox)).one()
        assert row.published_at is not None
    assert downstream.publish([event]) == 0


def test_a_downstream_only_event_goes_to_no_service_and_is_checked_for_the_streams_receipt(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A receipt booked concerns only the books outside the hall: no queue of the hall receives it, yet it
    # is relayed (not reported unrouted) and, the stream being unreachable here, its receipt is checked later.
    downstream.reset_client()
    app = make_app("payment", seed=False)
    sent = Sent(monkeypatch)
    with app.app_context():
        session = db.session()
        outbox.emit(session, "payment.receipt_booked", event_schemas.example("payment.receipt_booked"))
        session.commit()
        assert outbox.relay() == 1
        assert sent.messages == []
        row = session.scalars(select(get_runtime().plumbing.outbox)).one()
        assert row.published_at is not None and row.check_at is not None
