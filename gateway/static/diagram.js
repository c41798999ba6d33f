// Draws the process with bpmn-js and marks completed nodes and the current task.
(function () {
  // The XML comes in a JSON data block, not an inline script, so the page's CSP can forbid inline script.
  const container = document.getElementById("diagram");
  const data = document.getElementById("bpmn-xml");
  if (!container || !window.BpmnJS || !data) return;
  const viewer = new window.BpmnJS({ container });
  viewer.importXML(JSON.parse(data.textContent)).then(() => {
    const canvas = viewer.get("canvas");
    canvas.zoom("fit-viewport");
    const mark = (ids, cls) => ids.split(",").filter(Boolean).forEach((id) => {
      try { canvas.addMarker(id, cls); } catch (e) { /* node not drawn */ }
    });
    mark(container.dataset.completed, "done");
    mark(container.dataset.current, "current");
    container.dataset.rendered = "true";
  }).catch((err) => { container.textContent = "流程图加载失败：" + err.message; });
})();
