// The modeler page's dry-run panel (process_edit.html #dryrun): a sample request run through the
// diagram as it is now (POST /api/v1/processes/dry-run with the files Validate sends), the route
// listed and marked on the diagram. Every text comes from the page's #dryrun-messages.
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const studio = window.SealflowStudio;
  const data = JSON.parse($('studio-data').textContent);
  const ROUTE = 'sf-route';
  const END = 'sf-route-end';
  const STOP = 'sf-route-problem';

  function text(selector, fallback) {
    const node = document.querySelector('#dryrun-messages ' + selector);
    return node ? node.textContent : fallback;
  }
  const msg = (name, vars) => text(`[data-msg="${name}"]`, name)
    .replace(/\{(\w+)\}/g, (_, k) => String((vars || {})[k]));
  const el = (tag, props, ...children) => {
    const node = Object.assign(document.createElement(tag), props || {});
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  };

  if (!studio) {  // the assets are not built: studio.js said so; the panel cannot run
    $('dryrun-run').disabled = true;
    return;
  }
  const { modeler } = studio;
  const canvas = modeler.get('canvas');
  const registry = modeler.get('elementRegistry');
  let marked = [];
  const typed = {};  // what was typed per form field and per decision, kept across rebuilds

  // --- the form, from the diagram as it is now -------------------------------------------

  function startFields() {
    const start = registry.filter((e) => e.type === 'bpmn:StartEvent'
      && !(e.businessObject.eventDefinitions || []).length
      && ['bpmn:Process', 'bpmn:Participant'].includes(e.parent && e.parent.type))[0];
    const ext = start && start.businessObject.extensionElements;
    const formData = ext && (ext.values || []).find((v) => v.$type === 'camunda:FormData');
    return ((formData && formData.fields) || []).filter((f) => f.id).map((f) => ({
      id: f.id, label: f.label || f.id, type: f.type || 'string', default: f.defaultValue,
      required: ((f.validation && f.validation.constraints) || []).some((c) => c.name === 'required'),
      values: (f.values || []).map((v) => ({ id: v.id, name: v.name || v.id })),
    }));
  }

  function fieldInput(field) {
    const attrs = { id: 'dryrun-f-' + field.id, name: field.id };
    let input;
    if (field.type === 'boolean' || field.type === 'enum') {
      const options = field.type === 'boolean'
        ? [['true', msg('yes')], ['false', msg('no')]] : field.values.map((v) => [v.id, v.name]);
      input = el('select', attrs, el('option', { value: '', textContent: msg('choose') }),
        ...options.map(([value, label]) => el('option', { value, textContent: label })));
    } else {
      const type = { long: 'number', date: 'date' }[field.type] || 'text';
      input = el('input', { ...attrs, type });
      if (type === 'number') input.step = '1';
    }
    input.value = typed['f:' + field.id] ?? field.default ?? '';
    input.addEventListener('input', () => { typed['f:' + field.id] = input.value; });
    input.required = field.required;
    const label = el('label', { htmlFor: attrs.id }, field.label,
      field.required ? el('span', { className: 'req', title: msg('required'), textContent: '*' }) : null);
    return el('div', { className: 'field' }, label, input);
  }

  // The elements a decision steers: user and manual tasks, timer events.
  function steered() {
    return registry.filter((e) => ['bpmn:UserTask', 'bpmn:ManualTask'].includes(e.type)
      || ((e.businessObject.eventDefinitions || []).some((d) => d.$type === 'bpmn:TimerEventDefinition')
        && e.type !== 'bpmn:StartEvent'));
  }

  function decisionInput(element) {
    const id = 'dryrun-d-' + element.id;
    const timer = element.type.endsWith('Event');
    const input = el('input', { id, type: 'text', className: 'mono', autocomplete: 'off',
      placeholder: timer ? 'wait' : 'approve' });
    input.dataset.element = element.id;
    input.value = typed['d:' + element.id] || '';
    input.addEventListener('input', () => { typed['d:' + element.id] = input.value; });
    const name = element.businessObject.name || element.id;
    return el('div', { className: 'field' },
      el('label', { htmlFor: id }, name + ' ', el('span', { className: 'mono muted', textContent: element.id })),
      input);
  }

  let shape = '';
  function rebuild() {
    const fields = startFields();
    const tasks = steered();
    const now = JSON.stringify([fields, tasks.map((t) => [t.id, t.businessObject.name])]);
    if (now === shape) return;  // unchanged: leave the inputs (and the focus) alone
    shape = now;
    $('dryrun-fields').replaceChildren(...fields.map(fieldInput));
    $('dryrun-nofields').hidden = fields.length > 0;
    $('dryrun-decisions').replaceChildren(...tasks.map(decisionInput));
  }
  let pending = null;
  modeler.on('commandStack.changed', () => {
    clearTimeout(pending);
    pending = setTimeout(rebuild, 300);
  });
  // The import may finish while this script is still loading.
  if (document.body.dataset.modeler === 'ready') rebuild();
  else document.addEventListener('studio:imported', rebuild);

  async function options(url, select, label, pick) {
    const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (!response.ok) return;
    const items = await response.json();
    for (const item of items) select.append(el('option', { value: item.id ?? item.key, textContent: label(item) }));
    const chosen = items.find(pick);
    if (chosen) select.value = String(chosen.id ?? chosen.key);
  }
  options('/api/v1/seals', $('dryrun-seal'), (s) => `${s.name} · ${s.type} · ${s.status} (#${s.id})`,
    (s) => s.status === 'active').catch(() => {});
  options('/api/v1/business-types', $('dryrun-type'), (t) => `${t.name} (${t.key} → ${t.process})`,
    (t) => t.process === data.key).catch(() => {});

  // --- the run ------------------------------------------------------------------------------

  function sample() {
    let extra = {};
    const raw = $('dryrun-extra').value.trim();
    if (raw) {
      try { extra = JSON.parse(raw); } catch (e) { extra = null; }
      if (!extra || typeof extra !== 'object' || Array.isArray(extra)) return null;
    }
    const values = {};
    for (const input of $('dryrun-fields').querySelectorAll('[name]')) {
      if (input.value !== '') values[input.name] = input.value;  // the server converts by type
    }
    return { ...values, ...extra };
  }

  function decisions() {
    const out = {};
    for (const input of $('dryrun-decisions').querySelectorAll('input[data-element]')) {
      const choices = input.value.split(/[\s,，、]+/).filter(Boolean);
      if (choices.length) out[input.dataset.element] = choices.length === 1 ? choices[0] : choices;
    }
    return out;
  }

  function clearMarkers() {
    for (const [id, marker] of marked) if (registry.get(id)) canvas.removeMarker(id, marker);
    marked = [];
  }

  function mark(id, marker) {
    if (!id || !registry.get(id)) return false;
    canvas.addMarker(id, marker);
    marked.push([id, marker]);
    return true;
  }

  // The route's elements and the sequence flows taken between consecutive ones.
  function markRoute(route, end) {
    const ids = route.map((step) => step.element_id);
    ids.forEach((id, i) => {
      mark(id, ROUTE);
      const flows = i ? registry.filter((e) => e.type === 'bpmn:SequenceFlow' && e.source
        && e.target && e.source.id === ids[i - 1] && e.target.id === id) : [];
      flows.forEach((flow) => mark(flow.id, ROUTE));
    });
    if (end) mark(end.element_id, END);
  }

  function elementButton(id, name) {
    if (!registry.get(id)) return el('span', { className: 'mono', textContent: name || id });
    const button = el('button', { type: 'button', className: 'link', textContent: name || id });
    button.addEventListener('click', () => {
      modeler.get('selection').select(registry.get(id));
      canvas.scrollToElement(registry.get(id));
    });
    return button;
  }

  function detail(label, ...value) {
    return el('div', { className: 'studio-route-detail' }, el('span', { className: 'muted', textContent: label + ': ' }), ...value);
  }

  function ruleText(rule) {
    return [rule.description, rule.id, rule.row ? msg('row', { row: rule.row }) : null].filter(Boolean).join(' · ');
  }

  function routeItem(step) {
    const kind = text(`[data-kind="${step.kind}"]`, step.kind);
    const li = el('li', { className: 'studio-route-step' },
      el('div', null, elementButton(step.element_id, step.name), ' ',
        el('span', { className: 'mono muted', textContent: step.element_id }), ' ',
        el('span', { className: 'badge', textContent: kind })));
    li.dataset.element = step.element_id;
    if (['userTask', 'manualTask'].includes(step.kind) || (step.people || []).length) {
      li.append(detail(msg('people'), (step.people || []).join(', ') || msg('nobody')));
    }
    if (step.decision) li.append(detail(msg('decision'), text(`[data-decision="${step.decision}"]`, step.decision)));
    const rules = step.rules || (step.rule ? [step.rule] : []);
    if (rules.length) li.append(detail(msg('rule'), rules.map(ruleText).join('; ')));
    if (step.result !== undefined) li.append(detail(msg('result'), el('span', { className: 'mono', textContent: JSON.stringify(step.result) })));
    if (step.due_at) {
      li.append(detail(msg('due'), step.due_at.replace('T', ' ').slice(0, 16) + ' · '
        + msg(step.fired ? 'fired' : 'not-fired')));
    }
    if (step.cancelled) li.append(detail(msg('decision'), msg('cancelled')));
    return li;
  }

  // The panel's input a refused field names (the sample's, the requester, a decision...).
  function inputFor(field) {
    const name = String(field).replace(/^data\./, '');
    const fixed = { requester: 'dryrun-requester', seal: 'dryrun-seal', business_type: 'dryrun-type',
      data: 'dryrun-extra' }[name];
    if (fixed) return $(fixed);
    if (name.startsWith('decisions.')) return $('dryrun-d-' + name.slice(10));
    return $('dryrun-f-' + name);
  }

  function fieldButton(input, field) {
    input.setAttribute('aria-invalid', 'true');
    const button = el('button', { type: 'button', className: 'link mono', textContent: field });
    button.addEventListener('click', () => {
      if (input.closest('details')) input.closest('details').open = true;
      input.focus();
    });
    return button;
  }

  function problemItem(problem) {
    const warning = problem.severity === 'warning';
    if (problem.element && !warning) mark(problem.element, STOP);
    const input = !problem.element && problem.field ? inputFor(problem.field) : null;
    const where = problem.element || problem.field;
    const link = input ? fieldButton(input, where) : where ? elementButton(where, where) : null;
    return el('li', { className: warning ? 'sf-warning' : 'sf-problem' },
      el('strong', { textContent: msg(warning ? 'warning' : 'problem') + ' ' }),
      link, link ? ' ' : null, problem.message);
  }

  function show(summary, problems, route, end) {
    clearMarkers();
    for (const input of document.querySelectorAll('#dryrun-form [aria-invalid]')) input.removeAttribute('aria-invalid');
    const result = $('dryrun-result');
    result.className = 'studio-dryrun-result ' + (end && end.authorized && !problems.some(
      (p) => p.severity !== 'warning') ? 'good' : 'bad');
    $('dryrun-summary').className = '';
    $('dryrun-summary').textContent = summary;
    $('dryrun-route').replaceChildren(...route.map(routeItem));
    $('dryrun-problems').replaceChildren(...problems.map(problemItem));
    markRoute(route, end);
    if (end) {
      const last = [...$('dryrun-route').children].reverse().find((li) => li.dataset.element === end.element_id);
      if (last) last.classList.add(end.authorized ? 'authorized' : 'unauthorized');
    }
  }

  // --- the sample as a saved scenario's input (scenarios.js saves and loads it) -------------

  // The sample as the API takes it (JSON fields as objects), or null: Other data is not JSON.
  function input() {
    const values = sample();
    if (values === null) return null;
    const out = { data: values, decisions: decisions() };
    for (const [name, id] of [['requester', 'dryrun-requester'], ['seal', 'dryrun-seal'],
      ['business_type', 'dryrun-type']]) {
      if ($(id).value.trim()) out[name] = $(id).value.trim();
    }
    return out;
  }

  // A saved input back into the form: the start form's fields, the rest as Other data.
  function load(saved) {
    const fields = new Set(startFields().map((f) => f.id));
    const extra = {};
    for (const key of Object.keys(typed)) delete typed[key];
    for (const [key, value] of Object.entries(saved.data || {})) {
      if (fields.has(key)) typed['f:' + key] = String(value);
      else extra[key] = value;
    }
    for (const [element, choice] of Object.entries(saved.decisions || {})) {
      const list = (Array.isArray(choice) ? choice : [choice])
        .map((c) => (c && typeof c === 'object' ? c.decision || 'approve' : c));
      typed['d:' + element] = list.join(', ');
    }
    $('dryrun-extra').value = Object.keys(extra).length ? JSON.stringify(extra) : '';
    $('dryrun-requester').value = saved.requester || '';
    $('dryrun-seal').value = saved.seal == null ? '' : String(saved.seal);
    $('dryrun-type').value = saved.business_type || '';
    shape = '';
    rebuild();
  }

  window.SealflowDryRun = { input, load, run: () => $('dryrun-form').requestSubmit() };

  $('dryrun-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const values = sample();
    if (values === null) {
      show(msg('refused'), [{ field: 'data', message: msg('bad-json') }], [], null);
      $('dryrun-extra').focus();
      return;
    }
    const button = $('dryrun-run');
    button.disabled = true;
    $('dryrun-summary').textContent = msg('working');
    try {
      const form = await studio.formWithFiles();
      form.append('data', JSON.stringify(values));
      form.append('decisions', JSON.stringify(decisions()));
      for (const [name, input] of [['requester', 'dryrun-requester'], ['seal', 'dryrun-seal'],
        ['business_type', 'dryrun-type']]) {
        if ($(input).value.trim()) form.append(name, $(input).value.trim());
      }
      const { status, body } = await studio.post('/api/v1/processes/dry-run', form);
      if (status !== 200) {
        const error = body.error || {};
        show(msg('refused'), error.problems && error.problems.length ? error.problems
          : [{ message: error.message || msg('failed') }], [], null);
        return;
      }
      const end = body.end;
      const name = end && (registry.get(end.element_id)
        ? registry.get(end.element_id).businessObject.name : null) || (end && end.element_id);
      const summary = (end ? msg(end.authorized ? 'authorized' : 'unauthorized', { end: name })
        : msg('no-end')) + ' · ' + msg('steps', { n: body.route.length, p: body.problems.length });
      show(summary, body.problems, body.route, end);
    } catch (e) {
      show(msg('failed'), [{ message: String(e.message || e) }], [], null);
    } finally { button.disabled = false; }
  });
}());
