// Issue a UKey: the agent generates the key pair on the token, the center's CA certifies the public
// key, and the agent writes the certificate back to the token.
(function () {
  const form = document.getElementById("issue-form");
  if (!form) return;
  const error = document.getElementById("issue-error");
  const agent = form.dataset.agent;
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  // The hall's own endpoints want the CSRF token; the agent is another origin and must not get it.
  const post = (url, body, headers = {}) => fetch(url, {
    method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body),
  }).then(async (r) => { const data = await r.json(); if (!r.ok) throw new Error(data.message); return data; });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const pin = document.getElementById("issue-pin").value;
    const logins = Array.from(form.querySelectorAll("input[name=login_names]:checked")).map((i) => i.value);
    try {
      const key = await post(agent + "/keys", { pin }).catch((e) => {
        throw new Error(e instanceof TypeError ? "未检测到联连客户端，请启动联连客户端并插入UKey" : e.message);
      });
      const issued = await post("/admin/ukeys", {
        token_serial: key.token_serial, token_label: key.token_label, public_key: key.public_key, login_names: logins,
      }, { "X-CSRFToken": csrf });
      await post(agent + "/certificate", { pin, certificate: issued.certificate_pem });
      window.location.reload();
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  });
})();
