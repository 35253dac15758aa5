// The modeler page (app/templates/process_edit.html): bpmn-js with the Camunda properties panel
// (the FlowModeler bundle built from web/), Validate and Deploy through the API. Every text
// shown comes from the page's #studio-messages, so that the template holds all wording.
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const data = JSON.parse($('studio-data').textContent);
  const PROBLEM = 'sf-problem';
  const WARNING = 'sf-warning';
  const PATH = 'sf-path';
  const SEAL_PATH = 'sf-seal-path';  // a path past an approval a seal's policy demands

  const page = window.SealflowPage;
  const msg = page.messages('studio-messages');

  if (!window.FlowModeler) {
    $('studio-unbuilt').hidden = false;
    return;
  }

  const modeler = window.FlowModeler.createModeler($('studio-canvas'), $('studio-properties'));
  const canvas = modeler.get('canvas');
  const registry = modeler.get('elementRegistry');
  let marked = [];
  let dirty = false;

  modeler.on('commandStack.changed', () => { dirty = true; });

  // On a phone the diagram is read only (studio.css takes the taps off its elements): the
  // keyboard's shortcuts (select all, delete, paste, undo...) never reach the canvas either.
  const phone = window.matchMedia('(max-width: 700px)');
  $('studio-canvas').addEventListener('keydown', (event) => {
    if (phone.matches) event.stopPropagation();
  }, true);
  window.addEventListener('beforeunload', (event) => {
    if (dirty) { event.preventDefault(); event.returnValue = msg('unsaved'); }
  });

  function clearMarkers() {
    for (const [id, marker] of marked) {
      if (registry.get(id)) canvas.removeMarker(id, marker);
    }
    marked = [];
  }

  function markElement(id, marker) {
    if (!id || !registry.get(id)) return false;
    canvas.addMarker(id, marker);
    marked.push([id, marker]);
    return true;
  }

  // A path past every approval (approval_paths.py gives its elements), or past an approval a
  // seal demands (seals/policy.py, in its own colour): the elements and the sequence flows
  // between them, drawn so the designer sees where a request slips through.
  function markPath(ids, marker) {
    for (let i = 0; i < ids.length; i++) {
      markElement(ids[i], marker);
      if (i === 0) continue;
      for (const flow of registry.filter((e) => e.type === 'bpmn:SequenceFlow'
          && e.source && e.target && e.source.id === ids[i - 1] && e.target.id === ids[i])) {
        markElement(flow.id, marker);
      }
    }
  }

  // One list item per problem or warning, its element marked; a click selects the element.
  function showResult(summary, problems, warnings, link) {
    clearMarkers();
    const list = $('studio-problems');
    list.replaceChildren();
    const entries = problems.map((p) => [p, PROBLEM]).concat(warnings.map((w) => [w, WARNING]));
    for (const [item, marker] of entries) {
      if (Array.isArray(item.path)) markPath(item.path, item.seal ? SEAL_PATH : PATH);
      const li = document.createElement('li');
      li.className = marker;
      const label = document.createElement('strong');
      label.textContent = msg(marker === PROBLEM ? 'problem' : 'warning') + ' ';
      li.append(label);
      if (markElement(item.element, marker)) {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'link mono';
        button.textContent = item.element;
        button.addEventListener('click', () => {
          modeler.get('selection').select(registry.get(item.element));
          canvas.scrollToElement(registry.get(item.element));
        });
        li.append(button, ' ');
      } else if (item.element) {
        li.append(Object.assign(document.createElement('span'),
          { className: 'mono', textContent: item.element + ' ' }));
      }
      li.append(item.message);
      list.append(li);
    }
    const summaryNode = $('studio-summary');
    summaryNode.replaceChildren(summary);
    if (link) {
      const a = Object.assign(document.createElement('a'), { href: link, textContent: msg('open') });
      summaryNode.append(' ', a);
    }
    $('studio-result').hidden = false;
    $('studio-result').className = 'studio-result ' + (problems.length ? 'bad' : 'good');
  }

  // The edited XML as the file it came from, the flow's other files (DMN tables) unchanged.
  async function formWithFiles() {
    const { xml } = await modeler.saveXML({ format: true });
    return page.filesForm(data, xml);
  }

  const post = page.post;
  const checked = page.checked;
  const showError = page.refusal(msg, (...args) => showResult(...args));

  const busy = page.busy('studio', msg, (...args) => showResult(...args));

  // The dry-run panel (dry_run.js) posts the same files and marks the same diagram.
  window.SealflowStudio = { modeler, formWithFiles, post };

  $('studio-validate').addEventListener('click', () => busy($('studio-validate'), async () => {
    const { status, body } = await post('/api/v1/processes/validate', await formWithFiles());
    if (status !== 200) { showError(body); return; }
    showResult(page.validated(body, msg), body.problems, body.warnings);
    checked(body);
  }));

  page.onDeploy('studio', (comment) => {
    busy($('studio-deploy'), async () => {
      const form = await formWithFiles();
      form.append('comment', comment);
      const { status, body } = await post('/api/v1/processes', form);
      if (status !== 200 && status !== 201) { showError(body); return; }
      dirty = false;
      if (status === 201 && $('studio-version') && body.key === data.key) {
        $('studio-version').textContent = body.version;  // the editor now holds that version
      }
      const link = data.edit_url.replace('KEY', encodeURIComponent(body.key)) + '?version=' + body.version;
      showResult(page.withChanges(msg(status === 201 ? 'deployed' : 'unchanged',
        { version: body.version }), body, msg), [], body.warnings || [], link);
      checked(body);
    });
  });

  modeler.importXML(data.files[data.editing]).then(() => {
    canvas.zoom('fit-viewport');
    // The whole diagram in view, clear of the palette over the canvas's left edge.
    const palette = document.querySelector('.djs-palette');
    const room = palette ? palette.getBoundingClientRect().right
      - $('studio-canvas').getBoundingClientRect().left + 10 : 0;
    const width = $('studio-canvas').clientWidth;
    if (room > 0 && width > room * 2) {
      canvas.zoom(canvas.zoom() * (width - room) / width, { x: width, y: 0 });
    }
    document.body.dataset.modeler = 'ready';  // the browser test waits for this
    document.dispatchEvent(new CustomEvent('studio:imported'));
  }).catch((e) => {
    showResult(msg('failed'), [{ element: null, message: String(e.message || e) }], []);
  });
}());
