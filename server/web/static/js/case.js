// Case page: draw the process diagram with done / active / overdue markers; zoom buttons,
// fit to the steps now open, and open an approval item's called process (its sub-process).
(function () {
  const el = document.getElementById('diagram');
  const data = JSON.parse(document.getElementById('diagram-data').textContent);
  const note = document.getElementById('diagram-note');
  const tools = document.getElementById('diagram-tools');
  const title = document.getElementById('diagram-title');
  const sub = data.sub || {xml: {}, items: []};
  let current = null;
  function none() {
    el.hidden = true; note.hidden = false; el.dataset.state = 'none';
    const legend = el.parentElement.querySelector('.legend');
    if (legend) legend.hidden = true;
    if (tools) tools.hidden = true;
  }
  // Fit the view to the open (and overdue) steps with some room around; readable, not 0.2.
  function fitActive(markers) {
    const canvas = current.viewer.get('canvas');
    const registry = current.viewer.get('elementRegistry');
    const ids = (markers.active || []).concat(markers.overdue || []);
    const shapes = ids.map(function (id) { return registry.get(id); }).filter(Boolean);
    if (!shapes.length) { canvas.zoom('fit-viewport', 'auto'); return; }
    let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
    shapes.forEach(function (s) {
      x1 = Math.min(x1, s.x); y1 = Math.min(y1, s.y);
      x2 = Math.max(x2, s.x + (s.width || 0)); y2 = Math.max(y2, s.y + (s.height || 0));
    });
    const pad = 160;
    const box = {x: x1 - pad, y: y1 - pad, width: x2 - x1 + 2 * pad, height: y2 - y1 + 2 * pad};
    const size = canvas.getSize();
    const scale = Math.min(size.width / box.width, size.height / box.height, 1);
    // Keep labels readable: never below 0.6 when showing the open steps.
    const zoom = Math.max(scale, 0.6);
    const w = size.width / zoom, h = size.height / zoom;
    canvas.viewbox({x: (x1 + x2) / 2 - w / 2, y: (y1 + y2) / 2 - h / 2, width: w, height: h});
  }
  function draw(xml, markers, label) {
    return window.GuanjiaViewer.show(el, xml, markers).then(function (handle) {
      current = handle; window.caseDiagram = handle;
      fitActive(markers);
      el.dataset.state = 'ready';
      el.dataset.showing = label || 'main';
      if (title) title.textContent = label && label !== 'main' ? label : '';
      if (tools) tools.hidden = false;
      return handle;
    });
  }
  if (!data.xml || data.xml.indexOf('BPMNDiagram') < 0 || !window.GuanjiaViewer) { none(); return; }
  const main = {done: data.done, active: data.active, overdue: data.overdue};
  draw(data.xml, main, 'main').catch(function (err) { console.warn('diagram', err); none(); });
  if (!tools) return;
  tools.addEventListener('click', function (ev) {
    const b = ev.target.closest('button[data-zoom]');
    if (!b || !current) return;
    const canvas = current.viewer.get('canvas');
    const how = b.dataset.zoom;
    if (how === 'in') canvas.zoom(canvas.zoom() * 1.25, 'auto');
    else if (how === 'out') canvas.zoom(canvas.zoom() / 1.25, 'auto');
    else if (how === 'all') canvas.zoom('fit-viewport', 'auto');
    else fitActive(el.dataset.showing === 'main' ? main : (picked() || main));
    el.dataset.zoom = String(Math.round(canvas.zoom() * 100) / 100);
  });
  const picker = document.getElementById('sub-picker');
  const select = document.getElementById('sub-select');
  function picked() { return select.value === '' ? null : sub.items[Number(select.value)] || null; }
  if (picker && select && sub.items.length) {
    sub.items.forEach(function (item, i) {
      const opt = document.createElement('option');
      opt.value = String(i);
      opt.textContent = item.name;
      select.appendChild(opt);
    });
    picker.hidden = false;
    select.addEventListener('change', function () {
      const item = picked();
      if (!item) { draw(data.xml, main, 'main'); return; }
      draw(sub.xml[item.process], item, item.call_name + ' · ' + item.name)
        .catch(function (err) { console.warn('sub-process', err); });
    });
    // A double click on the call activity opens the first item's sub-process.
    el.addEventListener('dblclick', function (ev) {
      const node = ev.target.closest('[data-element-id]');
      if (!node || el.dataset.showing !== 'main') return;
      const i = sub.items.findIndex(function (s) { return s.call === node.dataset.elementId; });
      if (i >= 0) { select.value = String(i); select.dispatchEvent(new Event('change')); }
    });
  }
})();
