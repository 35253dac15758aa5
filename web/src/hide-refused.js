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

// A condition's Type select offers <none>, Script and Expression: a script condition is
// refused too, so Script goes from the select, and a script's own entries (language, type,
// body) from the group. The library's own select, with its options filtered.
// One wrapper per component: a new one on each render would have the select remounted.
const wrapped = new WeakMap();

function withoutScript(ConditionType) {
  if (!wrapped.has(ConditionType)) {
    wrapped.set(ConditionType, function SealflowConditionType(props) {
      const select = ConditionType(props);
      const options = select.props.getOptions;
      select.props.getOptions = () => options().filter((option) => option.value !== 'script');
      return select;
    });
  }
  return wrapped.get(ConditionType);
}

function withoutConditionScript(group) {
  if (group.id !== 'CamundaPlatform__Condition') return group;
  const entries = group.entries
    .filter((entry) => !entry.id.startsWith('conditionScript'))
    .map((entry) => (entry.id === 'conditionType'
      ? { ...entry, component: withoutScript(entry.component) } : entry));
  return { ...group, entries };
}

function HideRefusedProvider(propertiesPanel) {
  this.getGroups = () => (groups) => groups.filter((group) => !REFUSED.has(group.id))
    .map(withoutConditionScript);
  propertiesPanel.registerProvider(100, this);
}

HideRefusedProvider.$inject = ['propertiesPanel'];

export default {
  __init__: ['sealflowHideRefused'],
  sealflowHideRefused: ['type', HideRefusedProvider],
};
