// window.GuanjiaFormEditor: form-js schema editor.
import { FormEditor } from '@bpmn-io/form-js';

import '@bpmn-io/form-js/dist/assets/form-js.css';
import '@bpmn-io/form-js/dist/assets/form-js-editor.css';
import '@bpmn-io/form-js/dist/assets/properties-panel.css';
import '@bpmn-io/form-js/dist/assets/flatpickr/light.css';

const EMPTY_SCHEMA = { type: 'default', components: [] };

/**
 * Open `schemaJson` (a JSON string or an object; empty → a blank form) in
 * `el`. Returns at once; `ready` resolves after the import (rejects on a
 * bad schema). `getSchema()` returns the current schema object.
 */
function open(el, schemaJson) {
  const container = typeof el === 'string' ? document.querySelector(el) : el;
  if (!container) throw new Error('GuanjiaFormEditor: element not found: ' + el);
  let schema = schemaJson;
  if (typeof schema === 'string') schema = schema.trim() ? JSON.parse(schema) : null;
  if (!schema) schema = EMPTY_SCHEMA;

  const editor = new FormEditor({ container });
  const ready = editor.importSchema(schema).then((r) => r.warnings);
  return {
    editor,
    ready,
    /** @returns {object} the schema as currently edited */
    getSchema() {
      return editor.saveSchema();
    },
    /** Call `cb()` after each edit. */
    onChange(cb) {
      editor.on('changed', () => cb());
    },
    destroy() {
      editor.destroy();
    },
  };
}

window.GuanjiaFormEditor = { open };
