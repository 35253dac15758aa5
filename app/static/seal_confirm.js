// The seal page's irreversible actions (void, revoke): their buttons wait until the seal's name
// is typed exactly (the form's data-confirm-name). The server checks the name again; without
// this script the buttons are simply always enabled.
for (const form of document.querySelectorAll("form[data-confirm-name]")) {
  const input = form.querySelector("input[name=confirm_name]");
  const buttons = form.querySelectorAll("button[type=submit]");
  const sync = () => {
    const typed = input.value.trim() === form.dataset.confirmName;
    for (const button of buttons) button.disabled = !typed;
  };
  input.addEventListener("input", sync);
  sync();
}
