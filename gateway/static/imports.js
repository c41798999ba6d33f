// The roster page's batch import and table (templates/roster.html): the template link follows the chosen
// option; while the file is checked the bar follows its progress every second (the page stays usable;
// a reload shows the bar again, read from the import the owner keeps); once checked the page shows the
// result, unless the user is typing an entry, who is then offered a link instead of losing it.
(function () {
  const option = document.getElementById("import-option");
  const template = document.getElementById("template-link");
  if (option && template) {
    option.addEventListener("change", () => {
      template.href = `${template.dataset.base}?${new URLSearchParams({ option: option.value })}`;
    });
  }

  const all = document.getElementById("select-all");
  if (all) {
    const boxes = () => document.querySelectorAll("#roster input[name=row_ids]");
    all.addEventListener("change", () => boxes().forEach((b) => { b.checked = all.checked; }));
  }

  const current = document.getElementById("import-current");
  if (!current || !["queued", "running"].includes(current.dataset.status)) return;
  const bar = document.getElementById("import-progress");
  const text = document.getElementById("import-progress-text");
  const state = document.getElementById("import-status");
  const entry = document.getElementById("entry-form");
  let typing = false;
  if (entry) entry.addEventListener("input", () => { typing = true; });

  function finished() {
    if (!typing) { window.location.assign(window.location.pathname + window.location.search); return; }
    const link = document.createElement("a");
    link.href = window.location.pathname + window.location.search;
    link.id = "import-done";
    link.textContent = "文件检查已完成，点击查看结果";
    text.replaceChildren(link);
  }

  async function tick() {
    try {
      const response = await fetch(current.dataset.poll, {
        headers: { Accept: "application/json", "X-Hall-Live": "1" }, credentials: "same-origin" });
      if (response.ok) {
        const found = (await response.json()).import;
        if (!["queued", "running"].includes(found.status)) { finished(); return; }
        bar.max = Math.max(found.total || 0, 1);
        bar.value = found.done || 0;
        text.textContent = `已检查${found.done || 0}/${found.total || 0}行`;
        state.textContent = found.status === "running" ? "正在检查" : "排队等待检查";
      } else if (response.status < 500) {  // gone or refused: the page itself tells why
        finished();
        return;
      }
    } catch (error) { /* the next second asks again */ }
    setTimeout(tick, 1000);
  }

  setTimeout(tick, 1000);
})();
