// The modeler page's saved scenarios (process_edit.html #scenarios): the dry-run panel's sample
// saved under a name with the route and end it reaches on the diagram as it is now (PUT
// /api/v1/processes/<key>/scenarios/<name>), listed, loaded back into the panel, deleted. What
// Validate and Deploy say of them is scenario_results.js's. Every text comes from
// #scenario-messages.
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const studio = window.SealflowStudio;
  const dryRun = window.SealflowDryRun;
  const data = JSON.parse($('studio-data').textContent);
  const msg = window.SealflowPage.messages('scenario-messages');
  const el = (tag, props, ...children) => {
    const node = Object.assign(document.createElement(tag), props || {});
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  };

  if (!studio || !dryRun || !window.SealflowScenarioResults) {  // the assets are not built
    $('scenario-save').disabled = true;
    return;
  }
  const canvas = studio.modeler.get('canvas');
  let known = Boolean(data.key);  // a new flow has scenarios once one is saved (else a 404)

  // The flow's key: the page's, or (a new flow) the process id drawn.
  function flowKey() {
    if (data.key) return data.key;
    const root = canvas.getRootElement();
    const bo = root && root.businessObject;
    if (bo && bo.$type === 'bpmn:Collaboration') {
      const part = (bo.participants || []).find((p) => p.processRef);
      return part ? part.processRef.id : null;
    }
    return bo ? bo.id : null;
  }
  const url = (name) => `/api/v1/processes/${encodeURIComponent(flowKey())}/scenarios`
    + (name === undefined ? '' : '/' + encodeURIComponent(name));

  async function call(method, target, body) {
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const response = await fetch(target, {
      method, body, credentials: 'same-origin',
      headers: { 'X-CSRFToken': csrf, Accept: 'application/json' },
    });
    let answer = {};
    try { answer = await response.json(); } catch (e) { answer = {}; }
    return { status: response.status, body: answer };
  }

  function status(text, bad) {
    $('scenario-status').textContent = text;
    $('scenario-status').className = bad ? 'scenario-status bad' : 'scenario-status';
  }

  const endText = (end) => window.SealflowScenarioResults.endText(end);

  // --- the saved list ----------------------------------------------------------------------

  function savedItem(scenario) {
    const load = el('button', { type: 'button', className: 'btn small', textContent: msg('load') });
    load.setAttribute('aria-label', msg('load-named', { name: scenario.name }));
    load.addEventListener('click', () => {
      dryRun.load(scenario.input);
      status(msg('loaded', { name: scenario.name }));
      dryRun.run();
    });
    const remove = el('button', { type: 'button', className: 'btn small', textContent: msg('delete') });
    remove.setAttribute('aria-label', msg('delete-named', { name: scenario.name }));
    remove.addEventListener('click', async () => {
      if (!window.confirm(msg('confirm-delete', { name: scenario.name }))) return;
      const { status: code, body } = await call('DELETE', url(scenario.name));
      if (code !== 200) { status((body.error || {}).message || msg('failed'), true); return; }
      status(msg('deleted', { name: scenario.name }));
      refresh();
    });
    const when = (scenario.saved_at || '').replace('T', ' ').slice(0, 16);
    const li = el('li', { className: 'scenario-item' },
      el('div', { className: 'scenario-head' }, el('strong', { textContent: scenario.name }),
        el('span', { className: 'scenario-actions' }, load, ' ', remove)),
      el('div', { className: 'muted', textContent: endText(scenario.end) + ' · '
        + msg('saved-by', { who: scenario.saved_by || '—', when }) }));
    li.dataset.scenario = scenario.name;
    return li;
  }

  const inputs = {};  // name -> the saved input, as last listed
  async function refresh() {
    const key = flowKey();
    let items = [];
    if (key && known) {
      const response = await fetch(url(), { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (response.ok) items = await response.json();
    }
    for (const item of items) inputs[item.name] = item.input;
    $('scenario-list').replaceChildren(...items.map(savedItem));
    $('scenario-none').hidden = items.length > 0;
  }

  // Save ``input`` as scenario ``name``, run on the diagram as it is now; whether it was.
  async function put(name, input) {
    const form = await studio.formWithFiles();
    for (const [field, value] of Object.entries(input)) {
      if (value !== null && value !== undefined) {
        form.append(field, typeof value === 'object' ? JSON.stringify(value) : value);
      }
    }
    const { status: code, body } = await call('PUT', url(name), form);
    if (code !== 200 && code !== 201) {
      const error = body.error || {};
      const first = (error.problems || [])[0];
      status(error.message || (first && first.message) || msg('failed'), true);
      return false;
    }
    status(msg(code === 201 ? 'saved' : 'replaced', { name, end: endText(body.end), n: body.route.length }));
    known = true;
    refresh();
    return true;
  }

  $('scenario-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = $('scenario-name').value.trim();
    if (!name) { status(msg('no-name'), true); $('scenario-name').focus(); return; }
    const input = dryRun.input();
    if (input === null) { status(msg('bad-json'), true); return; }
    const button = $('scenario-save');
    button.disabled = true;
    status(msg('working'));
    try {
      if (await put(name, input)) $('scenario-name').value = '';
    } catch (e) {
      status(String(e.message || e), true);
    } finally { button.disabled = false; }
  });

  // A changed scenario (scenario_results.js) saved again with the route it takes now.
  window.SealflowScenarios = {
    keep: (name) => (inputs[name] ? put(name, inputs[name]) : Promise.resolve(false)),
  };

  if (document.body.dataset.modeler === 'ready') refresh();
  else document.addEventListener('studio:imported', refresh);
}());
