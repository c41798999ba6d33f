"""封存 (ch. 11) and 启封 (ch. 10): only a member in a state that allows it, the selected rows committed,
each change in the status history (12.3) with its reason and operator; the type-ahead search."""

from __future__ import annotations

import pytest
from flask import Flask

from deploy import demo_data

from .conftest import make_app
from .member_support import BASE, add, business_ids, commit, decide, outbox_events, rows

NORMAL = [m for m in demo_data.members() if m["status"] == "01"]
SEALED = [m for m in demo_data.members() if m["status"] == "02"]
CLOSED = [m for m in demo_data.members() if m["status"] == "05"]


@pytest.fixture
def app() -> Flask:
    return make_app("member")


def status_of(app: Flask, headers: dict[str, str], member_no: str) -> str:
    found = app.test_client().get(f"{BASE}/queries/member-accounts?member_no={member_no}", headers=headers).get_json()
    return str(found["items"][0]["status_name"])


def test_seal_two_of_three_selected_members(app: Flask, employer_headers: dict[str, str]) -> None:
    ids = []
    for member in NORMAL[:3]:
        answer = add(app, employer_headers, "member_seal", {"member_no": member["member_no"], "reason": "离职"})
        assert answer.status_code == 201, answer.get_json()
        assert answer.get_json()["message"] == "缴存人状态变更清册录入成功"
        assert (answer.get_json()["row"]["name"], answer.get_json()["row"]["id_number"]) == (
            member["name"], member["id_number"])
        ids.append(answer.get_json()["row"]["id"])
    assert commit(app, employer_headers, "member_seal").get_json()["message"] == "请在清册中选择需办理的记录"
    committed = commit(app, employer_headers, "member_seal", ids[:2])
    assert committed.status_code == 201, committed.get_json()
    assert [r["id"] for r in rows(app, employer_headers, "member_seal")["items"]] == [ids[2]]
    [business_id] = business_ids(app, "member_seal")
    assert decide(app, "member_seal", business_id) == "processed"
    assert [status_of(app, employer_headers, m["member_no"]) for m in NORMAL[:3]] == ["封存", "封存", "正常"]
    history = app.test_client().get(f"{BASE}/queries/member-status-changes?change_type=05",
                                    headers=employer_headers).get_json()
    ours = {m["member_no"] for m in NORMAL[:3]}
    seen = [(i["member_no"], i["reason"], i["from_status"], i["to_status"], i["operator"])
            for i in history["items"] if i["member_no"] in ours]
    assert seen == [(m["member_no"], "离职", "正常", "封存", "王晓燕") for m in NORMAL[:2]]
    assert [e["data"]["applied"] for e in outbox_events(app) if e["type"] == "member.sealed"] == [2]


@pytest.mark.parametrize(("type_", "member", "reason", "message"), [
    ("member_seal", SEALED[0], "离职", "当前状态为封存，只有正常状态的缴存人可以封存"),
    ("member_seal", CLOSED[0], "离职", "当前状态为提取销户"),
    ("member_unseal", NORMAL[0], "正常启封", "当前状态为正常，只有封存状态的缴存人可以启封"),
])
def test_a_member_whose_state_does_not_allow_it_is_refused_by_name(app: Flask, employer_headers: dict[str, str],
                                                                   type_: str, member: dict[str, str], reason: str,
                                                                   message: str) -> None:
    answer = add(app, employer_headers, type_, {"member_no": member["member_no"], "reason": reason})
    assert answer.status_code == 422
    [reason_text] = answer.get_json()["errors"]["json"]["member_no"]
    assert member["name"] in reason_text and message in reason_text


def test_unknown_members_reasons_and_other_employers_members_are_refused(app: Flask,
                                                                          employer_headers: dict[str, str]) -> None:
    other = demo_data.members(demo_data.SECOND_EMPLOYER_NO)[0]
    for values, field, reason in [
        ({"member_no": other["member_no"], "reason": "离职"}, "member_no", "个人账号不存在"),
        ({"member_no": "999", "reason": "离职"}, "member_no", "个人账号不存在"),
        ({"member_no": NORMAL[0]["member_no"], "reason": "出国"}, "reason", "应为退休"),
    ]:
        answer = add(app, employer_headers, "member_seal", values)
        assert answer.status_code == 422
        assert reason in answer.get_json()["errors"]["json"][field][0]


