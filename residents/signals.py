"""What other features may react to in the residents feature (blinker signals).

Every signal is sent with the Resident as sender. A listener connects in its own feature's
`setup` (see checkin/feature.py); the residents feature does not know its listeners.

- `resident_registered(resident, session, guardian, now, ctx)`: a resident registered or
  joined a partner's household. `ctx` is the chat's EventContext (None outside the chat); a
  listener may return a list of LINE messages, sent after the registration's own answer.
- `registration_erasing(resident, session, household)`: the resident's personal data is
  about to be erased; `household` is set when they are its last guardian, so a listener
  erases what it keeps about the household too.
- `profile_changed(resident, session, guardian, changed)`: items of the guardian's or a
  child's data changed; `changed` names them ("guardian.phone", "child.birth_date", ...).
- `my_data_shown(resident, session, guardian, ctx)`: the chat is showing "My data"; a listener
  may return `(lines, buttons)`: lines (translated) for what it keeps, and `(label,
  PostbackData)` buttons for the choices it offers (events: suggestions after a visit).
"""

from __future__ import annotations

from blinker import Namespace

signals = Namespace()

resident_registered = signals.signal("resident-registered")
registration_erasing = signals.signal("registration-erasing")
profile_changed = signals.signal("profile-changed")
my_data_shown = signals.signal("my-data-shown")
