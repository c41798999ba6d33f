// Security keys (FIDO2/WebAuthn): the browser's ceremonies for the hall. The auth service sends its
// options as JSON with binary values in base64url; the answers go back the same way. Used by the login
// page (使用安全密钥登录), the 安全密钥 page (添加) and the registration with a center enrolment code.
(function () {
  const toBytes = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(text.length / 4) * 4, "=");
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  };
  const toText = (buffer) => {
    let binary = "";
    new Uint8Array(buffer).forEach((b) => { binary += String.fromCharCode(b); });
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const descriptors = (list) => (list || []).map((d) => ({ ...d, id: toBytes(d.id) }));

  async function create(options) {
    const publicKey = { ...options, challenge: toBytes(options.challenge),
      user: { ...options.user, id: toBytes(options.user.id) }, excludeCredentials: descriptors(options.excludeCredentials) };
    const made = await navigator.credentials.create({ publicKey });
    return { id: made.id, rawId: toText(made.rawId), type: made.type, clientExtensionResults: {},
      response: { clientDataJSON: toText(made.response.clientDataJSON),
        attestationObject: toText(made.response.attestationObject),
        transports: made.response.getTransports ? made.response.getTransports() : [] } };
  }

  async function get(options) {
    const publicKey = { ...options, challenge: toBytes(options.challenge),
      allowCredentials: descriptors(options.allowCredentials) };
    const signed = await navigator.credentials.get({ publicKey });
    const r = signed.response;
    return { id: signed.id, rawId: toText(signed.rawId), type: signed.type, clientExtensionResults: {},
      response: { clientDataJSON: toText(r.clientDataJSON), authenticatorData: toText(r.authenticatorData),
        signature: toText(r.signature), userHandle: r.userHandle ? toText(r.userHandle) : null } };
  }

  // What the browser's refusal means to the operator (the browser's own words are English).
  function refusal(error) {
    if (!window.PublicKeyCredential) return "当前浏览器不支持安全密钥，请使用新版Chrome、Edge或Firefox";
    if (error && error.name === "InvalidStateError") return "该安全密钥已登记";
    if (error && error.name === "SecurityError") return "当前网址不能使用安全密钥，请通过中心公布的网址访问大厅";
    return "未完成安全密钥验证（已取消、超时或未找到已登记的安全密钥），请重试";
  }

  async function post(url, body) {
    const csrf = document.querySelector("meta[name=csrf-token]").content;
    const response = await fetch(url, { method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf } }).catch(() => null);
    if (!response) return { ok: false, body: { message: "网络异常，请稍后再试" } };
    return { ok: response.ok, body: await response.json().catch(() => ({ message: "操作失败，请稍后再试" })) };
  }

  window.hallWebAuthn = { create, get, refusal, post };

  // 添加安全密钥 (signed in) and 凭登记码登记 (not signed in): options, the key's ceremony, registration.
  document.querySelectorAll("#key-register, #key-enrol").forEach((form) => {
    const error = document.getElementById("key-error");
    const show = (text) => { error.textContent = text; error.hidden = false; };
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (form.dataset.busy) return;
      form.dataset.busy = "1";
      error.hidden = true;
      try {
        const fields = Object.fromEntries(new FormData(form).entries());
        const options = await post(form.dataset.options, fields);
        if (!options.ok) { show(options.body.message || "操作失败"); return; }
        let credential;
        try { credential = await create(options.body.options); } catch (e) { show(refusal(e)); return; }
        const done = await post(form.dataset.register, { ...fields, challenge_id: options.body.challenge_id, credential });
        if (!done.ok) { show(done.body.message || "安全密钥登记失败"); return; }
        window.location.assign(form.dataset.done);
      } finally { delete form.dataset.busy; }
    });
  });

  // 使用安全密钥登录: the same form as the UKey's, posted with the key's answer instead of a signature.
  const login = document.getElementById("login-form");
  const button = document.getElementById("webauthn-login");
  if (!login || !button) return;
  const loginError = document.getElementById("login-error");
  button.addEventListener("click", async () => {
    if (login.dataset.busy) return;
    const who = { employer_no: login.employer_no.value.trim(), login_name: login.login_name.value.trim() };
    const say = (text) => { loginError.textContent = text; loginError.hidden = false; };
    document.querySelectorAll("main > .alert").forEach((flashed) => { flashed.hidden = true; });
    if (!who.employer_no || !who.login_name || !login.password.value) { say("请输入单位账号、登录名称和登录密码"); return; }
    login.dataset.busy = "1";
    try {
      loginError.hidden = true;
      const options = await post("/login/webauthn/options", who);
      if (!options.ok) { say(options.body.message || "登录失败，请稍后再试"); return; }
      let credential;
      try { credential = await get(options.body.options); } catch (e) { say(refusal(e)); return; }
      login.challenge_id.value = options.body.challenge_id;
      login.credential.value = JSON.stringify(credential);
      login.dataset.signed = "1";
      login.submit();
    } finally { delete login.dataset.busy; }
  });
})();
