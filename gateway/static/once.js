// Forms marked data-submit-once send one request however often their button is clicked: a second
// request would be refused (已提交, 已重新投递) and its refusal would hide the first one's success.
(function () {
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
