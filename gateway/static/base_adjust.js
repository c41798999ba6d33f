// 基数调整 (templates/base_adjust.html). 单笔录入: the chosen member's current base and monthly amount
// echoed, only the chosen category's inputs shown, and the figures the typed value gives previewed as it
// is typed (the owner's own check, so a refusal reads as 录入清册's would). 批量录入: a cell left records
// the member's row in the roster at once and the roster below shows it, ready for 保存.
(function () {
  const csrf = document.querySelector("meta[name=csrf-token]").content;

  async function call(url, options) {
    const response = await fetch(url, { credentials: "same-origin", ...options,
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf } });
    let body = {};
    try { body = await response.json(); } catch (error) { body = { message: "服务暂不可用，请稍后再试" }; }
    return { ok: response.ok, body };
  }

  // -- 单笔录入 ------------------------------------------------------------------------------------
  const form = document.getElementById("entry-form");
  if (form && form.dataset.preview) {
    const picked = document.getElementById("member-no");
    const category = document.getElementById("field-category");
    const month = document.getElementById("field-effective_month");
    const keys = ["base", "amount", "employer_ratio", "personal_ratio"];
    const figures = document.getElementById("preview-figures");
    const hint = document.getElementById("preview-hint");
    const failure = document.getElementById("preview-error");
    let timer = null;
    let asked = 0;

    function showCategory() {
      form.querySelectorAll("[data-category]").forEach((box) => {
        box.hidden = box.dataset.category !== category.value;
      });
    }

    function values() {
      const found = { member_no: picked.value, category: category.value, effective_month: month.value.trim() };
      for (const key of keys) {
        const input = document.getElementById(`field-${key}`);
        const box = input.closest("[data-category]");
        found[key] = box && box.hidden ? "" : input.value.trim();
      }
      return found;
    }

    function ready(v) {
      const needed = v.category === "ratio" ? ["employer_ratio", "personal_ratio"] : [v.category];
      return v.member_no && v.effective_month && needed.every((key) => v[key]);
    }

    async function preview() {
      const v = values();
      const mine = ++asked;
      if (!ready(v)) { figures.hidden = true; failure.hidden = true; hint.hidden = false; return; }
      const { ok, body } = await call(form.dataset.preview, { method: "POST", body: JSON.stringify({ values: v }) });
      if (mine !== asked) return;  // a later keystroke's answer wins
      hint.hidden = true;
      figures.hidden = !ok;
      failure.hidden = ok;
      if (!ok) { failure.textContent = body.message || "计算失败"; return; }
      const row = body.row;
      document.getElementById("preview-base").textContent = `${row.new_base} 元`;
      document.getElementById("preview-ratio").textContent = row.new_ratio_text;
      document.getElementById("preview-amount").textContent =
        `${row.new_amount} 元（单位${row.new_employer_amount}元 + 个人${row.new_personal_amount}元）`;
    }

    function later() { clearTimeout(timer); timer = setTimeout(preview, 300); }

    async function echo() {
      const base = document.getElementById("echo-base");
      const amount = document.getElementById("echo-amount");
      base.value = ""; amount.value = "";
      if (!picked.value) return;
      const { ok, body } = await call(`${form.dataset.member}?${new URLSearchParams({ member_no: picked.value })}`,
        { method: "GET" });
      if (!ok) { failure.hidden = false; failure.textContent = body.message || "查询缴存人失败"; return; }
      document.getElementById("echo-name").value = body.member.name;
      document.getElementById("echo-id").value = body.member.id_number;
      base.value = body.member.base;
      amount.value = body.member.amount;
      later();
    }

    picked.addEventListener("change", echo);
    category.addEventListener("change", () => { showCategory(); later(); });
    form.addEventListener("input", (event) => { if (event.target.id !== "member-picker") later(); });
    showCategory();
    if (picked.value) echo();
  }

  // -- 批量录入 ------------------------------------------------------------------------------------
  const grid = document.getElementById("grid");
  if (!grid) return;
  const roster = document.getElementById("roster");
  const month = document.getElementById("grid-month");

  function rosterRow(row) {
    // The roster below, as the server draws it: a checkbox for 保存, the number, the columns, 删除.
    const body = roster.querySelector("tbody");
    let line = body.querySelector(`tr[data-row-id="${row.id}"]`);
    if (!line) {
      line = body.insertRow();
      line.dataset.rowId = row.id;
    }
    line.replaceChildren();
    const box = document.createElement("input");
    box.type = "checkbox"; box.name = "row_ids"; box.value = row.id; box.setAttribute("form", "commit-form");
    box.setAttribute("aria-label", `选择${row.name}`);
    line.insertCell().append(box);
    line.insertCell().textContent = String(Array.from(body.rows).indexOf(line) + 1);
    for (const key of roster.dataset.columns.split(",")) line.insertCell().textContent = row[key] ?? "";
    const remove = document.createElement("form");
    remove.method = "post"; remove.className = "inline";
    remove.action = grid.dataset.delete.replace(/\/0\/delete$/, `/${row.id}/delete`);
    remove.dataset.confirm = "确定删除该条记录？";
    remove.innerHTML = `<input type="hidden" name="csrf_token"><button type="submit" class="link">删除</button>`;
    remove.querySelector("input").value = csrf;
    remove.querySelector("button").setAttribute("aria-label", `删除${row.name}`);
    line.insertCell().append(remove);
    const empty = document.getElementById("roster-empty");
    if (empty) empty.hidden = true;
    const commit = document.getElementById("commit");
    if (commit) commit.disabled = false;
  }

  async function record(line) {
    const state = line.querySelector(".cell-state");
    const values = { member_no: line.dataset.memberNo, category: grid.dataset.category,
                     effective_month: month.value.trim() };
    const cells = Array.from(line.querySelectorAll("input.cell"));
    for (const cell of cells) values[cell.name] = cell.value.trim();
    if (cells.some((cell) => !cell.value.trim())) {
      if (cells.every((cell) => !cell.value.trim())) return;
      state.textContent = "请填写单位和个人缴存比例";
      return;
    }
    state.textContent = "正在录入…";
    const url = grid.dataset.record.replace("MEMBER", encodeURIComponent(line.dataset.memberNo));
    const { ok, body } = await call(url, { method: "POST", body: JSON.stringify({ values }) });
    line.classList.toggle("refused", !ok);
    cells.forEach((cell) => cell.setAttribute("aria-invalid", ok ? "false" : "true"));
    if (!ok) { state.textContent = body.message || "录入失败"; return; }
    line.querySelector(".new-amount").textContent = body.row.new_amount;
    state.textContent = "已录入清册";
    rosterRow(body.row);
  }

  // "change" fires when a cell that was edited is left: that is when its row is recorded.
  grid.addEventListener("change", (event) => {
    if (event.target.matches("input.cell")) record(event.target.closest("tr"));
  });
})();
