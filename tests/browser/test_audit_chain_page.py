"""审计日志's 校验 and 导出 through the real stack: a new group's record verifies; the same record edited
in the auth service's database is named by 校验; the exported chain verifies offline (docs/audit.md)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import Browser, expect

from deploy.stack import Stack
from hall_common import audit_chain

from .login_support import login_center
from .member_support import download


def test_the_check_names_an_edited_record_and_the_export_verifies_offline(
    browser: Browser, stack: Stack, tmp_path: Path
) -> None:
    code, name = f"g{uuid.uuid4().hex[:8]}", f"审计{uuid.uuid4().hex[:4]}"
    page = browser.new_page()
    login_center(page, stack)
    page.get_by_role("link", name="用户组").click()
    create = page.locator("#group-create")
    create.get_by_label("用户组编码").fill(code)
    create.get_by_label("用户组名称").fill(name)
    page.get_by_role("button", name="新建用户组").click()
    expect(page.get_by_role("alert")).to_have_text(f"已新建用户组「{name}」")

    page.get_by_role("link", name="审计日志").click()
    page.get_by_role("button", name="校验").click()
    checks = page.locator("#audit-checks")
    for service, service_name in (("auth", "认证服务"), ("workflow", "流程服务"), ("member", "缴存人服务")):
        expect(checks.locator(f'[data-service="{service}"]')).to_have_text(
            re.compile(rf"^{service_name}：校验通过（共\d+条）$"))

    # Behind the hall's back: the group's record edited straight in the auth service's database.
    engine = sa.create_engine(stack.database_url("auth"))
    try:
        with engine.begin() as connection:
            record_id, detail = connection.execute(sa.text(
                "SELECT id, detail FROM audit_records WHERE action = 'group_create' AND target = :code"),
                {"code": code}).one()
            connection.execute(sa.text("UPDATE audit_records SET detail = '新建用户组「别的组」' WHERE id = :id"),
                               {"id": record_id})
        page.get_by_role("button", name="校验").click()
        expect(checks.locator('[data-service="auth"]')).to_have_text(f"认证服务：第{record_id}条记录被篡改")
        expect(checks.locator('[data-service="member"]')).to_contain_text("校验通过")
    finally:  # the stack is shared by the other browser tests: the chain is put back as it was
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE audit_records SET detail = :detail WHERE id = :id"),
                               {"detail": detail, "id": record_id})
        engine.dispose()
    page.get_by_role("button", name="校验").click()
    expect(checks.locator('[data-service="auth"]')).to_contain_text("校验通过")

    page.get_by_label("导出的服务").select_option("auth")
    data, file_name = download(page, page.get_by_role("button", name="导出"))
    assert file_name.startswith("audit-auth-") and file_name.endswith(".jsonl")
    exported = tmp_path / file_name
    exported.write_bytes(data)
    assert f'"target": "{code}"' in data.decode("utf-8")
    assert audit_chain.main(["verify", "--file", str(exported)]) == 0
