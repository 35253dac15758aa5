// The decision-table page (app/templates/process_decisions.html): one DMN file of a flow in
// dmn-js (the FlowDmn bundle built from web/), each decision table a tab; Validate and Deploy
// send every file of the version through the API, the edited table replacing its file. Every
// text shown comes from the page's #decisions-messages, so that the template holds all wording.
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const data = JSON.parse($('decisions-data').textContent);

  const page = window.SealflowPage;
  const msg = page.messages('decisions-messages');

  if (!window.FlowDmn) {
    $('decisions-unbuilt').hidden = false;
    return;
  }

  const modeler = new window.FlowDmn.DmnModeler({ container: $('decisions-editor') });
  let dirty = false;

  window.addEventListener('beforeunload', (event) => {
    if (dirty) { event.preventDefault(); event.returnValue = msg('unsaved'); }
  });

  // Any edit in the open view (a cell, a column, the hit policy) leaves changes to deploy.
  function watchActiveViewer() {
    const viewer = modeler.getActiveViewer();
    if (viewer && !viewer.sfWatched) {
      viewer.sfWatched = true;
      viewer.on('elements.changed', () => { dirty = true; });
    }
  }

  // One tab per decision table of the file (a manager never needs the DRD view).
  function showTabs() {
    const tabs = $('decisions-tabs');
    tabs.replaceChildren();
    const active = modeler.getActiveView();
    for (const view of modeler.getViews().filter((v) => v.type === 'decisionTable')) {
      const tab = document.createElement('button');
      tab.type = 'button';
      tab.className = 'btn small' + (active && active.id === view.id ? ' primary' : '');
      tab.setAttribute('role', 'tab');
      tab.setAttribute('aria-selected', String(Boolean(active && active.id === view.id)));
      tab.dataset.decision = view.element.id;
      tab.textContent = view.element.name || view.element.id;
      tab.addEventListener('click', () => modeler.open(view));
      tabs.append(tab);
    }
  }

  modeler.on('views.changed', () => { showTabs(); watchActiveViewer(); });

  // A rule's problem marks its row, an input's or output's its column (dmn-js gives each cell
  // the rule's id as data-row-id, the column's as data-col-id).
  function markRows(entries) {
    for (const cell of document.querySelectorAll('.sf-problem-cell, .sf-warning-cell')) {
      cell.classList.remove('sf-problem-cell', 'sf-warning-cell');
    }
    for (const [item, kind] of entries) {
      if (!item.element || item.file !== data.editing) continue;
      const id = CSS.escape(item.element);
      for (const cell of document.querySelectorAll(`td[data-row-id="${id}"], td[data-col-id="${id}"]`)) {
        cell.classList.add(kind === 'problem' ? 'sf-problem-cell' : 'sf-warning-cell');
      }
    }
  }

  function showResult(summary, problems, warnings, link) {
    const list = $('decisions-problems');
    list.replaceChildren();
    const entries = problems.map((p) => [p, 'problem']).concat(warnings.map((w) => [w, 'warning']));
    for (const [item, kind] of entries) {
      const li = document.createElement('li');
      li.className = 'sf-' + kind;
      const label = document.createElement('strong');
      label.textContent = msg(kind) + ' ';
      li.append(label);
      if (item.element) {
        li.append(Object.assign(document.createElement('span'),
          { className: 'mono', textContent: item.element + ' ' }));
      }
      li.append(item.message);
      list.append(li);
    }
    markRows(entries);
    const summaryNode = $('decisions-summary');
    summaryNode.replaceChildren(summary);
    if (link) {
      summaryNode.append(' ', Object.assign(document.createElement('a'),
        { href: link, textContent: msg('open') }));
    }
    $('decisions-result').hidden = false;
    $('decisions-result').className = 'studio-result ' + (problems.length ? 'bad' : 'good');
  }

  // Every file of the version, the edited table as dmn-js writes it in place of its file.
  async function formWithFiles() {
    const { xml } = await modeler.saveXML({ format: true });
    return { form: page.filesForm(data, xml), xml };
  }

  const post = page.post;
  const checked = page.checked;
  const showError = page.refusal(msg, (...args) => showResult(...args));

  const busy = page.busy('decisions', msg, (...args) => showResult(...args));

  $('decisions-validate').addEventListener('click', () => busy($('decisions-validate'), async () => {
    const { status, body } = await post('/api/v1/processes/validate', (await formWithFiles()).form);
    if (status !== 200) { showError(body); return; }
    showResult(page.validated(body, msg), body.problems, body.warnings);
    checked(body);
  }));

  page.onDeploy('decisions', (comment) => {
    busy($('decisions-deploy'), async () => {
      const { form, xml } = await formWithFiles();
      form.append('comment', comment);
      const { status, body } = await post('/api/v1/processes', form);
      if (status !== 200 && status !== 201) { showError(body); return; }
      dirty = false;
      if (body.key === data.key) {  // further edits build on the version just deployed
        data.files[data.editing] = xml;
        $('decisions-version').textContent = body.version;
      }
      showResult(page.withChanges(msg(status === 201 ? 'deployed' : 'unchanged',
        { version: body.version }), body, msg), [], body.warnings || [],
        data.flow_url + '#v' + body.version);
      checked(body);
    });
  });

  modeler.importXML(data.files[data.editing]).then(() => {
    const table = modeler.getViews().find((v) => v.type === 'decisionTable');
    return table ? modeler.open(table) : null;
  }).then(() => {
    showTabs();
    watchActiveViewer();
    document.body.dataset.decisions = 'ready';  // the browser test waits for this
  }).catch((e) => {
    showResult(msg('failed'), [{ element: null, message: String(e.message || e) }], []);
  });
}());
