// The inbox (app/templates/inbox.html): "select all on this page" for the bulk approval, and
// a confirmation naming how many tasks it approves. The page works without it: the form posts
// the ticked tasks as it is. Every text comes from the page (data- attributes, translated).

const form = document.getElementById('bulk-form');
if (form) {
  const boxes = () => [...document.querySelectorAll('input[name="task"][form="bulk-form"]')];
  const all = document.getElementById('pick-all');
  if (all) {
    all.closest('label').hidden = false;
    all.addEventListener('change', () => {
      for (const box of boxes()) box.checked = all.checked;
    });
    for (const box of boxes()) {
      box.addEventListener('change', () => {
        all.checked = boxes().every((b) => b.checked);
      });
    }
  }
  form.addEventListener('submit', (event) => {
    const picked = boxes().filter((b) => b.checked).length;
    if (picked === 0) {
      event.preventDefault();
      window.alert(form.dataset.none);
      return;
    }
    if (!window.confirm(form.dataset.confirm.replace('{n}', String(picked)))) {
      event.preventDefault();
    }
  });
}
