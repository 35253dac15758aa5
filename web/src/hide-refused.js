// Sealflow refuses scripts, listeners, connectors and Java/external implementations at deploy
// (designer BPMN never runs code), so the panel does not offer them. Registered after the
// Camunda provider (lower priority runs later) and drops those groups.
const REFUSED = new Set([
  'CamundaPlatform__Script',
  'CamundaPlatform__ExecutionListener',
  'CamundaPlatform__TaskListener',
  'CamundaPlatform__ConnectorInput',
  'CamundaPlatform__ConnectorOutput',
  'CamundaPlatform__FieldInjection',
  'CamundaPlatform__Implementation',
  'CamundaPlatform__ExternalTask',
]);

function HideRefusedProvider(propertiesPanel) {
  this.getGroups = () => (groups) => groups.filter((group) => !REFUSED.has(group.id));
  propertiesPanel.registerProvider(100, this);
}

HideRefusedProvider.$inject = ['propertiesPanel'];

export default {
  __init__: ['sealflowHideRefused'],
  sealflowHideRefused: ['type', HideRefusedProvider],
};
