// The modeler bundle: bpmn-js with the Camunda 7 properties panel, its behaviors and moddle
// (global FlowModeler). Sealflow's own page code is in app/static/studio.js.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule,
} from 'bpmn-js-properties-panel';
import CamundaPlatformBehaviors from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import HideRefusedModule from './hide-refused.js';

export function createModeler(canvas, properties) {
  return new BpmnModeler({
    container: canvas,
    propertiesPanel: { parent: properties },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      CamundaPlatformPropertiesProviderModule,
      CamundaPlatformBehaviors,
      HideRefusedModule,
    ],
    moddleExtensions: { camunda: camundaModdle },
  });
}
