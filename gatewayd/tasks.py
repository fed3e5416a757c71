"""Ending helper tasks without losing a cancel aimed at the task that ends them.

`task.cancel()` then `with suppress(CancelledError): await task` swallows two different
cancels alike: the helper's own (wanted) and one aimed at the waiting task itself, when that
one arrives while it waits or in the same loop iteration as the helper ends. The waiting task
then carries on as if nobody had asked it to stop (a stop that never ends, a radio loop that
keeps reading). `cancel_and_wait` keeps the two apart.
"""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(*tasks: asyncio.Future[Any]) -> None:
    """Cancel `tasks` and wait until every one of them has ended.

    A task ending cancelled is what was asked for and is not an error. A cancel of the task
    that waits here is never swallowed: it raises CancelledError out of this call (the tasks
    have been cancelled, but may not have ended yet). An exception a task ended with is
    raised once all have ended (the first one, in the order given)."""
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    # asyncio.wait neither raises a task's own cancel nor cancels the tasks if the waiter is
    # cancelled; a cancel of the waiter comes out of it as CancelledError, even when it meets
    # the last task's end in the same loop iteration.
    await asyncio.wait(tasks)
    errors = [task.exception() for task in tasks if not task.cancelled()]  # all retrieved
    for error in errors:
        if error is not None:
            raise error
