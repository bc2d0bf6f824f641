"""What other features may react to in check-in (blinker signals); the Visit is the sender.

- `visit_started(visit, session, now)`: a visit opened (a scan, a choice of children, a
  staff member's manual or walk-in check-in).
- `visit_ended(visit, session, now, method)`: a visit ended; `method` says how ("scan",
  "staff", "moved", "auto", "erased").
"""

from __future__ import annotations

from blinker import Namespace

signals = Namespace()

visit_started = signals.signal("visit-started")
visit_ended = signals.signal("visit-ended")
