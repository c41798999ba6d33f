"""Every gateway answer carries the browser protections; cookies are Secure where served over TLS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway import create_app
from hall_common.settings import reset_settings

TEMPLATES = Path(__file__).resolve().parents[2] / "gateway" / "templates"
PAGES = ["/login", "/admin/login", "/", "/static/login.js", "/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js",
         "/no-such-page"]


@pytest.mark.parametrize("path", PAGES)
def test_every_answer_has_csp_frame_denial_nosniff_and_referrer_policy(path: str) -> None:
    response = create_app().test_client().get(path)
    csp = response.headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert directives["script-src"] == ["'self'"]  # no inline script, no eval, no other origin
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "http://127.0.0.1:18761" in directives["connect-src"]  # the UKey agent on the employer's PC
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers


def test_templates_have_no_inline_script_or_event_handler() -> None:
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (template.name, tag)
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert "javascript:" not in text, template.name


def test_session_cookie_is_secure_when_the_setting_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = create_app().test_client().get("/login")
    assert "Secure" not in plain.headers["Set-Cookie"]
    monkeypatch.setenv("HALL_SECURE_COOKIES", "true")
    reset_settings()
    response = create_app().test_client().get("/login", base_url="https://hall.example")
    cookie = response.headers["Set-Cookie"]
    assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
