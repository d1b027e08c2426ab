"""Write: plan each user's changes against Graph and send them.

- ``listing``: reads a user's existing skills;
- ``planner``: compares them with the rows (create, PATCH changed fields, delete, unchanged);
- ``dispatcher``: sends the plans through ``$batch`` with retries and throttling;
- ``outcomes``: turns answers into row outcomes; ``guards``: the safety stops;
- ``preflight``: the ``check`` command's probes.
"""

from importer.write.dispatcher import Dispatcher, DispatchResult, ProgressState
from importer.write.planner import Mode, UserPlan, plan_user_changes
from importer.write.preflight import CheckReport, CheckResult, run_checks

__all__ = [
    "CheckReport",
    "CheckResult",
    "DispatchResult",
    "Dispatcher",
    "Mode",
    "ProgressState",
    "UserPlan",
    "plan_user_changes",
    "run_checks",
]
