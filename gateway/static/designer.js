// 流程设计: the bpmn-js Modeler with a small panel for what the hall's engine reads from a process:
// a user task's 候选组, an end event's 审批结果, a sequence flow's 条件, a script task's 脚本 and the
// process's 允许发起人结束流程. 校验 and 部署 post the XML; a refusal marks and selects the element at fault.
(function () {
  const root = document.getElementById("designer");
  if (!root || !window.BpmnJS || !window.spiffworkflowModdle) return;
  const model = JSON.parse(document.getElementById("designer-data").textContent);
  const panel = document.getElementById("designer-panel");
  const message = document.getElementById("designer-message");
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const modeler = new window.BpmnJS({
    container: document.getElementById("canvas"),
    moddleExtensions: { spiffworkflow: window.spiffworkflowModdle },
  });
  window.hallModeler = modeler;  // for the console (and the browser tests' shape creation)
  const moddle = modeler.get("moddle");
  const modeling = modeler.get("modeling");
  const canvas = modeler.get("canvas");
  const registry = modeler.get("elementRegistry");
  let faulty = null;

  // --- spiffworkflow:properties on a business object
  const propsOf = (bo) => {
    const ext = bo.extensionElements;
    return ext ? (ext.get("values") || []).find((v) => v.$instanceOf("spiffworkflow:Properties")) || null : null;
  };
  const getProp = (bo, name) => {
    const props = propsOf(bo);
    const item = props && props.get("properties").find((p) => p.name === name);
    return item ? item.value || "" : "";
  };
  const setProp = (bo, name, value) => {
    let ext = bo.extensionElements;
    if (!ext) {
      ext = moddle.create("bpmn:ExtensionElements", { values: [] });
      ext.$parent = bo;
      bo.extensionElements = ext;
    }
    let props = propsOf(bo);
    if (!props) {
      props = moddle.create("spiffworkflow:Properties", { properties: [] });
      props.$parent = ext;
      ext.get("values").push(props);
    }
    const list = props.get("properties");
    const index = list.findIndex((p) => p.name === name);
    if (!value) {
      if (index >= 0) list.splice(index, 1);
    } else if (index >= 0) {
      list[index].value = value;
    } else {
      const item = moddle.create("spiffworkflow:Property", { name, value });
      item.$parent = props;
      list.push(item);
    }
    root.dataset.dirty = "true";
  };

  // --- the side panel
  const field = (label, control) => {
    const wrap = document.createElement("label");
    wrap.append(label, control);
    panel.append(wrap);
    return control;
  };
  const input = (label, value, onChange) => {
    const control = document.createElement("input");
    control.value = value || "";
    control.addEventListener("change", () => onChange(control.value.trim()));
    return field(label, control);
  };
  const select = (label, options, value, onChange) => {
    const control = document.createElement("select");
    options.forEach(([v, text]) => control.add(new Option(text, v, false, v === value)));
    control.addEventListener("change", () => onChange(control.value));
    return field(label, control);
  };
  const heading = (text) => {
    const h = document.createElement("h2");
    h.textContent = text;
    panel.append(h);
  };
  const processOf = (element) => {
    const rootElement = canvas.getRootElement();
    const bo = element ? element.businessObject : rootElement && rootElement.businessObject;
    if (!bo) return null;  // while a diagram is being imported
    if (bo.$instanceOf("bpmn:Process")) return bo;
    if (bo.$instanceOf("bpmn:Participant")) return bo.processRef;
    if (bo.$instanceOf("bpmn:Collaboration")) return (bo.participants || [])[0]?.processRef;
    return null;
  };
  const nameField = (element) => input("名称", element.businessObject.name,
    (v) => modeling.updateProperties(element, { name: v }));

  function render(element) {
    panel.replaceChildren();
    const bo = element && element.businessObject;
    const process = processOf(element);
    if (!element || process) {
      heading("流程");
      if (!process) return;
      const label = document.createElement("label");
      label.className = "check";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = getProp(process, "initiator_may_end") === "true";
      box.addEventListener("change", () => setProp(process, "initiator_may_end", box.checked ? "true" : "false"));
      label.append(box, "允许发起人结束流程");
      panel.append(label);
      return;
    }
    if (bo.$instanceOf("bpmn:UserTask")) {
      heading("用户任务");
      nameField(element);
      const groups = [["", "（按泳道或未指定）"]].concat(model.groups.map((g) => [g.code, g.name]));
      select("候选组", groups, getProp(bo, "candidate_group"), (v) => setProp(bo, "candidate_group", v));
    } else if (bo.$instanceOf("bpmn:EndEvent")) {
      heading("结束事件");
      nameField(element);
      select("审批结果", [["", "（未设置）"], ["approved", "通过"], ["rejected", "不通过"]],
        getProp(bo, "outcome"), (v) => setProp(bo, "outcome", v));
    } else if (bo.$instanceOf("bpmn:SequenceFlow")) {
      heading("顺序流");
      nameField(element);
      input("条件", bo.conditionExpression ? bo.conditionExpression.body : "", (v) => {
        modeling.updateProperties(element, {
          conditionExpression: v ? moddle.create("bpmn:FormalExpression", { body: v }) : undefined,
        });
      });
      const hint = document.createElement("p");
      hint.className = "hint";
      hint.textContent = "Python 表达式，如 approved == True";
      panel.append(hint);
    } else if (bo.$instanceOf("bpmn:ScriptTask")) {
      heading("脚本任务");
      nameField(element);
      const area = document.createElement("textarea");
      area.rows = 4;
      area.value = bo.script || "";
      area.addEventListener("change", () => modeling.updateProperties(element, { scriptFormat: "python", script: area.value }));
      field("脚本", area);
    } else {
      heading("元素");
      nameField(element);
    }
  }

  // --- 校验 / 部署
  const say = (text, kind) => {
    message.textContent = text;
    message.className = "alert alert-" + kind;
    message.hidden = false;
  };
  const markFault = (id) => {
    if (faulty) canvas.removeMarker(faulty, "error");
    faulty = null;
    // A process id (e.g. one that does not match the business type) is drawn as its participant.
    const element = id && (registry.get(id) || registry.find((e) => e.type === "bpmn:Participant"
      && e.businessObject.processRef && e.businessObject.processRef.id === id));
    if (!element) return;
    faulty = element.id;
    canvas.addMarker(element.id, "error");
    modeler.get("selection").select(element);
  };
  async function send(url, payload) {
    const { xml } = await modeler.saveXML({ format: true });
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ ...payload, bpmn_xml: xml }),
    });
    let body = {};
    try { body = await response.json(); } catch (e) { body = { message: "登录已失效，请刷新页面后重新登录" }; }
    return { ok: response.ok, body };
  }
  async function run(url, payload, button) {
    button.disabled = true;
    try {
      const { ok, body } = await send(url, payload);
      markFault(ok ? null : body.element);
      say(body.message || (ok ? "操作成功" : "操作失败"), ok ? "success" : "error");
      if (ok && body.reload) window.location.assign(body.reload);
    } catch (e) {
      say("网络异常，请稍后再试", "error");
    } finally {
      button.disabled = false;
    }
  }
  document.getElementById("validate").addEventListener("click", (e) => run(model.validate_url, {}, e.target));
  document.getElementById("deploy-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const note = document.getElementById("deploy-note");
    if (!note.value.trim()) { say("请填写部署说明", "error"); note.focus(); return; }
    // The version this page opened: if another admin deployed a newer one meanwhile, the deploy is
    // refused instead of silently replacing it.
    run(model.deploy_url, { note: note.value.trim(), base_version: model.version },
        document.getElementById("deploy"));
  });

  modeler.on("selection.changed", (event) => render(event.newSelection[0]));
  modeler.importXML(model.bpmn_xml).then(() => {
    canvas.zoom("fit-viewport");
    render(null);
    root.dataset.ready = "true";
  }).catch((err) => say("流程图加载失败：" + err.message, "error"));
})();
