// What the studio's pages (the modeler, the decision tables) share: their messages, read from
// the page (the template holds all wording), posting a form to the API with the session's CSRF
// token, the problems of a refusal, and a button's work shown as under way.
window.SealflowPage = (function () {
  'use strict';

  // msg(name, vars): the text of #<id> [data-msg=name], {placeholders} filled from vars.
  function messages(id) {
    return (name, vars) => {
      const node = document.querySelector(`#${id} [data-msg="${name}"]`);
      return node.textContent.replace(/\{(\w+)\}/g, (_, k) => String((vars || {})[k]));
    };
  }

  async function post(url, form) {
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const response = await fetch(url, {
      method: 'POST', body: form, credentials: 'same-origin',
      headers: { 'X-CSRFToken': csrf, Accept: 'application/json' },
    });
    let body = {};
    try { body = await response.json(); } catch (e) { body = {}; }
    return { status: response.status, body };
  }

  // A refused call's problems, or one made of its message (or ``fallback``).
  function problemsOf(body, fallback) {
    const error = body.error || {};
    return error.problems && error.problems.length ? error.problems
      : [{ element: null, message: error.message || fallback }];
  }

  // busy(button, work): the page's result box (#<prefix>-summary, -problems, -result) says the
  // work is under way, the button is off until it ends, and an error is shown as a problem.
  function busy(prefix, msg, showResult) {
    const $ = (id) => document.getElementById(id);
    return async (button, work) => {
      button.disabled = true;
      $(`${prefix}-summary`).textContent = msg('working');
      $(`${prefix}-problems`).replaceChildren();
      $(`${prefix}-result`).className = 'studio-result';
      $(`${prefix}-result`).hidden = false;
      try { await work(); } catch (e) {
        showResult(msg('failed'), [{ element: null, message: String(e.message || e) }], []);
      } finally { button.disabled = false; }
    };
  }

  // The line that sums up a Validate's answer.
  function validated(body, msg) {
    return body.problems.length ? msg('invalid', { n: body.problems.length })
      : msg('valid') + (body.warnings.length ? ' · ' + msg('warnings', { n: body.warnings.length }) : '');
  }

  // The Deploy button (#<prefix>-deploy) asks for a comment in #<prefix>-deploy-dialog; once it
  // is given, deploy(comment) runs.
  function onDeploy(prefix, deploy) {
    const $ = (id) => document.getElementById(id);
    const dialog = $(`${prefix}-deploy-dialog`);
    $(`${prefix}-deploy`).addEventListener('click', () => {
      $(`${prefix}-comment`).value = '';
      dialog.showModal();
    });
    dialog.addEventListener('close', () => {
      if (dialog.returnValue === 'deploy') deploy($(`${prefix}-comment`).value);
    });
  }

  // A deploy's summary, and what changed against the previous version (the answer's
  // ``changes``): counts, the changed elements with their properties, a link to the diff page.
  function withChanges(summary, body, msg) {
    const c = body.changes;
    const node = document.createElement('span');
    node.append(summary);
    if (!c) return node;
    const count = c.added.length + c.removed.length + c.changed.length + c.decisions.length;
    const details = c.changed.map((e) => `${e.id} (${e.properties.map((p) => p.name).join(', ')})`)
      .concat(c.decisions.map((d) => d.id + ' (' + d.properties.map((p) => p.name)
        .concat(['added', 'removed', 'changed'].filter((k) => d.rules[k].length)
          .map((k) => msg('rules-' + k, { n: d.rules[k].length }))).join(', ') + ')'));
    const shown = details.slice(0, 5).join('; ') + (details.length > 5 ? '; …' : '');
    node.append(' · ', count ? msg('changes', { added: c.added.length, removed: c.removed.length,
      changed: c.changed.length, tables: c.decisions.length }) + (shown ? ': ' + shown : '')
      : msg('no-changes'), ' ');
    const link = document.createElement('a');
    link.className = 'studio-diff-link';
    link.href = `/processes/${encodeURIComponent(body.key)}/diff?from=${c.from}&to=${c.to}`;
    link.textContent = msg('compare', { from: c.from });
    node.append(link, ' ·');
    return node;
  }

  // The flow's files as a deploy's multipart form: the edited file as ``xml``, the others as
  // they came (data.files, data.editing: the page's).
  function filesForm(data, xml) {
    const form = new FormData();
    for (const [name, text] of Object.entries(data.files)) {
      const body = name === data.editing ? xml : text;
      form.append('file', new Blob([body], { type: 'application/xml' }), name);
    }
    return form;
  }

  // A Validate's or Deploy's answer, told to the saved scenarios' list (scenario_results.js);
  // {}: none.
  function checked(body) {
    document.dispatchEvent(new CustomEvent('studio:checked', { detail: body }));
  }

  // showRefusal(body): a refused Validate or Deploy, its problems and warnings in the result box.
  function refusal(msg, showResult) {
    return (body) => {
      const problems = problemsOf(body, msg('failed'));
      showResult(msg('refused'), problems.filter((p) => p.severity !== 'warning'),
        problems.filter((p) => p.severity === 'warning'));
      checked({});
    };
  }

  return { messages, post, problemsOf, busy, validated, onDeploy, filesForm, checked, refusal, withChanges };
})();
