// The request page (app/templates/request.html) while the request is under way: ask the API for
// its status every few seconds (data-every: 3 s while it waits for its seal, authorized or
// halted; 15 s while it waits for approvers) and reload the page when it changes, so that the
// sealed document's download appears without the user reloading. It rests while the page is
// hidden, and stops after an hour.
const watch = document.getElementById('request-watch');
if (watch) {
  const url = watch.dataset.url;
  const was = watch.dataset.status;
  const every = Number(watch.dataset.every || 3000);
  const until = Date.now() + 60 * 60 * 1000;
  let timer = null;

  const check = async () => {
    timer = null;
    try {
      const answer = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
      if (answer.ok) {
        const body = await answer.json();
        if (body.status !== was) {
          window.location.reload();
          return;
        }
      }
    } catch (_problem) {
      // offline for a moment: the next look tries again
    }
    schedule();
  };

  const schedule = () => {
    if (timer === null && !document.hidden && Date.now() < until) {
      timer = window.setTimeout(check, every);
    }
  };

  document.addEventListener('visibilitychange', () => {
    if (document.hidden && timer !== null) {
      window.clearTimeout(timer);
      timer = null;
    } else {
      schedule();
    }
  });
  schedule();
}
