"""Waiting for a pool slot without spinning (issue 38, medium 8).

Dagster 1.13's in-process executor sleeps until a pending claim's next check by
`InstanceConcurrencyContext.interval_to_next_pending_claim_check`, which returns min(0, ...): never more
than zero, so a run waiting for a DuckDB file's pool polled in a loop at ~95% of a core (dagster-io/dagster
PR #20367 saw it; closed unmerged). The same answer, bounded the right way: the time to the next check,
at least 0 and at most MAX_WAIT_S, so a wait also notices a signal within that time.
`tests/test_supported_apis.py` pins the method this replaces: an upgrade that fixes or moves it fails there.
"""

from __future__ import annotations

import time

from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext

MAX_WAIT_S = 1.0


def _interval_to_next_pending_claim_check(self: InstanceConcurrencyContext) -> float:
    if not self._pending_claims:
        return 0.0
    now = time.time()
    return max(0.0, min([MAX_WAIT_S, *(ready_at - now for ready_at in self._pending_timeouts.values())]))


def wait_without_spinning() -> None:
    InstanceConcurrencyContext.interval_to_next_pending_claim_check = _interval_to_next_pending_claim_check  # type: ignore[method-assign]
