// Properties-panel filter: the Camunda 7 provider offers much that guanjia's
// engine (SpiffWorkflow, docs/CONVENTIONS.md) does not run. This provider is
// registered with a priority below the Camunda one's (500), so it is applied
// after it, and drops those groups and entries from the panel.

/** Groups guanjia does not run (ids from bpmn-js-properties-panel). */
export const DROPPED_GROUPS = new Set([
  'CamundaPlatform__AsynchronousContinuations',
  'CamundaPlatform__JobExecution',
  'CamundaPlatform__ExecutionListener',
  'CamundaPlatform__TaskListener',
  'CamundaPlatform__ExternalTask',
  'CamundaPlatform__Errors',
  'CamundaPlatform__ConnectorInput',
  'CamundaPlatform__ConnectorOutput',
  'CamundaPlatform__Input',
  'CamundaPlatform__Output',
  'CamundaPlatform__FieldInjection',
  'CamundaPlatform__HistoryCleanup',
  'CamundaPlatform__Tasklist',
  'CamundaPlatform__CandidateStarter',
  'CamundaPlatform__FormData',
  'CamundaPlatform__StartInitiator',
  'CamundaPlatform__BusinessKey',
  'CamundaPlatform__ProcessVariables',
  'CamundaPlatform__InMappingPropagation',
  'CamundaPlatform__OutMappingPropagation',
]);

// Entries inside kept groups that are job-executor options (async
// continuations, exclusive jobs, retries) — guanjia has no job executor.
const DROPPED_ENTRY = /asynchronous|exclusive$|RetryTimeCycle|jobPriority|taskPriority/i;
// User-task entries the conventions do not name: guanjia reads assignee,
// candidateGroups/candidateUsers and dueDate, not a follow-up date or priority.
const DROPPED_ENTRY_IDS = new Set(['followUpDate', 'priority']);

const FILTER_PRIORITY = 100;

export default function GuanjiaPropertiesFilter(propertiesPanel) {
  propertiesPanel.registerProvider(FILTER_PRIORITY, this);
}

GuanjiaPropertiesFilter.$inject = ['propertiesPanel'];

GuanjiaPropertiesFilter.prototype.getGroups = function getGroups() {
  return (groups) => groups
    .filter((group) => !DROPPED_GROUPS.has(group.id))
    .map((group) => {
      if (!Array.isArray(group.entries)) return group;
      const entries = group.entries.filter((entry) => !DROPPED_ENTRY.test(entry.id || '')
        && !DROPPED_ENTRY_IDS.has(entry.id));
      return entries.length === group.entries.length ? group : { ...group, entries };
    })
    .filter((group) => !Array.isArray(group.entries) || group.entries.length > 0
      || group.component);
};

export const GuanjiaPropertiesFilterModule = {
  __init__: ['guanjiaPropertiesFilter'],
  guanjiaPropertiesFilter: ['type', GuanjiaPropertiesFilter],
};
