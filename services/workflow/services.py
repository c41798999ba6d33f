"""The workflow service's entry points, by concern (each module stays small):

- ``definitions``: shipped defaults, deploy from the designer with its checks and audit, versions;
- ``usertasks``: the center inbox, claim/release/reassign, complete (approve, reject, return);
- ``instances``: start on submission, resubmission, 结束流程 and terminate, the monitor's list;
- ``paths``: the path on the diagram and the steps table;
- ``engine``: SpiffWorkflow behind a small interface; ``store``: what they share.
"""

from __future__ import annotations

from .definitions import PROCESS_DIR, deploy_defaults, install, latest_definition
from .instances import resubmit_process, start_process

__all__ = ["PROCESS_DIR", "deploy_defaults", "install", "latest_definition", "resubmit_process", "start_process"]
