"""Baseline: the raw SpiffWorkflow lifecycle of the employer change process, in memory, nothing of ours
around it: start, save, reload, complete the center's task, save. ``python -m bench.raw_spiff N``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from .harness import self_peak_mb

BPMN = Path(__file__).resolve().parent.parent / "services" / "workflow" / "processes" / "employer_change.bpmn"


def main() -> None:
    count = int(sys.argv[1])
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(BPMN))
    spec, subprocesses = parser.get_spec("employer_change"), parser.get_subprocess_specs("employer_change")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    size = 0
    started = time.perf_counter()
    for _ in range(count):
        workflow = BpmnWorkflow(spec, subprocesses)
        workflow.do_engine_steps()
        workflow = serializer.deserialize_json(serializer.serialize_json(workflow))
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        task.set_data(approved=True, decision="approve")
        task.run()
        workflow.do_engine_steps()
        state = serializer.serialize_json(workflow)
        assert workflow.is_completed()
        size = len(state.encode("utf-8"))
    elapsed = time.perf_counter() - started
    print(json.dumps({"per_second": count / elapsed, "state_bytes": size, "peak_mb": self_peak_mb()}))


if __name__ == "__main__":
    main()
