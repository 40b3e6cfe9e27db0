// window.GuanjiaModeler: BPMN editor with the Camunda 7 properties panel, in
// Chinese (modeler-zh.js) and limited to what guanjia runs (modeler-filter.js).
import BpmnModeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule,
} from 'bpmn-js-properties-panel';
import CamundaPlatformBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdleDescriptor from 'camunda-bpmn-moddle/resources/camunda.json';
import { ZhTranslateModule } from './modeler-zh.js';
import { GuanjiaPropertiesFilterModule } from './modeler-filter.js';

import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import './errors.css';

const EMPTY_DIAGRAM = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="Process_1" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="Process_1">
      <bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1">
        <dc:Bounds x="180" y="160" width="36" height="36" />
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>`;

function resolve(el, what) {
  const node = typeof el === 'string' ? document.querySelector(el) : el;
  if (!node) throw new Error('GuanjiaModeler: ' + what + ' not found: ' + el);
  return node;
}

/**
 * Open `xml` (empty → a diagram with one start event) in a modeler drawn in
 * `canvasEl`, with the properties panel in `panelEl`.
 *
 * Returns at once; every method waits for the import. `ready` rejects if
 * the XML cannot be imported.
 */
function open(canvasEl, panelEl, xml) {
  const canvasNode = resolve(canvasEl, 'canvas element');
  const panelNode = resolve(panelEl, 'panel element');
  const modeler = new BpmnModeler({
    container: canvasNode,
    propertiesPanel: { parent: panelNode },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      CamundaPlatformPropertiesProviderModule,
      CamundaPlatformBehaviorsModule,
      GuanjiaPropertiesFilterModule,
      ZhTranslateModule,
    ],
    moddleExtensions: { camunda: camundaModdleDescriptor },
  });

  const ready = modeler.importXML(xml && xml.trim() ? xml : EMPTY_DIAGRAM).then((result) => {
    modeler.get('canvas').zoom('fit-viewport', 'auto');
    return result.warnings;
  });

  let highlighted = [];

  function clearHighlightsNow() {
    const canvas = modeler.get('canvas');
    const registry = modeler.get('elementRegistry');
    for (const id of highlighted) {
      if (registry.get(id)) canvas.removeMarker(id, 'gj-error');
    }
    highlighted = [];
    modeler.get('overlays').remove({ type: 'gj-error' });
  }

  return {
    modeler,
    ready,
    /** @returns {Promise<string>} the diagram as formatted BPMN XML */
    saveXML() {
      return ready.then(() => modeler.saveXML({ format: true })).then((r) => r.xml);
    },
    /** @returns {Promise<string>} the diagram as SVG */
    saveSVG() {
      return ready.then(() => modeler.saveSVG()).then((r) => r.svg);
    },
    /**
     * Mark `elementId` with `gj-error` and show `message` next to it.
     * @returns {Promise<boolean>} false if the element is not in the diagram
     */
    highlight(elementId, message) {
      return ready.then(() => {
        const registry = modeler.get('elementRegistry');
        if (!registry.get(elementId)) return false;
        modeler.get('canvas').addMarker(elementId, 'gj-error');
        highlighted.push(elementId);
        if (message) {
          const div = document.createElement('div');
          div.className = 'gj-error-overlay';
          div.textContent = message;
          modeler.get('overlays').add(elementId, 'gj-error', {
            position: { bottom: -8, left: 0 },
            html: div,
          });
        }
        return true;
      });
    },
    /** Remove every `highlight`. @returns {Promise<void>} */
    clearHighlights() {
      return ready.then(clearHighlightsNow);
    },
    /** Call `cb()` after each edit (undo/redo included). */
    onChange(cb) {
      modeler.on('commandStack.changed', () => cb());
    },
    destroy() {
      modeler.destroy();
    },
  };
}

window.GuanjiaModeler = { open };
