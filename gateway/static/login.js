// Login with password and UKey: get a single-use challenge from the hall, have the local UKey agent
// (联连客户端) sign it with the key on the token, then post the form with the signature.
(function () {
  const form = document.getElementById("login-form");
  if (!form) return;
  const error = document.getElementById("login-error");
  const show = (text) => { error.textContent = text; error.hidden = false; };

  form.addEventListener("submit", async (event) => {
    if (form.dataset.signed) return;
    event.preventDefault();
    error.hidden = true;
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
  });
})();
