// Case page: draw the process diagram with done / active / overdue markers.
(function () {
  const el = document.getElementById('diagram');
  const data = JSON.parse(document.getElementById('diagram-data').textContent);
  const note = document.getElementById('diagram-note');
  function none() {
    el.hidden = true; note.hidden = false; el.dataset.state = 'none';
    const legend = el.parentElement.querySelector('.legend');
    if (legend) legend.hidden = true;
  }
  if (!data.xml || data.xml.indexOf('BPMNDiagram') < 0 || !window.GuanjiaViewer) { none(); return; }
  window.GuanjiaViewer.show(el, data.xml, {done: data.done, active: data.active, overdue: data.overdue})
    .then(function (handle) { el.dataset.state = 'ready'; window.caseDiagram = handle; })
    .catch(function (err) { console.warn('diagram', err); none(); });
})();
