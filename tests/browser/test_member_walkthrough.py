"""Issue 16's acceptance walk through the member pages, in one go as an operator does it: the four home
tiles open their pages; three members typed in and fifty imported (two bad rows found in the marked
workbook, fixed there and uploaded again), 确认开户; two of them sealed and one unsealed with the
type-ahead; all of it found in the ch. 12 queries, one query printed, another downloaded."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import Browser, Page, expect

from deploy.stack import Stack

from .member_support import (
    alert,
    download,
    filled,
    open_page,
    pdf_text,
    resident_id,
    roster_total,
    run_query,
    saved,
    upload,
    wait_checked,
    wait_for_text,
    workbook,
)

TILES = {"member_register": "缴存人登记", "unseal": "启封", "seal": "封存", "member_query": "缴存人信息查询"}
BY_HAND = [("走查甲", resident_id(3000), "3500"), ("走查乙", resident_id(3001), "6000.50"),
           ("走查丙", resident_id(3002), "12000")]
IMPORTED = 50


def pick_by_name(page: Page, name: str) -> str:
    """The type-ahead by a name: its one match chosen; the member number it filled in."""
    page.wait_for_load_state()  # the page's script listens for the typing once it has run
    page.locator("#member-picker").fill(name)
    match = page.locator("#member-matches button[data-member-no]", has_text=name)
    expect(match).to_have_count(1)
    member_no = match.get_attribute("data-member-no") or ""
    match.click()
    expect(page.locator("#member-no")).to_have_value(member_no)
    expect(page.locator("#echo-name")).to_have_value(name)
    return member_no


def change_status(page: Page, stack: Stack, path: str, reason: str, names: list[str]) -> dict[str, str]:
    """封存 or 启封 by hand: each member by the type-ahead into the roster, tick them, commit."""
    page.goto(stack.url("gateway") + path)
    numbers = {}
    for name in names:
        page.locator("#field-reason").select_option(reason)
        numbers[name] = pick_by_name(page, name)
        page.locator("#entry-submit").click()
        expect(alert(page)).to_have_text("缴存人状态变更清册录入成功")
    for member_no in numbers.values():
        page.locator("#roster tbody tr[data-row-id]", has_text=member_no).locator("input[name=row_ids]").check()
    page.locator("#commit").click()
    expect(alert(page)).to_contain_text("办理结果将以消息通知")
    return numbers


def test_the_member_pages_walked_through_from_the_home_tiles_to_the_printed_query(
        browser: Browser, stack: Stack) -> None:
    page = open_page(browser, stack, "/")
    gateway = stack.url("gateway")
    for key, title in TILES.items():
        tile = page.locator(f'section.modules [data-module="{key}"]')
        expect(tile).to_have_text(title)
        expect(tile).not_to_contain_text("暂未开放")
        tile.click()
        expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
        page.goto(gateway + "/")
    page.locator('section.modules [data-module="member_register"]').click()

    # Three by hand.
    assert roster_total(page) == 0, "the registration roster should start empty"
    for name, id_number, base in BY_HAND:
        page.locator("#field-name").fill(name)
        page.locator("#field-id_number").fill(id_number)
        page.locator("#field-base").fill(base)
        page.locator("#field-first_month").fill("202612")
        page.locator("#entry-submit").click()
        expect(alert(page)).to_have_text("开户清册录入成功")
    assert roster_total(page) == 3

    # Fifty by import: two bad rows, found and fixed in the marked workbook.
    template, _ = download(page, page.locator("#template-link"))
    lines = [[f"走查导入{i}", "居民身份证", resident_id(3100 + i), "4500", "202612", "13935100000"]
             for i in range(IMPORTED)]
    good = {(5, "姓名"): lines[3][0], (9, "首次缴存年月"): lines[7][4]}
    lines[3][0] = ""  # Excel row 5: the name left out
    lines[7][4] = "202613"  # Excel row 9: no such month
    upload(page, filled(template, lines), "五十人.xlsx")
    wait_checked(page)
    expect(page.locator("#import-current")).to_have_attribute("data-status", "checked")
    errors = page.locator("#import-errors li")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("第5行 姓名：")
    expect(errors.nth(1)).to_contain_text("第9行 首次缴存年月：")
    marked_bytes, _ = download(page, page.locator("#marked-link"))
    marked = workbook(marked_bytes)
    sheet = marked.worksheets[0]
    header = [c.value for c in sheet[1]]
    bad = [(cell.row, header[cell.column - 1]) for line in sheet.iter_rows(min_row=2) for cell in line if cell.comment]
    assert sorted(bad) == sorted(good), bad
    for (row, label), value in good.items():
        sheet.cell(row=row, column=header.index(label) + 1, value=value)
    page.locator("#discard-import").click()
    page.locator("#confirm-dialog").get_by_role("button", name="确定").click()
    expect(alert(page)).to_have_text("已放弃本次导入")
    upload(page, saved(marked), "五十人（已修改）.xlsx")
    wait_checked(page)
    expect(page.locator("#import-current")).to_have_count(0)
    assert roster_total(page) == 3 + IMPORTED
    page.locator("#commit").click()
    expect(alert(page)).to_have_text("已确认开户，开户结果将以消息通知")
    page.goto(gateway + "/")
    wait_for_text(page, page.locator("#inbox-message tbody tr"), "您已完成办理缴存人登记", f"人数：{3 + IMPORTED}人",
                  attempts=120)

    # Seal two, unseal one.
    sealed = change_status(page, stack, "/members/seal", "离职", ["走查甲", "走查乙"])
    for member_no in sealed.values():
        wait_for_text(page, run_query(page, stack, "缴存人账户信息", (member_no, member_no)), member_no, "封存")
    unsealed = change_status(page, stack, "/members/unseal", "正常启封", ["走查甲"])
    wait_for_text(page, run_query(page, stack, "缴存人账户信息", (unsealed["走查甲"], unsealed["走查甲"])),
                  unsealed["走查甲"], "正常")

    # The ch. 12 queries: today's openings hold all 53, 走查乙 sealed; 走查甲's history is 开户, 封存, 启封.
    today = date.today().isoformat()
    second = run_query(page, stack, "缴存人账户信息", (sealed["走查乙"], sealed["走查乙"]))
    expect(second).to_have_count(1)
    expect(second).to_contain_text("6000.50")
    expect(second).to_contain_text("封存")
    expect(second).to_contain_text(today)
    history = run_query(page, stack, "缴存人账户状态变更查询", (sealed["走查甲"], sealed["走查甲"]))
    expect(history).to_have_count(3)
    for row, (kind, reason) in enumerate((("开户", "开户"), ("封存", "离职"), ("启封", "正常启封"))):
        expect(history.nth(row)).to_contain_text(kind)
        expect(history.nth(row)).to_contain_text(reason)

    # Print this history; download the accounts query.
    with page.context.expect_event("response", lambda r: "/print" in r.url) as answered, \
            page.context.expect_page() as viewer:
        page.locator("#print").click()
    assert answered.value.headers["content-type"] == "application/pdf"
    viewer.value.close()
    pdf = page.request.get(answered.value.url).body()
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert "缴存人账户状态变更查询" in text and "走查甲" in text and "正常启封" in text

    run_query(page, stack, "缴存人账户信息", open_from=today, open_to=today)
    data, name = download(page, page.locator("#download"))
    assert name == "缴存人账户信息.xlsx"
    exported = workbook(data).worksheets[0]
    columns = [c.value for c in exported[1]]
    rows = {line[columns.index("姓名")]: dict(zip(columns, line, strict=False))
            for line in exported.iter_rows(min_row=2, values_only=True)}
    walked = {name: row for name, row in rows.items() if re.match(r"^走查", str(name))}
    assert len(walked) == 3 + IMPORTED
    assert walked["走查乙"]["账户状态"] == "封存" and walked["走查甲"]["账户状态"] == "正常"
    assert walked["走查丙"]["证件号码"] == BY_HAND[2][1]
