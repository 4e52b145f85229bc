"""Agentless monitoring of hardware codecs through their own management APIs.

A codec room cannot run ``confsched-agent``, so the scheduler polls the codec: a driver
(:mod:`.cisco` for Cisco RoomOS/CE xAPI, :mod:`.poly` for Poly G7500/Group Series REST) fetches
the device's status and parses it, in pure functions, into a :class:`~.status.CodecStatus`;
:func:`~.status.observation` turns that into the same ``Observation`` an agent's report becomes,
so the same judge, store and views follow. Credentials come from the data directory's secrets
file (:mod:`.secrets`), never from the fleet file or the store. :mod:`.poller` is the runtime
component that polls every codec each report interval.
"""
