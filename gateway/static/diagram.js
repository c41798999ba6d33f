// The path viewer (employer pages and the admin console alike): draws the process with bpmn-js and
// marks the completed nodes, the sequence flows actually taken and the current node.
// The data comes in a JSON block (data-source names it), not an inline script: the CSP forbids those.
(function () {
  const container = document.getElementById("diagram");
  if (!container || !window.BpmnJS) return;
  const block = document.getElementById(container.dataset.source || "path-data");
  if (!block) return;
  const path = JSON.parse(block.textContent);
  const viewer = new window.BpmnJS({ container });
  viewer.importXML(path.bpmn_xml).then(() => {
    const canvas = viewer.get("canvas");
    const registry = viewer.get("elementRegistry");
    canvas.zoom("fit-viewport");
    const mark = (ids, cls) => (ids || []).forEach((id) => {
      if (registry.get(id)) canvas.addMarker(id, cls);  // an id the diagram does not draw is skipped
    });
    mark(path.completed, "done");
    mark(path.taken_flows, "taken");
    mark(path.current, "current");
    container.dataset.rendered = "true";
  }).catch((err) => { container.textContent = "流程图加载失败：" + err.message; });
})();
