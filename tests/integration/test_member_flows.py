"""Members in and out through the real stack (gunicorn services, Redis, the Celery event workers, the
heavy worker, SpiffWorkflow on the shipped BPMN): registration by hand and by a large import checked on
the heavy worker, with its errors fixed; 确认开户 through the default process and the message; a seal held
by a review task a center admin added in the designer, without code changes; an unseal."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from stdnum.cn import ric

from deploy import demo_data as demo
from deploy.stack import Stack

from .helpers import EMPLOYER, Api, center_api, employer_api, messages, task_of, wait_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROSTERS = f"/employers/{EMPLOYER}/rosters"
PROCESSES = Path(__file__).resolve().parents[2] / "services" / "workflow" / "processes"


def person(index: int) -> str:
    body = f"130102{date(1975, 1, 1) + timedelta(days=index):%Y%m%d}{index % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def workbook(template: bytes, lines: list[list[Any]]) -> bytes:
    book = load_workbook(io.BytesIO(template))
    for line in lines:
        book.worksheets[0].append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(employer: Api, content: bytes) -> dict[str, Any]:
    answer = employer.call("POST", "member", f"{ROSTERS}/member_registration/imports?option=12&file_name=new.xlsx",
                           content=content, headers={"Content-Type": XLSX})
    assert answer.status_code == 202, answer.text
    return dict(answer.json()["import"])


def settled(employer: Api, import_id: int) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        found = employer.get("member", f"/employers/{EMPLOYER}/imports/{import_id}")["import"]
        return found if found["status"] not in ("queued", "running") else None

    return wait_for(check, timeout=120, what=f"import {import_id} checked by the heavy worker")


def account(employer: Api, id_number: str | None = None, member_no: str | None = None) -> dict[str, Any] | None:
    if member_no:
        items = employer.get("member", f"/employers/{EMPLOYER}/queries/member-accounts", member_no=member_no)["items"]
        return items[0] if items else None
    found = employer.get("member", f"/employers/{EMPLOYER}/members/search", q=id_number)
    return found[0] if found else None


def test_register_by_hand_and_by_a_large_import_fixed_from_its_marked_workbook(stack: Stack) -> None:
    employer = employer_api(stack)
    for index in range(3):
        added = employer.call("POST", "member", f"{ROSTERS}/member_registration/rows", json={"values": {
            "name": f"手工{index}", "id_number": person(index), "base": "5000", "first_month": "202612",
            "ratio": "12"}})
        assert added.status_code == 201, added.text
    template = employer.call("GET", "member", f"{ROSTERS}/member_registration/template", params={"option": "12"})
    assert template.status_code == 200 and template.headers["content-type"] == XLSX
    lines = [[f"导入{i}", None, person(100 + i), "4000", "202612", None] for i in range(1500)]
    lines[10][2] = person(110)[:-1] + ("1" if person(110)[-1] != "1" else "2")  # row 12: the check character
    lines[20][3] = "四千"  # row 22: not an amount
    first = upload(employer, workbook(template.content, lines))
    # Larger than the inline bound: the heavy worker checks it (it may have started by the answer).
    assert first["status"] in ("queued", "running")
    checked = settled(employer, first["id"])
    assert (checked["status"], checked["good"], checked["bad"]) == ("checked", 1498, 2), checked
    assert [(e["row"], e["field"]) for e in checked["errors"]] == [(12, "证件号码"), (22, "缴存基数")]
    marked = employer.call("GET", "member", f"/employers/{EMPLOYER}/imports/{first['id']}/marked")
    sheet = load_workbook(io.BytesIO(marked.content)).worksheets[0]
    assert sheet["C12"].comment is not None and sheet["D22"].comment is not None
    # The operator discards, fixes the two rows in the marked copy, deletes the reason column and uploads again.
    assert employer.call("POST", "member", f"/employers/{EMPLOYER}/imports/{first['id']}/discard").status_code == 200
    sheet["C12"], sheet["D22"] = person(110), "4000"
    sheet.delete_cols(sheet.max_column)
    fixed = io.BytesIO()
    sheet.parent.save(fixed)
    second = settled(employer, upload(employer, fixed.getvalue())["id"])
    assert (second["status"], second["good"]) == ("added", 1500), second
    assert employer.get("member", f"{ROSTERS}/member_registration")["total"] == 1503

    committed = employer.call("POST", "member", f"{ROSTERS}/member_registration/commit", json={"row_ids": []})
    assert committed.status_code == 201, committed.text
    business_id = committed.json()["business_id"]
    opened = wait_for(lambda: account(employer, person(1599)), timeout=60, what="the members opened")
    assert opened["status_name"] == "正常" and len(opened["member_no"]) == 15
    assert account(employer, person(0))["name"] == "手工0"  # type: ignore[index]
    message = wait_for(lambda: [m for m in messages(employer) if m.get("business_id") == business_id
                                and m.get("business_type") == "member_registration"], what="the message")
    assert "您已完成办理缴存人登记" in message[0]["content"] and "1503人" in message[0]["content"]
    initiated = employer.get("notify", f"/employers/{EMPLOYER}/inbox/initiated", per_page=50)["items"]
    assert any(i.get("business_type") == "member_registration" and i.get("business_id") == business_id
               for i in initiated)


def _reviewed_seal_bpmn() -> str:
    """What a center admin draws in the designer: 封存 with a 经办审核 task (the shape of the employer
    change's process)."""
    xml = (PROCESSES / "employer_change.bpmn").read_text(encoding="utf-8")
    return (xml.replace("employer_change", "member_seal").replace("单位信息变更", "封存")
            .replace("单位提交变更", "确定封存"))


def _deploy(center: Api, xml: str, note: str) -> None:
    deployed = center.call("POST", "workflow", "/definitions/member_seal/deploy", json={"bpmn_xml": xml, "note": note})
    assert deployed.status_code in (200, 201), deployed.text


def test_a_review_task_added_in_the_designer_holds_the_seal_until_approved(stack: Stack) -> None:
    employer, center = employer_api(stack), center_api(stack)
    member = [m for m in demo.members() if m["status"] == "01"][-1]
    _deploy(center, _reviewed_seal_bpmn(), "封存增加经办审核")
    try:
        added = employer.call("POST", "member", f"{ROSTERS}/member_seal/rows",
                              json={"values": {"member_no": member["member_no"], "reason": "退休"}})
        assert added.status_code == 201 and added.json()["message"] == "缴存人状态变更清册录入成功", added.text
        committed = employer.call("POST", "member", f"{ROSTERS}/member_seal/commit",
                                  json={"row_ids": [added.json()["row"]["id"]]})
        assert committed.status_code == 201, committed.text
        task = task_of(center, "member_seal", committed.json()["business_id"])
        rows = center.get("member", f"/businesses/member_seal/{committed.json()['business_id']}")
        assert [r["member_no"] for r in rows["items"]] == [member["member_no"]]
        assert account(employer, member_no=member["member_no"])["status_name"] == "正常"  # type: ignore[index]
        done = center.call("POST", "workflow", f"/tasks/{task['task']['id']}/complete",
                           json={"decision": "approve", "opinion": "同意封存"})
        assert done.status_code == 200, done.text
        wait_for(lambda: account(employer, member_no=member["member_no"])["status_name"] == "封存",  # type: ignore[index]
                 what="the member sealed after the approval")
    finally:
        _deploy(center, (PROCESSES / "member_seal.bpmn").read_text(encoding="utf-8"), "恢复默认封存流程")
    history = employer.get("member", f"/employers/{EMPLOYER}/queries/member-status-changes",
                           member_no=member["member_no"], change_type="05")["items"]
    assert [(h["change_type"], h["reason"], h["approver"]) for h in history] == [("封存", "退休", "中心审核员李明")]

    # 启封 runs the default process again: no task, the member is normal at once.
    added = employer.call("POST", "member", f"{ROSTERS}/member_unseal/rows",
                          json={"values": {"member_no": member["member_no"], "reason": "正常启封"}})
    assert added.status_code == 201, added.text
    committed = employer.call("POST", "member", f"{ROSTERS}/member_unseal/commit",
                              json={"row_ids": [added.json()["row"]["id"]]})
    assert committed.status_code == 201, committed.text
    wait_for(lambda: account(employer, member_no=member["member_no"])["status_name"] == "正常",  # type: ignore[index]
             what="the member unsealed")
    export = employer.call("GET", "member", f"/employers/{EMPLOYER}/queries/member-status-changes/export",
                           params={"member_no": member["member_no"]})
    assert export.status_code == 200
    exported = load_workbook(io.BytesIO(export.content)).worksheets[0]
    # The demo member's opening (seeded), then the seal and the unseal.
    assert [row[2] for row in exported.iter_rows(min_row=2, values_only=True)] == ["开户", "封存", "启封"]
