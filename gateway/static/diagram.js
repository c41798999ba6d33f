// Draws the process with bpmn-js and marks completed nodes and the current task.
(function () {
  const container = document.getElementById("diagram");
  if (!container || !window.BpmnJS || !window.BPMN_XML) return;
  const viewer = new window.BpmnJS({ container });
  viewer.importXML(window.BPMN_XML).then(() => {
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
