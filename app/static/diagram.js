// The request's diagram on the request and task pages (app/templates/_diagram.html): the flow
// in the bpmn-js navigated viewer, the finished elements and where the request is now marked.
// Every text shown comes from the page (names of elements come from the flow itself).
(function () {
  'use strict';

  const card = document.getElementById('flow-diagram');
  if (!card) return;
  const box = card.querySelector('.diagram-canvas');
  const now = card.querySelector('[data-now]');
  const msg = (name) => card.querySelector(`.diagram-messages [data-msg="${name}"]`).textContent;

  function fail(name) {
    const problem = card.querySelector('.diagram-problem');
    problem.textContent = msg(name);
    problem.hidden = false;
    now.textContent = '—';
    card.dataset.diagram = 'failed';
  }

  if (!window.BpmnJS) {
    fail('unbuilt');
    return;
  }

  const viewer = new window.BpmnJS({ container: box });
  const canvas = viewer.get('canvas');
  const fit = () => canvas.zoom('fit-viewport', 'auto');
  const zooms = {
    in: () => canvas.zoom(canvas.zoom() * 1.25, 'auto'),
    out: () => canvas.zoom(canvas.zoom() / 1.25, 'auto'),
    fit,
  };
  for (const button of card.querySelectorAll('[data-zoom]')) {
    button.addEventListener('click', () => zooms[button.dataset.zoom]());
  }
  // A phone's browser resizes the window as its address bar comes and goes: only a change of
  // width fits the diagram again (and undoes the reader's zoom).
  let width = box.clientWidth;
  window.addEventListener('resize', () => {
    if (box.clientWidth === width) return;
    width = box.clientWidth;
    canvas.resized();
    fit();
  });

  // On a narrow screen the canvas is wider than its box, which scrolls: bring the current
  // position into view rather than the flow's start.
  function showInBox(element) {
    const scroller = card.querySelector('.diagram-box');
    const shape = canvas.getGraphics(element).getBoundingClientRect();
    const view = scroller.getBoundingClientRect();
    scroller.scrollLeft += shape.left - view.left - (view.width - shape.width) / 2;
  }

  async function show(data) {
    await viewer.importXML(data.xml);
    const registry = viewer.get('elementRegistry');
    const mark = (ids, marker) => ids.filter((id) => registry.get(id))
      .map((id) => { canvas.addMarker(id, marker); return registry.get(id); });
    mark(data.done, 'sf-done');
    const current = mark(data.current, 'sf-current');
    now.textContent = current.length
      ? current.map((el) => el.businessObject.name || el.id).join(' · ')
      : msg('nowhere');
    fit();
    if (current.length) showInBox(current[0]);
    card.dataset.diagram = 'ready';
  }

  fetch(card.dataset.url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then((resp) => {
      if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
      return resp.json();
    })
    .then(show)
    .catch(() => fail('failed'));
}());
