"""The garbage collector's pauses, kept off the till's critical path.

CPython's full collection walks every object that can hold references. A server holds about
100,000 of them once its modules are imported and its database is open (SQLAlchemy's
mappers, websockets, the standard library), none of which will ever be garbage; a
full collection of them stopped the event loop or the database thread for 50-60 ms every
few seconds under load, which was most of a sale's 99th-percentile acknowledgement time
(docs/benchmarks.md). ``settle`` moves what exists after start-up into the collector's
permanent generation (``gc.freeze``): it is still freed by reference counting, it is just no
longer walked, so later collections look only at what the server made since.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect once, then exempt every surviving object from later collections.

    Call at the end of a long-running process's start-up. Cyclic garbage made before the
    call is collected first, so nothing that is already garbage is kept.
    """
    gc.collect()
    gc.freeze()
