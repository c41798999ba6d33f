// Behaviour of the hall's plain forms, without inline script (the CSP forbids it).
(function () {
  // data-confirm: an action that cannot be undone (注销, 解除绑定, 重置密码, 删除) asks first.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        event.stopImmediatePropagation();  // not asked: not "submitted once" either
      }
    });
  });

  // data-submit-once: one request however often the button is clicked. A second request would be
  // refused (已提交, 已重新投递) and its refusal would hide the first one's success.
  document.querySelectorAll("form[data-submit-once]").forEach((form) => {
    form.addEventListener("submit", () => {
      // After the event: the clicked button's name and value must still be part of this submission.
      setTimeout(() => form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; }), 0);
    });
  });
  // Back to a page kept in the browser's cache: its buttons must work again.
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-submit-once] button[type=submit]").forEach((b) => { b.disabled = false; });
  });
})();
