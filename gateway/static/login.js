// Login with password and UKey: get a single-use challenge from the hall, have the local UKey agent
// (联连客户端) sign it with the key on the token, then post the form with the signature.
// Before that, the page checks whether the agent runs on this PC and which UKey it sees.
(function () {
  const status = document.getElementById("agent-status");
  const form = document.getElementById("login-form");
  if (!status || !form) return;
  const say = (state, text) => { status.dataset.state = state; status.textContent = text; };

  async function check() {
    say("checking", "正在检测本机的联连客户端…");
    let response;
    try {
      response = await fetch(form.dataset.agent + "/status", { cache: "no-store" });
    } catch (e) {
      say("missing", "未检测到联连客户端：请下载并安装联连客户端，按下方命令启动后点击“重新检测”。");
      return;
    }
    const info = await response.json().catch(() => ({}));
    if (!response.ok) {
      say("no-token", "联连客户端已启动，但" + (info.message || "无法读取UKey") + "。");
    } else if (!info.has_certificate) {
      say("no-token", "联连客户端已启动，检测到UKey：" + info.token_label + "，但其中没有证书，请到中心办理UKey。");
    } else {
      say("ok", "联连客户端已启动，检测到UKey：" + info.token_label + "（序列号 " + info.token_serial + "）");
    }
  }

  document.getElementById("agent-recheck").addEventListener("click", check);
  check();
})();

(function () {
  const form = document.getElementById("login-form");
  if (!form) return;
  const error = document.getElementById("login-error");
  const show = (text) => { error.textContent = text; error.hidden = false; };

  form.addEventListener("submit", async (event) => {
    if (form.dataset.signed) return;
    event.preventDefault();
    // A second click while the UKey signs would fetch a second challenge and sign twice.
    if (form.dataset.busy) return;
    form.dataset.busy = "1";
    try { await signAndSubmit(); } finally { delete form.dataset.busy; }
  });

  async function signAndSubmit() {
    error.hidden = true;
    // The answer to the previous attempt (flashed by the hall) no longer applies: only this one's shows.
    document.querySelectorAll("main > .alert").forEach((flashed) => { flashed.hidden = true; });
    const who = { employer_no: form.employer_no.value.trim(), login_name: form.login_name.value.trim() };
    const csrf = document.querySelector("meta[name=csrf-token]").content;
    const challenge = await fetch("/login/challenge", {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify(who),
    }).then((r) => r.json()).catch(() => ({ message: "网络异常，请稍后再试" }));
    if (!challenge.challenge_id) { show(challenge.message || "登录失败，请稍后再试"); return; }
    let signed;
    try {
      const response = await fetch(form.dataset.agent + "/sign", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ nonce: challenge.nonce, pin: document.getElementById("ukey-pin").value }),
      });
      signed = await response.json();
      if (!response.ok) { show(signed.message || "UKey签名失败"); return; }
    } catch (e) {
      show("未检测到联连客户端，请安装并启动联连客户端，插入UKey后重试");
      return;
    }
    form.challenge_id.value = challenge.challenge_id;
    form.certificate.value = signed.certificate;
    form.signature.value = signed.signature;
    form.dataset.signed = "1";
    form.submit();
  }
})();
