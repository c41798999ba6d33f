// The idle timeout of a signed-in page: a warning shortly before it, with 继续办理 to stay; at the
// timeout the page goes to the gateway, which ends the session unless another tab was used meanwhile.
(function () {
  const script = document.currentScript;
  const main = document.querySelector("main");
  if (!script || !main) return;
  const idle = Number(script.dataset.idle) * 1000;
  const warning = Number(script.dataset.warning) * 1000;
  const area = script.dataset.area;
  const csrf = document.querySelector("meta[name=csrf-token]").content;

  const banner = document.createElement("div");
  banner.id = "idle-warning";
  banner.className = "alert alert-error idle-warning";
  banner.setAttribute("role", "alert");
  banner.hidden = true;
  const text = document.createElement("span");
  const stay = document.createElement("button");
  stay.type = "button";
  stay.className = "primary";
  stay.textContent = "继续办理";
  banner.append(text, stay);
  main.prepend(banner);

  let deadline = 0, warnTimer = 0, endTimer = 0, ticker = 0, lastPing = Date.now();

  function expire() {
    const next = location.pathname + location.search;
    location.assign(script.dataset.expired + "?area=" + encodeURIComponent(area) + "&next=" + encodeURIComponent(next));
  }

  function update() {
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    text.textContent = "您已长时间未操作，为保障账户安全，系统将在" + left + "秒后自动退出。";
  }

  function warn() {
    update();
    banner.hidden = false;
    ticker = setInterval(update, 1000);
  }

  function schedule() {
    clearTimeout(warnTimer); clearTimeout(endTimer); clearInterval(ticker);
    banner.hidden = true;
    deadline = Date.now() + idle;
    warnTimer = setTimeout(warn, Math.max(0, idle - warning));
    endTimer = setTimeout(expire, idle + 1000);  // a little after the server's own limit
  }

  async function keepalive() {
    lastPing = Date.now();
    const response = await fetch(script.dataset.keepalive, {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ area: area }),
    }).catch(() => null);
    if (response && response.ok) { schedule(); return; }
    if (response && response.status === 401) {
      const body = await response.json().catch(() => ({}));
      location.assign(body.login || script.dataset.expired);
    }
  }

  stay.addEventListener("click", keepalive);
  // Typing or clicking on the page is activity too: tell the gateway, at most once a minute.
  const active = () => { if (banner.hidden && Date.now() - lastPing > 60000) keepalive(); };
  document.addEventListener("keydown", active);
  document.addEventListener("click", active);
  schedule();
})();
