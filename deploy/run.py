"""``make run``: start everything on this machine, print where to go, stop it all on Ctrl-C."""

from __future__ import annotations

import signal
import sys
import time

from . import demo_data as demo
from .stack import ROOT, SUPERVISED, Stack


def main() -> int:
    stack = Stack(ROOT / "var")

    def _interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    print("starting Redis, six services, the gateway, the Celery workers (events, heavy jobs) and beat", flush=True)
    try:
        stack.start()  # stops what it started if interrupted or failing
    except KeyboardInterrupt:
        return 130
    apis = ", ".join(f"{n} {stack.url(n)}" for n in sorted(stack.ports) if n != "gateway")
    print(f"""
  单位网上服务大厅   {stack.public_url}/login   (localhost: browsers refuse security keys on an IP address)
      单位账号 / 登录名称 {demo.EMPLOYER_NO} (or {demo.SECOND_EMPLOYER_NO}), 初始密码 {demo.INITIAL_PASSWORD}
      (changed at first login), UKey密码 {demo.UKEY_PIN}; the demo UKey manages both employers;
      安全密钥 (FIDO2): after a UKey login, 安全密钥 in the page header registers one (README)
  联连客户端 (UKey agent) {stack.agent_url}, on SoftHSM2 token {demo.UKEY_LABEL}
  中心管理控制台     {stack.public_url}/admin/login
      登录名称 {demo.CENTER_LOGIN}, 密码 {demo.CENTER_PASSWORD} (admin, every group)
      or {demo.REVIEWER_LOGIN}, 密码 {demo.REVIEWER_PASSWORD} (group 复核 only)
      or {demo.ADMIN2_LOGIN}, 密码 {demo.ADMIN2_PASSWORD} (admin, confirms what {demo.CENTER_LOGIN} asks)
      then 动态口令 (HALL_CENTER_SECOND_FACTOR): the first login shows a QR code to scan with an
      authenticator app, each later one asks for its current 6-digit code (README)
  service APIs (OpenAPI at /openapi.json):
      {apis}
  logs: {stack.log_dir}
Press Ctrl-C to stop everything.""", flush=True)
    status = 0
    try:
        while status == 0:
            for name, process in list(stack.processes.items()):
                if process.poll() is not None and name not in SUPERVISED:  # those the stack restarts
                    print(f"{name} exited with {process.returncode}; stopping", file=sys.stderr)
                    status = 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stopping ...", flush=True)
        stack.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
