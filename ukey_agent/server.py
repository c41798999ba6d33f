"""The agent's local HTTP interface, for the hall's pages only.

It listens on 127.0.0.1, answers only requests whose Origin is the hall's (CORS, including Chrome's
private-network preflight) and whose Host is the loopback address (against DNS rebinding).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import Flask, Response, jsonify, request

from . import LOGIN_PREFIX
from .token import TokenError, UKeyToken

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def create_app(token: UKeyToken, allowed_origins: list[str], allow_issue: bool = False) -> Flask:
    """``allow_issue`` enables key generation and certificate writing: on the center's issuing PCs only,
    so a script on an employer's PC can never replace the key on the employer's token."""
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    origins = {o.rstrip("/") for o in allowed_origins}

    def refuse(message: str, status: int) -> Response:
        response = jsonify({"message": message})
        response.status_code = status
        return response

    @app.before_request
    def _guard() -> Response | None:
        host = (request.host or "").rsplit(":", 1)[0]
        if host not in LOOPBACK_HOSTS:
            return refuse("联连客户端只接受本机访问", 403)
        if request.headers.get("Origin", "").rstrip("/") not in origins:
            return refuse("拒绝来自未授权网站的请求", 403)
        if request.method == "OPTIONS":
            return Response(status=204)
        return None

    @app.after_request
    def _cors(response: Response) -> Response:
        origin = request.headers.get("Origin", "").rstrip("/")
        if origin in origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "GET, POST"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Allow-Private-Network"] = "true"
            response.headers["Vary"] = "Origin"
        return response

    @app.errorhandler(TokenError)
    def _token_error(error: TokenError) -> Response:
        return refuse(str(error), 409)

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}

    @app.get("/status")
    def status() -> Any:
        return token.info()

    @app.post("/sign")
    def sign() -> Any:
        data = body()
        try:
            nonce = base64.b64decode(str(data.get("nonce", "")), validate=True)
        except binascii.Error:
            return refuse("登录挑战格式不正确", 400)
        if not nonce:
            return refuse("登录挑战格式不正确", 400)
        pin = str(data.get("pin", ""))
        certificate = token.certificate_pem()
        if certificate is None:
            return refuse("UKey中没有证书，请到中心办理UKey", 409)
        signature = token.sign(pin, LOGIN_PREFIX + nonce)
        return {"certificate": certificate, "signature": base64.b64encode(signature).decode("ascii")}

    @app.post("/keys")
    def generate_key() -> Any:
        if not allow_issue:
            return refuse("此联连客户端未开启UKey签发功能", 403)
        return token.generate_key(str(body().get("pin", "")))

    @app.post("/certificate")
    def store_certificate() -> Any:
        if not allow_issue:
            return refuse("此联连客户端未开启UKey签发功能", 403)
        data = body()
        token.store_certificate(str(data.get("pin", "")), str(data.get("certificate", "")))
        return {"message": "证书已写入UKey"}

    return app
