// Comparing two versions (app/templates/process_diff.html): both diagrams in the bpmn-js
// navigated viewer, the elements added marked on the new side, removed on the old, changed on
// both; a change in the list selects its element. For admins, the migration panel calls the
// API's migrate with dry_run true, or (after the dialog) for real. Every text shown comes
// from the page's #diff-messages.
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const data = JSON.parse($('diff-data').textContent);
  const msg = (name, vars) => document.querySelector(`#diff-messages [data-msg="${name}"]`)
    .textContent.replace(/\{(\w+)\}/g, (_, k) => String((vars || {})[k]));

  // -- the two diagrams --------------------------------------------------------------------------

  const viewers = {};
  const marks = {
    old: [[data.removed, 'sf-removed'], [data.changed, 'sf-changed']],
    new: [[data.added, 'sf-added'], [data.changed, 'sf-changed']],
  };

  async function show(side) {
    const viewer = new window.BpmnJS({ container: $(`diff-${side}`) });
    viewers[side] = viewer;
    await viewer.importXML(data[side]);
    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    for (const [ids, marker] of marks[side]) {
      for (const id of ids) if (registry.get(id)) canvas.addMarker(id, marker);
    }
    canvas.zoom('fit-viewport', 'auto');
  }

  // A change's element: selected and brought into view on its side (both, for a change).
  function focus(id, side) {
    const sides = side === 'both' ? ['new', 'old'] : [side];
    let shown = null;
    for (const name of sides) {
      const viewer = viewers[name];
      const element = viewer && viewer.get('elementRegistry').get(id);
      if (!element) continue;
      viewer.get('selection').select(element);
      viewer.get('canvas').scrollToElement(element);
      shown = shown || $(`diff-${name}`);
    }
    if (shown) shown.scrollIntoView({ block: 'nearest' });
  }

  for (const button of document.querySelectorAll('#diff-changes [data-element]')) {
    button.addEventListener('click', () => focus(button.dataset.element, button.dataset.side));
  }

  if (!window.BpmnJS) {
    $('diff-unbuilt').hidden = false;
  } else {
    Promise.all([show('old'), show('new')])
      .then(() => { document.body.dataset.diff = 'ready'; })  // the browser test waits for it
      .catch(() => {
        const problem = $('diff-unbuilt');
        problem.textContent = msg('failed');
        problem.hidden = false;
      });
  }

  // -- migration (admins) --------------------------------------------------------------------------

  const dryRun = $('migrate-dry-run');
  if (!dryRun) return;

  function requestLink(id) {
    return Object.assign(document.createElement('a'), {
      href: data.request_url.replace(/0$/, String(id)), textContent: msg('request', { id }),
    });
  }

  function showMigration(body) {
    const dry = body.dry_run;
    const vars = { moved: body.moved.length, refused: body.refused.length };
    $('migrate-summary').textContent = msg(dry ? 'would-move' : 'moved', vars);
    const moved = $('migrate-moved');
    moved.replaceChildren();
    for (const id of body.moved) {
      const li = document.createElement('li');
      li.className = 'moved';
      li.append(msg(dry ? 'moves' : 'moved-label') + ' ', requestLink(id));
      moved.append(li);
    }
    const refused = $('migrate-refused');
    refused.replaceChildren();
    for (const r of body.refused) {
      const li = document.createElement('li');
      li.className = 'refused';
      li.append(msg('refused') + ' ', requestLink(r.request), ': ');
      if (r.element) {
        li.append(Object.assign(document.createElement('span'),
          { className: 'mono', textContent: r.element }), ' ');
      }
      li.append(r.reason);
      refused.append(li);
    }
    $('migrate-result').className = 'diff-result ' + (body.refused.length ? 'bad' : 'good');
    if (!dry) $('migrate-running').textContent = String(body.refused.length);
  }

  async function migrate(button, dry) {
    const result = $('migrate-result');
    button.disabled = true;
    result.hidden = false;
    result.className = 'diff-result';
    $('migrate-summary').textContent = msg('working');
    $('migrate-moved').replaceChildren();
    $('migrate-refused').replaceChildren();
    try {
      const response = await fetch(data.migrate_url, {
        method: 'POST', credentials: 'same-origin',
        headers: {
          'Content-Type': 'application/json', Accept: 'application/json',
          'X-CSRFToken': document.querySelector('meta[name="csrf-token"]').content,
        },
        body: JSON.stringify({ from: data.from, to: data.to, dry_run: dry }),
      });
      let body = {};
      try { body = await response.json(); } catch (e) { body = {}; }
      if (!response.ok) {
        result.className = 'diff-result bad';
        $('migrate-summary').textContent = (body.error && body.error.message) || msg('request-failed');
        return;
      }
      showMigration(body);
    } catch (e) {
      result.className = 'diff-result bad';
      $('migrate-summary').textContent = msg('request-failed');
    } finally {
      button.disabled = false;
    }
  }

  dryRun.addEventListener('click', () => migrate(dryRun, true));
  const dialog = $('migrate-dialog');
  $('migrate-run').addEventListener('click', () => dialog.showModal());
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'migrate') migrate($('migrate-run'), false);
  });
}());
