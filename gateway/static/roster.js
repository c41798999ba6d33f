// The change roster (待变更清册): every edited field is a row; the cross at its number cancels it.
(function () {
  const form = document.getElementById("change-form");
  if (!form) return;
  const inputs = Array.from(form.querySelectorAll("input[data-original]"));
  const body = document.querySelector("#roster tbody");
  const empty = document.getElementById("roster-empty");

  function render() {
    body.innerHTML = "";
    let n = 0;
    for (const input of inputs) {
      if (input.value.trim() === input.dataset.original) continue;
      n += 1;
      const row = body.insertRow();
      row.dataset.field = input.name;
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "cancel";
      cancel.title = "取消修改";
      cancel.textContent = "✕";
      cancel.addEventListener("click", () => { input.value = input.dataset.original; render(); });
      const number = row.insertCell();
      number.append(cancel, " " + n);
      row.insertCell().textContent = input.dataset.label;
      row.insertCell().textContent = input.dataset.original;
      row.insertCell().textContent = input.value.trim();
    }
    empty.hidden = n > 0;
  }

  inputs.forEach((input) => input.addEventListener("input", render));
  render();
})();

