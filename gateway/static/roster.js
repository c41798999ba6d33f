// The change roster (待变更清册, templates/_change_roster.html): every edited item is a row; the cross
// at its number cancels it. An item with coded values is a choice: its row shows the code and its name.
(function () {
  const form = document.getElementById("change-form");
  if (!form) return;
  const inputs = Array.from(form.querySelectorAll("[data-original]"));
  const body = document.querySelector("#roster tbody");
  const empty = document.getElementById("roster-empty");

  function shown(input, value) {
    if (input.tagName !== "SELECT") return value;
    const option = Array.from(input.options).find((o) => o.value === value);
    return option && value ? option.textContent : value;
  }

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
      row.insertCell().textContent = shown(input, input.dataset.original);
      row.insertCell().textContent = shown(input, input.value.trim());
    }
    empty.hidden = n > 0;
  }

  // A text input's "change" fires on blur, i.e. on the mousedown of a cross: redrawing then would take
  // the clicked button away. Only a choice listens for it (older browsers fire no "input" on a select).
  inputs.forEach((input) => input.addEventListener(input.tagName === "SELECT" ? "change" : "input", render));
  render();
})();
