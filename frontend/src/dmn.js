// window.GuanjiaDmn: DMN decision-table editor.
import DmnModeler from 'dmn-js/lib/Modeler';

import 'dmn-js/dist/assets/diagram-js.css';
import 'dmn-js/dist/assets/dmn-js-shared.css';
import 'dmn-js/dist/assets/dmn-js-drd.css';
import 'dmn-js/dist/assets/dmn-js-decision-table.css';
import 'dmn-js/dist/assets/dmn-js-decision-table-controls.css';
import 'dmn-js/dist/assets/dmn-js-literal-expression.css';
import 'dmn-js/dist/assets/dmn-js-boxed-expression.css';
import 'dmn-js/dist/assets/dmn-js-boxed-expression-controls.css';
import 'dmn-js/dist/assets/dmn-font/css/dmn.css';

const EMPTY_DMN = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"
    id="Definitions_1" name="Decisions" namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="Decision_1" name="Decision 1">
    <decisionTable id="DecisionTable_1" hitPolicy="FIRST">
      <input id="Input_1" label="Input">
        <inputExpression id="InputExpression_1" typeRef="string"><text></text></inputExpression>
      </input>
      <output id="Output_1" label="Output" name="output" typeRef="string" />
    </decisionTable>
  </decision>
</definitions>`;

/**
 * Open `xml` (empty → one empty decision table) in `el`, showing the first
 * decision table (the DRD or other views stay reachable through `modeler`).
 * Returns at once; `saveXML()` waits for the import; `ready` rejects on a
 * bad file.
 */
function open(el, xml) {
  const container = typeof el === 'string' ? document.querySelector(el) : el;
  if (!container) throw new Error('GuanjiaDmn: element not found: ' + el);
  const modeler = new DmnModeler({ container });
  const ready = modeler.importXML(xml && xml.trim() ? xml : EMPTY_DMN).then(async (result) => {
    const table = modeler.getViews().find((v) => v.type === 'decisionTable');
    if (table && modeler.getActiveView() !== table) {
      await modeler.open(table);
    }
    return result.warnings;
  });
  return {
    modeler,
    ready,
    /** @returns {Promise<string>} */
    saveXML() {
      return ready.then(() => modeler.saveXML({ format: true })).then((r) => r.xml);
    },
    destroy() {
      modeler.destroy();
    },
  };
}

window.GuanjiaDmn = { open };
