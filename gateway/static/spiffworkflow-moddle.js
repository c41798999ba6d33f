// The moddle descriptor of SpiffWorkflow's extension elements, so that the designer reads, edits and
// writes them back (without it bpmn-js keeps unknown elements but cannot edit them):
//   <spiffworkflow:properties><spiffworkflow:property name="candidate_group" value="reviewer"/></...>
window.spiffworkflowModdle = {
  name: "SpiffWorkflow",
  uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
  prefix: "spiffworkflow",
  xml: { tagAlias: "lowerCase" },
  associations: [],
  types: [
    {
      name: "Properties",
      superClass: ["Element"],
      properties: [{ name: "properties", type: "Property", isMany: true }],
    },
    {
      name: "Property",
      superClass: ["Element"],
      properties: [
        { name: "name", type: "String", isAttr: true },
        { name: "value", type: "String", isAttr: true },
      ],
    },
  ],
};
