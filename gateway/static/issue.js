// Issue a UKey: the agent generates the key pair on the token, the center's CA certifies the public
// key, and the agent writes the certificate back to the token. Under dual control the public key goes
// into a request; once a second administrator has confirmed it, the certificate is written from the
// 待复核 list on the PC where the token is inserted (the requester's, normally).
(function () {
  const form = document.getElementById("issue-form");
  if (!form) return;
  const error = document.getElementById("issue-error");
  const agent = form.dataset.agent;
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  // The hall's own endpoints want the CSRF token; the agent is another origin and must not get it.
  const call = (url, body, headers = {}) => fetch(url, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body),
  }).then(async (r) => { const data = await r.json(); if (!r.ok) throw new Error(data.message); return data; });
  const toAgent = (path, body) => call(agent + path, body).catch((e) => {
    throw new Error(e instanceof TypeError ? "未检测到联连客户端，请启动联连客户端并插入UKey" : e.message);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const pin = document.getElementById("issue-pin").value;
    const logins = Array.from(form.querySelectorAll("input[name=login_names]:checked")).map((i) => i.value);
    try {
      const key = await toAgent("/keys", { pin });
      const answer = await call("/admin/ukeys", {
        token_serial: key.token_serial, token_label: key.token_label, public_key: key.public_key, login_names: logins,
      }, { "X-CSRFToken": csrf });
      // Dual control: a request (the page shows it under 待复核); else the certificate, written at once.
      if (!answer.approval) await toAgent("/certificate", { pin, certificate: answer.certificate_pem });
      window.location.reload();
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  });

  const result = document.getElementById("write-result");
  const show = (text, ok) => {
    result.textContent = text;
    result.className = "alert " + (ok ? "alert-success" : "alert-error");
    result.hidden = false;
  };
  document.querySelectorAll("form.write-certificate").forEach((write) => {
    write.addEventListener("submit", async (event) => {
      event.preventDefault();
      const pin = write.querySelector("input[type=password]").value;
      try {
        // Only into the token whose key the certificate certifies: another one could not use it.
        const inserted = await toAgent("/status");
        if (inserted.token_serial !== write.dataset.serial) {
          throw new Error(`插入的UKey（序列号 ${inserted.token_serial}）不是申请签发的UKey（序列号 ${write.dataset.serial}）`);
        }
        const done = await toAgent("/certificate", { pin, certificate: write.dataset.certificate });
        show(done.message, true);
      } catch (e) {
        show(e.message, false);
      }
    });
  });
})();
