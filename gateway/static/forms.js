// Behaviour of the hall's plain forms, without inline script (the CSP forbids it).
(function () {
  // data-confirm: an action that cannot be undone (注销, 解除绑定, 重置密码, 删除) asks first: in the page's
  // own dialog (#confirm-dialog, buttons 确定 and 取消) where the page has one, else the browser's box.
  // data-submit-once: one request however often the button is clicked. A second request would be
  // refused (已提交, 已重新投递) and its refusal would hide the first one's success.
  // Listened for on the document (capture phase, before the form's own listeners), so rows a page
  // puts in later (the home page's live list, static/live.js) behave the same.
  const dialog = document.getElementById("confirm-dialog");

  function ask(form, submitter) {
    dialog.querySelector("#confirm-dialog-text").textContent = form.dataset.confirm;
    const answer = (yes) => {
      dialog.close();
      if (!yes) return;
      form.dataset.confirmed = "1";  // the submission that follows is not asked again
      if (submitter && submitter.form === form) form.requestSubmit(submitter); else form.requestSubmit();
    };
    dialog.querySelector("[data-answer=ok]").onclick = () => answer(true);
    dialog.querySelector("[data-answer=cancel]").onclick = () => answer(false);
    dialog.showModal();
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (form.matches("form[data-confirm]")) {
      if (form.dataset.confirmed) {
        delete form.dataset.confirmed;
      } else if (dialog && typeof dialog.showModal === "function") {
        event.preventDefault();
        event.stopImmediatePropagation();  // not yet asked: not "submitted once" either
        ask(form, event.submitter);
        return;
      } else if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        event.stopImmediatePropagation();  // not asked: not "submitted once" either
        return;
      }
    }
    if (form.matches("form[data-submit-once]")) {
      // After the event: the clicked button's name and value must still be part of this submission.
      setTimeout(() => form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; }), 0);
    }
  }, true);
  // Back to a page kept in the browser's cache: its buttons must work again.
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-submit-once] button[type=submit]").forEach((b) => { b.disabled = false; });
  });
})();