def test_unseal_the_selected_row_and_keep_the_other(app: Flask, employer_headers: dict[str, str]) -> None:
    first, second = SEALED[0], SEALED[1]
    ids = [add(app, employer_headers, "member_unseal", {"member_no": m["member_no"], "reason": "正常启封"})
           .get_json()["row"]["id"] for m in (first, second)]
    committed = commit(app, employer_headers, "member_unseal", ids[:1])
    decide(app, "member_unseal", business_ids(app, "member_unseal")[0])
    assert status_of(app, employer_headers, first["member_no"]) == "正常"
    assert committed.status_code == 201
    # The second row still waits in the roster: the same member cannot be put in it twice.
    again = add(app, employer_headers, "member_unseal", {"member_no": second["member_no"], "reason": "正常启封"})
    assert again.status_code == 422 and again.get_json()["errors"]["json"]["member_no"] == ["该缴存人已在清册中"]


def test_the_type_ahead_finds_by_name_id_and_number_within_the_employer(app: Flask,
                                                                        employer_headers: dict[str, str]) -> None:
    member = NORMAL[5]
    client = app.test_client()

    def search(text: str, status: str = "") -> list[str]:
        query = f"?q={text}" + (f"&status={status}" if status else "")
        answer = client.get(f"{BASE}/members/search{query}", headers=employer_headers)
        assert answer.status_code == 200, answer.get_json()
        return [m["member_no"] for m in answer.get_json()]

    assert member["member_no"] in search(member["name"][:1])
    assert search(member["id_number"][:14]) == [member["member_no"]] or member["member_no"] in search(
        member["id_number"][:14])
    assert search(member["member_no"]) == [member["member_no"]]
    assert search(member["member_no"][-4:]) == [member["member_no"]]  # the sequence after the employer's number
    assert len(search("1")) <= 10
    assert all(n in {m["member_no"] for m in SEALED} for n in search(member["name"][:1], "02"))
    other = demo_data.members(demo_data.SECOND_EMPLOYER_NO)[0]
    assert search(other["member_no"]) == []
    assert client.get(f"{BASE}/members/search?q=" + "x" * 31, headers=employer_headers).status_code == 422


def test_the_queries_print_and_download_what_they_list(app: Flask, employer_headers: dict[str, str]) -> None:
    import io

    from openpyxl import load_workbook
    from pypdf import PdfReader

    member = NORMAL[7]
    row_id = add(app, employer_headers, "member_seal", {"member_no": member["member_no"], "reason": "退休"}
                 ).get_json()["row"]["id"]
    commit(app, employer_headers, "member_seal", [row_id])
    decide(app, "member_seal", business_ids(app, "member_seal")[0], approver="复核员张敏")
    client = app.test_client()
    printed = client.get(f"{BASE}/queries/member-status-changes/print?member_no={member['member_no']}",
                         headers=employer_headers)
    assert printed.status_code == 200 and printed.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(printed.data)).pages)
    for expected in ("缴存人账户状态变更查询", member["name"], "退休", "封存"):
        assert expected in text, expected
    exported = client.get(f"{BASE}/queries/member-accounts/export", headers=employer_headers)
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(exported.data)).worksheets[0]
    lines = list(sheet.iter_rows(values_only=True))
    assert lines[0][:2] == ("个人账号", "姓名") and len(lines) == 1 + len(demo_data.members())
    assert (member["member_no"], member["name"]) in {(line[0], line[1]) for line in lines[1:]}
    listed = client.get(f"{BASE}/queries/member-accounts?open_from=2030-01-01&open_to=2020-01-01",
                        headers=employer_headers)
    assert listed.status_code == 422 and "开始日期不能晚于结束日期" in str(listed.get_json())
