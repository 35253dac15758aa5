// The modeler's read-only line on whether the selected user task may send a request back
// (退回): it follows from the paths drawn, so it is not a property to set. A task may send back
// when, past it through gateways only, a sequence flow's condition tests decision == 'return';
// its targets are where those flows lead (again past gateways). Wording: #send-back-messages.
(function () {
  'use strict';

  const studio = window.SealflowStudio;
  const line = document.getElementById('studio-send-back');
  if (!studio || !line) return;
  const msg = window.SealflowPage.messages('send-back-messages');
  const RETURN = /\bdecision\s*==\s*(['"])return\1/;
  const GATEWAY = /Gateway$/;

  function condition(flow) {
    const expression = flow.businessObject.conditionExpression;
    return (expression && expression.body) || '';
  }

  // The first elements that are not gateways, following ``flows`` forward.
  function landing(flows) {
    const found = new Map();
    const seen = new Set();
    const queue = flows.map((f) => f.target);
    while (queue.length) {
      const element = queue.shift();
      if (!element || seen.has(element.id)) continue;
      seen.add(element.id);
      if (!GATEWAY.test(element.type)) { found.set(element.id, element); continue; }
      for (const out of element.outgoing || []) queue.push(out.target);
    }
    return [...found.values()];
  }

  // The sequence flows taken on a 'return' decision of ``task``: its own or past gateways.
  function returnFlows(task) {
    const taken = [];
    const seen = new Set();
    const queue = [...(task.outgoing || [])];
    while (queue.length) {
      const flow = queue.shift();
      if (seen.has(flow.id)) continue;
      seen.add(flow.id);
      if (RETURN.test(condition(flow))) { taken.push(flow); continue; }
      if (flow.target && GATEWAY.test(flow.target.type)) queue.push(...(flow.target.outgoing || []));
    }
    return taken;
  }

  function show(element) {
    if (!element || element.type !== 'bpmn:UserTask') { line.hidden = true; return; }
    const targets = landing(returnFlows(element))
      .map((t) => t.businessObject.name || t.id);
    line.textContent = targets.length ? msg('yes', { targets: targets.join(', ') }) : msg('no');
    line.className = 'studio-send-back ' + (targets.length ? 'yes' : 'no');
    line.hidden = false;
  }

  let selected = null;
  studio.modeler.on('selection.changed', ({ newSelection }) => {
    selected = newSelection.length === 1 ? newSelection[0] : null;
    show(selected);
  });
  // A condition changed in the panel, or a flow drawn: the line follows.
  studio.modeler.on('commandStack.changed', () => show(selected));
}());
