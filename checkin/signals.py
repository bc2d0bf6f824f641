"""What other features may react to in check-in (blinker signals); the Visit is the sender.

- `visit_started(visit, session, now)`: a visit opened (a scan, a choice of children, a
  staff member's manual or walk-in check-in).
- `visit_ended(visit, session, now, method)`: a visit ended; `method` says how ("scan",
  "staff", "moved", "auto", "erased").
- `checked_in_reply(visit, session, language)`: the chat is answering a check-in; a listener
  may return lines (already in `language`) to add to the reply ("this counts for today's
  event").
"""

from __future__ import annotations

from blinker import Namespace

signals = Namespace()

visit_started = signals.signal("visit-started")
visit_ended = signals.signal("visit-ended")
checked_in_reply = signals.signal("checked-in-reply")
