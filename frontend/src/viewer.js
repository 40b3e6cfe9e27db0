// window.GuanjiaViewer: read-only BPMN diagram with state markers.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';

import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css';
import './markers.css';

const MARKERS = { done: 'gj-done', active: 'gj-active', overdue: 'gj-overdue' };

function resolveContainer(container) {
  const el = typeof container === 'string' ? document.querySelector(container) : container;
  if (!el) {
    throw new Error('GuanjiaViewer: container not found: ' + container);
  }
  return el;
}

/**
 * Import `xml` into `container` (element or selector), fit the viewport and
 * mark elements. Replaces any diagram shown earlier in the same container.
 *
 * @param {Element|string} container
 * @param {string} xml
 * @param {{done?: string[], active?: string[], overdue?: string[]}} [markers]
 * @returns {Promise<{viewer, warnings: any[], missing: string[],
 *   setMarkers(markers): string[], destroy(): void}>}
 */
async function show(container, xml, markers) {
  const el = resolveContainer(container);
  if (el.__guanjiaViewer) {
    el.__guanjiaViewer.destroy();
    el.__guanjiaViewer = null;
  }
  const viewer = new NavigatedViewer({ container: el });
  const { warnings } = await viewer.importXML(xml);
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  canvas.zoom('fit-viewport', 'auto');

  let marked = [];

  function clearMarkers() {
    for (const [id, cls] of marked) {
      if (registry.get(id)) canvas.removeMarker(id, cls);
    }
    marked = [];
  }

  // Returns the ids that are not in the diagram.
  function setMarkers(m) {
    clearMarkers();
    const missing = [];
    for (const [key, cls] of Object.entries(MARKERS)) {
      for (const id of (m && m[key]) || []) {
        if (registry.get(id)) {
          canvas.addMarker(id, cls);
          marked.push([id, cls]);
        } else {
          missing.push(id);
        }
      }
    }
    return missing;
  }

  const missing = setMarkers(markers);
  const handle = {
    viewer,
    warnings,
    missing,
    setMarkers,
    clearMarkers,
    fit() { canvas.zoom('fit-viewport', 'auto'); },
    destroy() { viewer.destroy(); },
  };
  el.__guanjiaViewer = handle;
  return handle;
}

window.GuanjiaViewer = { show, MARKERS };
