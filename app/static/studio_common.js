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

  return { messages, post, problemsOf, busy, validated, onDeploy };
})();
