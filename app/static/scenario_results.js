// The saved scenarios re-run by a Validate or a Deploy, on the studio's pages (the modeler, the
// decision tables): the page dispatches 'studio:checked' with the API's answer, and the box
// [data-scenario-results] lists the unchanged scenarios in brief and each changed one with its
// end and route before → after; on the modeler (window.SealflowStudio) the elements where a
// route changed are marked on the diagram (sf-scenario) and named by their names, and a changed
// one can be saved again with its route now (scenarios.js). Every text comes from
// #scenario-result-messages (_studio.html).
(function () {
  'use strict';

  const box = document.querySelector('[data-scenario-results]');
  if (!box) return;
  const msg = window.SealflowPage.messages('scenario-result-messages');
  const studio = window.SealflowStudio;  // undefined on the decision tables' page
  const canvas = studio && studio.modeler.get('canvas');
  const registry = studio && studio.modeler.get('elementRegistry');
  const CHANGED = 'sf-scenario';
  let marked = [];
  const el = (tag, props, ...children) => {
    const node = Object.assign(document.createElement(tag), props || {});
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  };

  const onDiagram = (id) => Boolean(registry && id && registry.get(id));
  const nameOf = (id) => (onDiagram(id) && registry.get(id).businessObject.name) || id;

  function endText(end) {
    if (!end) return msg('no-end');
    return msg(end.authorized ? 'end-authorized' : 'end-other', { end: nameOf(end.element_id) });
  }

  // An element by its name (its id beside it); one on the diagram is a button that selects it.
  function elementButton(id) {
    if (!onDiagram(id)) return el('span', { className: 'mono', textContent: id });
    const name = nameOf(id);
    const button = el('button', { type: 'button', className: 'link',
      textContent: name === id ? id : `${name} (${id})` });
    button.addEventListener('click', () => {
      studio.modeler.get('selection').select(registry.get(id));
      canvas.scrollToElement(registry.get(id));
    });
    return button;
  }

  function clearMarkers() {
    for (const id of marked) if (onDiagram(id)) canvas.removeMarker(id, CHANGED);
    marked = [];
  }

  function routeText(route, differ) {
    const out = el('span', { className: 'scenario-route' });
    if (!route.length) { out.append(msg('no-route')); return out; }
    route.forEach((id, i) => {
      if (i) out.append(' › ');
      out.append(el(differ.has(id) ? 'mark' : 'span', { textContent: nameOf(id), title: id }));
    });
    return out;
  }

  function changedItem(s) {
    const differ = new Set(s.elements);
    for (const id of s.elements) {
      if (onDiagram(id) && !marked.includes(id)) { canvas.addMarker(id, CHANGED); marked.push(id); }
    }
    const li = el('li', { className: 'scenario-changed' },
      el('strong', { textContent: msg('changed', { name: s.name }) }));
    li.dataset.scenario = s.name;
    if (JSON.stringify(s.end_before) !== JSON.stringify(s.end_now)) {
      li.append(el('div', null, el('span', { className: 'muted', textContent: msg('end') + ': ' }),
        endText(s.end_before), ' → ', el('strong', { textContent: endText(s.end_now) })));
    }
    li.append(el('div', null, el('span', { className: 'muted', textContent: msg('before') + ': ' }),
      routeText(s.route_before, differ)));
    li.append(el('div', null, el('span', { className: 'muted', textContent: msg('now') + ': ' }),
      routeText(s.route_now, differ)));
    if (s.elements.length) {
      const where = el('div', null, el('span', { className: 'muted', textContent: msg('differ') + ': ' }));
      s.elements.forEach((id, i) => where.append(i ? ', ' : '', elementButton(id)));
      li.append(where);
    }
    for (const p of s.problems.filter((p) => p.severity !== 'warning')) {
      li.append(el('div', { className: 'scenario-problem' }, (p.element || p.field || '') + ' ', p.message));
    }
    if (window.SealflowScenarios && s.route_now.length) {  // the modeler: keep the new route
      const keep = el('button', { type: 'button', className: 'btn small', textContent: msg('keep') });
      keep.addEventListener('click', async () => {
        keep.disabled = true;
        if (await window.SealflowScenarios.keep(s.name)) {
          keep.replaceWith(el('span', { className: 'muted', textContent: msg('kept') }));
        } else keep.disabled = false;
      });
      li.append(el('div', null, keep));
    }
    return li;
  }

  document.addEventListener('studio:checked', (event) => {
    clearMarkers();
    const scenarios = (event.detail && event.detail.scenarios) || [];
    box.hidden = !scenarios.length;
    if (!scenarios.length) { box.replaceChildren(); return; }
    const changed = scenarios.filter((s) => s.changed);
    const same = scenarios.filter((s) => !s.changed);
    const list = el('ul', { className: 'scenario-results' }, ...changed.map(changedItem));
    if (same.length) {
      list.append(el('li', { className: 'scenario-same' },
        msg('unchanged-list', { names: same.map((s) => s.name).join(', ') })));
    }
    box.replaceChildren(el('p', { className: changed.length ? 'scenario-summary changed' : 'scenario-summary' },
      msg('summary', { n: scenarios.length, c: changed.length })), list);
  });

  window.SealflowScenarioResults = { endText };
}());
