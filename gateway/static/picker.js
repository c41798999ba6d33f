// The member type-ahead (templates/_member_picker.html): as the user types, up to 10 of the employer's
// members by name, ID number or member number; a choice fills the hidden member number and shows the
// member's 姓名 and 证件号码 read-only. Typing again clears the choice, so a stale one is never sent.
(function () {
  const box = document.querySelector("[data-member-picker]");
  if (!box) return;
  const input = document.getElementById("member-picker");
  const picked = box.querySelector("[data-picked]");
  const list = document.getElementById("member-matches");
  const status = document.getElementById("member-matches-status");
  const echoName = document.getElementById("echo-name");
  const echoId = document.getElementById("echo-id");
  let timer = null;
  let asked = 0;

  function choose(member) {
    picked.value = member.member_no;
    input.value = member.member_no;
    if (echoName) echoName.value = member.name || "";
    if (echoId) echoId.value = member.id_number || "";
    list.hidden = true;
    list.replaceChildren();
    status.textContent = `已选择：${member.name}（${member.member_no}）`;
    picked.dispatchEvent(new Event("change"));  // a page that echoes more of the member listens
  }

  function show(items) {
    list.replaceChildren();
    for (const member of items) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link match";
      button.dataset.memberNo = member.member_no;
      button.textContent = `${member.name}　${member.id_number}　${member.member_no}` +
        (member.status_name ? `　${member.status_name}` : "");
      button.addEventListener("click", () => { choose(member); input.focus(); });
      const item = document.createElement("li");
      item.append(button);
      list.append(item);
    }
    list.hidden = items.length === 0;
    status.textContent = items.length ? `找到${items.length}个缴存人，请选择` : "未找到符合条件的缴存人";
    // A number typed in full is its member: chosen without a click.
    const exact = items.filter((m) => m.member_no === input.value.trim());
    if (exact.length === 1 && picked.value !== exact[0].member_no) {
      picked.value = exact[0].member_no;
      picked.dispatchEvent(new Event("change"));
    }
  }

  async function search() {
    const query = input.value.trim();
    const mine = ++asked;
    if (!query) { show([]); status.textContent = ""; return; }
    const params = new URLSearchParams({ q: query });
    if (box.dataset.status) params.set("status", box.dataset.status);
    try {
      const response = await fetch(`${box.dataset.search}?${params}`,
        { headers: { Accept: "application/json" }, credentials: "same-origin" });
      const body = await response.json();
      if (mine !== asked) return;  // a later keystroke's answer wins
      if (!response.ok) { show([]); status.textContent = body.message || "查找失败，请稍后再试"; return; }
      show(body.items || []);
    } catch (error) {
      if (mine === asked) status.textContent = "查找失败，请稍后再试";
    }
  }

  input.addEventListener("input", () => {
    picked.value = "";
    if (echoName) echoName.value = "";
    if (echoId) echoId.value = "";
    clearTimeout(timer);
    timer = setTimeout(search, 250);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !list.hidden) {  // Enter takes the first match, not the form
      event.preventDefault();
      const first = list.querySelector("button");
      if (first) first.click();
    } else if (event.key === "ArrowDown" && !list.hidden) {
      event.preventDefault();
      const first = list.querySelector("button");
      if (first) first.focus();
    } else if (event.key === "Escape") {
      list.hidden = true;
    }
  });
})();
