"""iCalendar for confsched: invites (iTIP) and subscribable feeds.

``entries``  what the calendar knows of a session (the series plus its moved/cancelled sittings)
             and which feeds it belongs to;
``text``     the Vietnamese words around an event (location, description, rooms by area);
``ics``      the bytes, built with icalendar: one event block per session, invites, feed documents;
``cache``    serialized event blocks and whole feed bodies kept until a change touches them.
"""
