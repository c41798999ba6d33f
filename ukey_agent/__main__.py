"""``hall-ukey-agent``: start the UKey agent (联连客户端) on this PC."""

from __future__ import annotations

import argparse
import os

from werkzeug.serving import make_server

from .server import create_app
from .token import UKeyToken

DEFAULT_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="hall-ukey-agent", description="联连客户端：为单位网上服务大厅登录签名")
    parser.add_argument("--module", default=os.environ.get("HALL_UKEY_MODULE", DEFAULT_MODULE),
                        help="the vendor's PKCS#11 module (.so) [env HALL_UKEY_MODULE]")
    parser.add_argument("--token-label", default=os.environ.get("HALL_UKEY_TOKEN_LABEL"),
                        help="use the token with this label (default: the first token present)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("HALL_UKEY_AGENT_PORT", "18761")))
    parser.add_argument("--origin", action="append",
                        help="the hall's origin, e.g. https://dwwt.example.gov.cn (repeatable)")
    parser.add_argument("--allow-issue", action="store_true",
                        help="let the center's admin console generate keys and write certificates (issuing PCs only)")
    args = parser.parse_args(argv)
    origins = args.origin or os.environ.get("HALL_UKEY_AGENT_ORIGINS", "http://127.0.0.1:8000").split(",")
    app = create_app(UKeyToken(args.module, args.token_label), origins, allow_issue=args.allow_issue)
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    print(f"联连客户端已启动：http://127.0.0.1:{args.port}（允许来源：{', '.join(origins)}；PKCS#11：{args.module}）",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
