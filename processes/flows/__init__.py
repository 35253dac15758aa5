"""The flow engine: loading BPMN (``bpmn``, ``bpmn_checks``, ``safe_xml``) and DMN (``dmn``,
``dmn_xml``, ``feel``), the safe expression language and its budget, the SpiffWorkflow adaptation
(``spiff``, ``spiff_state``, ``timer_events``), running instances (``engine``), deployed
definitions and business types (``definitions``), and the flow's graph with the deploy-time path
checks (``graph``, ``approval_paths``). It knows nothing of requests or seals.

May import: the modules directly in ``processes/``.
"""
