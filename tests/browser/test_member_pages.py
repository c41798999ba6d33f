"""缴存人登记, 封存, 启封 and 缴存人信息查询 (manual ch. 8, 10, 11, 12) as the employer's operator uses
them in the browser, against the real stack: one member typed in and deleted through the dialog; 1,500
members imported, checked on the heavy worker with a progress bar that survives a reload, fixed from the
marked workbook and opened; two members sealed by an import and one unsealed by the type-ahead; their
status history found, printed as a PDF and downloaded."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import Browser, Locator, Page, expect

from deploy import demo_data as demo
from deploy.stack import Stack

from .conftest import check_a11y
from .login_support import sign_in
from .member_support import (
    CHECK_TIMEOUT,
    DEMO_MEMBERS,
    alert,
    download,
    filled,
    open_page,
    pdf_text,
    pick_member,
    resident_id,
    roster_total,
    run_query,
    saved,
    upload,
    wait_checked,
    wait_for_text,
    workbook,
    wrong_check,
)

HEADER = ["姓名", "证件类型", "证件号码", "缴存基数", "首次缴存年月", "手机号码"]
IMPORTED = 1500
# Demo members (normal) only this file seals: the integration tests seal the employer's last normal one.
SEALED = DEMO_MEMBERS[30], DEMO_MEMBERS[31]
HISTORY = DEMO_MEMBERS[33]


def delete_button(page: Page, id_number: str) -> tuple[Locator, Locator]:
    row = page.locator("#roster tbody tr[data-row-id]", has_text=id_number)
    return row, row.get_by_role("button", name=re.compile(r"^删除第\d+条$"))


def test_one_member_typed_in_refused_at_its_field_then_entered_and_deleted_through_the_dialog(
        browser: Browser, stack: Stack) -> None:
    page = open_page(browser, stack, "/members/register")
    expect(page.get_by_role("heading", name="缴存人登记", level=1)).to_be_visible()
    before = roster_total(page)
    person = resident_id(1)
    page.locator("#field-name").fill("录入甲")
    expect(page.locator("#field-id_type")).to_have_value("居民身份证")
    page.locator("#field-id_number").fill(wrong_check(person))
    page.locator("#field-base").fill("5000")
    expect(page.locator("#field-ratio")).to_have_value("12")
    page.locator("#field-first_month").fill("202612")
    page.locator("#entry-submit").click()

    # Refused: the reason at its field, every value kept, nothing in the roster.
    expect(alert(page)).to_contain_text("证件号码")
    expect(page.locator("#error-id_number")).to_have_text("出生日期或校验位不正确")
    expect(page.locator("#field-id_number")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#field-id_number")).to_have_value(wrong_check(person))
    expect(page.locator("#field-name")).to_have_value("录入甲")
    expect(page.locator("#field-base")).to_have_value("5000")
    expect(page.locator("#field-first_month")).to_have_value("202612")
    assert roster_total(page) == before

    page.locator("#field-id_number").fill(person)
    page.locator("#entry-submit").click()
    expect(alert(page)).to_have_text("开户清册录入成功")
    row, delete = delete_button(page, person)
    expect(row).to_have_count(1)
    for shown in ("录入甲", "居民身份证", "5000.00", "12%", "1200.00", "202612"):
        expect(row).to_contain_text(shown)  # 月缴存额: 600.00 from each side
    expect(page.locator("#error-id_number")).to_have_count(0)
    expect(page.locator("#field-name")).to_have_value("")  # ready for the next one
    assert roster_total(page) == before + 1

    # 删除 asks first: 取消 keeps the row (nothing sent: still there after a reload), 确定 removes it.
    delete.click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("确定删除该条记录？")
    check_a11y(page)
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()
    page.reload()
    expect(row).to_have_count(1)
    delete.click()
    dialog.get_by_role("button", name="确定").click()
    expect(alert(page)).to_have_text("删除成功")
    expect(row).to_have_count(0)
    assert roster_total(page) == before


def test_a_large_import_shows_its_progress_lists_its_errors_is_fixed_from_the_marked_file_and_opened(
        browser: Browser, stack: Stack) -> None:
    page = open_page(browser, stack, "/members/register")
    assert roster_total(page) == 0, "the registration roster should start empty"
    page.locator("#import-option").select_option("10")
    expect(page.locator("#template-link")).to_have_attribute("href", re.compile(r"option=10$"))
    template, name = download(page, page.locator("#template-link"))
    assert name == "缴存人登记导入模板.xlsx"
    book = workbook(template)
    assert [c.value for c in book.worksheets[0][1]] == HEADER
    assert "缴存比例：10%" in [r[0] for r in book["填写说明"].iter_rows(values_only=True)]

    lines = [[f"导入{i}", None, resident_id(1000 + i), "4000", "202612", None] for i in range(IMPORTED)]
    lines[10][2] = wrong_check(resident_id(1010))  # Excel row 12
    lines[20][3] = "四千"  # Excel row 22
    # The heavy worker is held while the file waits, so the bar is seen (and seen again after a reload)
    # however fast the check is; it is started again and the page shows the result by itself.
    stack.stop_process("heavy")
    try:
        page.locator("#import-option").select_option("10")
        upload(page, filled(template, lines), "开户名单.xlsx")
        expect(alert(page)).to_have_text("文件已上传，正在检查")
        current = page.locator("#import-current")
        expect(current).to_have_attribute("data-status", re.compile("^(queued|running)$"))
        expect(page.locator("#import-progress")).to_be_visible()
        expect(page.locator("#import-progress-text")).to_contain_text("已检查")
        expect(current).to_contain_text("开户名单.xlsx")
        page.reload()
        expect(page.locator("#import-progress")).to_be_visible()
        expect(current).to_contain_text("开户名单.xlsx")
        page.locator("#field-name").fill("正在录入")  # an entry begun while the file waits
    finally:
        stack.start_heavy()
    # Checked: the page does not reload under the typing; it offers the result as a link instead.
    done = page.locator("#import-done")
    expect(done).to_have_text("文件检查已完成，点击查看结果", timeout=CHECK_TIMEOUT)
    expect(page.locator("#field-name")).to_have_value("正在录入")
    done.click()
    expect(current).to_have_attribute("data-status", "checked")
    expect(page.locator("#import-counts")).to_have_text(f"共{IMPORTED}行，正确{IMPORTED - 2}行，错误2行。")
    errors = page.locator("#import-errors li")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_have_text("第12行 证件号码：出生日期或校验位不正确")
    expect(errors.nth(1)).to_contain_text("第22行 缴存基数：")
    assert roster_total(page) == 0  # nothing added from a file with errors until the operator says so

    marked_bytes, marked_name = download(page, page.locator("#marked-link"))
    assert marked_name.endswith(".xlsx")
    marked = workbook(marked_bytes)
    sheet = marked.worksheets[0]
    for cell in ("C12", "D22"):
        assert sheet[cell].comment is not None, cell
        assert sheet[cell].fill.fgColor.rgb.endswith("FFC7CE"), cell
    assert sheet["C12"].comment.text == "出生日期或校验位不正确"
    assert sheet["C13"].comment is None
    assert sheet.cell(row=1, column=sheet.max_column).value == "错误原因"

    page.locator("#discard-import").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("确定放弃本次导入？")
    dialog.get_by_role("button", name="确定").click()
    expect(alert(page)).to_have_text("已放弃本次导入")
    expect(current).to_have_count(0)

    # The operator corrects the two marked cells in the marked copy and uploads it.
    sheet["C12"], sheet["D22"] = resident_id(1010), "4000"
    page.locator("#import-option").select_option("10")
    upload(page, saved(marked), "开户名单（已修改）.xlsx")
    wait_checked(page)
    expect(current).to_have_count(0)  # every row good: added, nothing left to decide
    assert roster_total(page) == IMPORTED
    first = page.locator("#roster tbody tr[data-row-id]").first
    expect(first).to_contain_text("10%")  # the ratio chosen before the upload
    expect(first).to_contain_text("800.00")  # 4000 x 10% from each side

    page.locator("#commit").click()
    expect(alert(page)).to_have_text("已确认开户，开户结果将以消息通知")
    expect(page.locator("#roster-empty")).to_be_visible()

    page.goto(stack.url("gateway") + "/")
    message = wait_for_text(page, page.locator("#inbox-message tbody tr"), "您已完成办理缴存人登记",
                            f"人数：{IMPORTED}人", attempts=120)
    expect(message.first).to_contain_text(demo.EMPLOYER_NAME)
    # 我发起的: the business, newest first; 查看 shows its process, done, with its count.
    page.locator("a[data-box=initiated]").click()
    business = page.locator("#inbox-initiated tbody tr", has_text="缴存人登记").first
    expect(business).to_contain_text("审批通过")
    business.get_by_role("link", name="查看").click()
    expect(page.locator("main")).to_contain_text(f"{IMPORTED}人")
    expect(page.locator("main")).to_contain_text("已办结（通过）")
    # The corrected row's member is open: the query's type-ahead finds it by its ID, 正常.
    page.goto(stack.url("gateway") + "/members/query")
    page.locator("#member-picker").fill(resident_id(1010))
    match = page.locator("#member-matches button[data-member-no]")
    expect(match).to_have_count(1)
    expect(match).to_contain_text("导入10")
    expect(match).to_contain_text("正常")


def test_two_members_sealed_by_an_import_and_one_unsealed_by_the_type_ahead(browser: Browser, stack: Stack) -> None:
    page = open_page(browser, stack, "/members/seal")
    expect(page.get_by_role("heading", name="封存", level=1)).to_be_visible()
    # A file that is no workbook: the reason shown, and the import given up.
    upload(page, "个人账号,姓名,变更原因\n".encode(), "封存名单.csv")
    refusal = "文件不是有效的xlsx格式（请使用下载的模板，另存为Excel工作簿 .xlsx）"
    expect(alert(page)).to_have_text(refusal)
    expect(page.locator("#import-failed")).to_have_text(refusal)
    page.locator("#discard-import").click()
    expect(alert(page)).to_have_text("已放弃本次导入")
    expect(page.locator("#import-current")).to_have_count(0)

    template, _ = download(page, page.locator("#template-link"))
    assert [c.value for c in workbook(template).worksheets[0][1]] == ["个人账号", "姓名", "变更原因"]
    upload(page, filled(template, [[m["member_no"], m["name"], "退休"] for m in SEALED]), "封存名单.xlsx")
    wait_checked(page)
    rows = page.locator("#roster tbody tr[data-row-id]")
    for member in SEALED:
        expect(rows.filter(has_text=member["member_no"])).to_contain_text(member["name"])
        expect(rows.filter(has_text=member["member_no"])).to_contain_text(member["id_number"])
    expect(page.locator("#commit")).to_have_text("确定封存")
    page.locator("#commit").click()  # nothing ticked
    expect(alert(page)).to_have_text("请先勾选清册中的记录")
    for member in SEALED:
        expect(rows.filter(has_text=member["member_no"])).to_have_count(1)  # still waiting in the roster
    page.locator("#select-all").check()
    for member in SEALED:
        expect(rows.filter(has_text=member["member_no"]).locator("input[name=row_ids]")).to_be_checked()
    page.locator("#commit").click()
    expect(alert(page)).to_have_text("已确定封存，办理结果将以消息通知")
    for member in SEALED:
        expect(rows.filter(has_text=member["member_no"])).to_have_count(0)
        found = run_query(page, stack, "缴存人账户信息", (member["member_no"][-2:], member["member_no"]))
        wait_for_text(page, found, member["member_no"], "封存")

    # 启封 by the type-ahead: only sealed members are offered; a choice echoes its 姓名 and 证件号码.
    member = SEALED[0]
    page.goto(stack.url("gateway") + "/members/unseal")
    expect(page.get_by_role("heading", name="启封", level=1)).to_be_visible()
    page.locator("#member-picker").fill(DEMO_MEMBERS[0]["member_no"])
    expect(page.locator("#member-matches-status")).to_have_text("未找到符合条件的缴存人")  # normal: not offered
    pick_member(page, member["name"][:1], member["member_no"])
    expect(page.locator("#echo-name")).to_have_value(member["name"])
    expect(page.locator("#echo-id")).to_have_value(member["id_number"])
    page.locator("#entry-submit").click()  # no reason chosen: refused, the member kept with its echo
    expect(page.locator("#error-reason")).to_have_text("不能为空")
    expect(page.locator("#member-no")).to_have_value(member["member_no"])
    expect(page.locator("#echo-name")).to_have_value(member["name"])
    expect(page.locator("#echo-id")).to_have_value(member["id_number"])
    check_a11y(page)
    page.locator("#field-reason").select_option("正常启封")
    page.locator("#entry-submit").click()
    expect(alert(page)).to_have_text("缴存人状态变更清册录入成功")
    row = page.locator("#roster tbody tr[data-row-id]", has_text=member["member_no"])
    expect(row).to_contain_text("正常启封")
    # The same member a second time: refused at the field, the roster holds it once.
    page.locator("#field-reason").select_option("正常启封")
    pick_member(page, member["member_no"], member["member_no"])
    page.locator("#entry-submit").click()
    expect(page.locator("#error-member_no")).to_have_text("该缴存人已在清册中")
    expect(row).to_have_count(1)
    row.locator("input[name=row_ids]").check()
    expect(page.locator("#commit")).to_have_text("确定启封")
    page.locator("#commit").click()
    expect(alert(page)).to_have_text("已确定启封，办理结果将以消息通知")
    found = run_query(page, stack, "缴存人账户信息", (member["member_no"], member["member_no"]))
    wait_for_text(page, found, member["member_no"], "正常")
    still = run_query(page, stack, "缴存人账户信息", (SEALED[1]["member_no"], SEALED[1]["member_no"]))
    expect(still).to_contain_text("封存")


def test_the_status_history_is_found_printed_as_a_pdf_and_downloaded(browser: Browser, stack: Stack) -> None:
    page = open_page(browser, stack, "/members/seal")
    member = HISTORY
    # The history first made through the pages: sealed by hand (the type-ahead), then unsealed.
    for path, reason in (("/members/seal", "离职"), ("/members/unseal", "错误封存更正")):
        page.goto(stack.url("gateway") + path)
        page.locator("#field-reason").select_option(reason)
        pick_member(page, member["member_no"], member["member_no"])
        page.locator("#entry-submit").click()
        expect(alert(page)).to_have_text("缴存人状态变更清册录入成功")
        page.locator("#roster tbody tr[data-row-id]", has_text=member["member_no"]).locator(
            "input[name=row_ids]").check()
        page.locator("#commit").click()
        expect(alert(page)).to_contain_text("办理结果将以消息通知")
        expected = "封存" if path.endswith("/seal") else "正常"
        wait_for_text(page, run_query(page, stack, "缴存人账户信息", (member["member_no"], member["member_no"])),
                      member["member_no"], expected)

    # The member's whole history: its opening (the demo's), then today's seal and unseal.
    chosen = (member["member_no"], member["member_no"])
    rows = run_query(page, stack, "缴存人账户状态变更查询", chosen)
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("开户")
    expect(rows.nth(0)).to_contain_text(member["open_date"].isoformat())
    today = date.today().isoformat()
    rows = run_query(page, stack, "缴存人账户状态变更查询", chosen, start_date=today, end_date=today)
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("封存")
    expect(rows.nth(0)).to_contain_text("离职")
    expect(rows.nth(1)).to_contain_text("启封")
    expect(rows.nth(1)).to_contain_text("错误封存更正")
    only_seals = run_query(page, stack, "缴存人账户状态变更查询", chosen, change_type="05", start_date=today,
                           end_date=today)
    expect(only_seals).to_have_count(1)
    expect(only_seals).to_contain_text("离职")
    # A start after the end: the reason named once, at its filter.
    page.locator("#filter-start_date").fill("2026-12-01")
    page.locator("#filter-end_date").fill("2026-01-01")
    page.locator("#query-submit").click()
    expect(alert(page)).to_have_text("查询日期（止）：开始日期不能晚于结束日期")
    expect(page.locator("#query-results")).to_have_count(0)
    expect(page.locator("#filter-start_date")).to_have_value("2026-12-01")
    rows = run_query(page, stack, "缴存人账户状态变更查询", chosen, start_date=today, end_date=today)
    expect(rows).to_have_count(2)

    # 打印 and 数据下载 take the query's filters (today's two changes). 打印: the PDF opens in a new page.
    with page.context.expect_event("response", lambda r: "/print" in r.url) as answered, \
            page.context.expect_page() as opened:
        page.locator("#print").click()
    response = answered.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline")
    viewer = opened.value
    expect(viewer).to_have_url(response.url)  # the browser shows it in its PDF viewer
    viewer.close()
    # The viewer stands between the page and the file's bytes: the same address, asked again.
    again = page.request.get(response.url)
    assert again.headers["content-type"] == "application/pdf"
    pdf = again.body()
    assert pdf.startswith(b"%PDF")
    shown = pdf_text(pdf)
    assert "缴存人账户状态变更查询" in shown
    assert member["member_no"] in shown and "离职" in shown and "错误封存更正" in shown

    # 数据下载: the rows as an xlsx.
    data, name = download(page, page.locator("#download"))
    assert name == "缴存人账户状态变更查询.xlsx"
    sheet = workbook(data).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["个人账号", "姓名", "变更类型"]
    lines = [dict(zip(header, line, strict=False)) for line in sheet.iter_rows(min_row=2, values_only=True)]
    assert [(line["个人账号"], line["变更类型"], line["变更原因"]) for line in lines] == [
        (member["member_no"], "封存", "离职"), (member["member_no"], "启封", "错误封存更正")]


def test_an_account_that_may_only_query_is_kept_out_of_the_rosters_and_sees_only_its_own_members(
        browser: Browser, stack: Stack) -> None:
    page = browser.new_page()
    sign_in(page, stack, demo.SECOND_EMPLOYER_NO)
    for key in ("member_register", "seal", "unseal"):
        expect(page.locator(f'section.modules [data-module="{key}"]')).to_have_count(0)
    page.goto(stack.url("gateway") + "/members/seal")
    expect(page).to_have_url(stack.url("gateway") + "/")
    expect(alert(page)).to_have_text("当前账号无权办理该业务")

    page.locator('section.modules [data-module="member_query"]').click()
    own = demo.members(demo.SECOND_EMPLOYER_NO)[0]
    rows = run_query(page, stack, "缴存人账户信息", (own["name"], own["member_no"]))
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(own["id_number"])
    # The first employer's member is not found by this employer's type-ahead, nor by its number.
    other = DEMO_MEMBERS[0]
    page.locator("#member-picker").fill(other["member_no"])
    expect(page.locator("#member-matches-status")).to_have_text("未找到符合条件的缴存人")
    page.goto(stack.url("gateway") + f"/members/query?tab=member-accounts&run=1&member_no={other['member_no']}")
    expect(page.locator("#query-results tbody tr")).to_have_count(0)
    expect(page.locator("#query-empty")).to_have_text("没有符合条件的记录")
