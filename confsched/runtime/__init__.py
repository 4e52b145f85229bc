"""The composition root: the one place that assembles a running scheduler.

``root.build`` makes every runtime component from explicit imports into a typed, frozen
:class:`~confsched.runtime.components.Components`; ``root.run_server`` starts them in the order
of ``Components.in_start_order()``, watches the store for changes, and stops them in reverse.

Layering: the runtime may import every package; nothing imports the runtime but the entry
points (``confsched.cli``, ``confsched.demo``) and tests. Adapters get what they need passed in
by the root (never by looking it up), and take the shared change-watching
:class:`confsched.server.ServerContext`, which sits below them.

Adding a runtime component (a codec poller, a mailer, …):

1. Write a class in your own module (your adapter package, or ``confsched/runtime/`` when it
   only glues others together) with ``async def start(self) -> None`` and
   ``async def stop(self) -> None``; take what it needs in ``__init__`` (the ``ServerContext``,
   other components), never look anything up. ``start`` returns once it is running (background
   work goes in tasks it owns); ``stop`` undoes it and must not raise for a half-started
   component. Listen for store changes with ``ctx.on_change(callback)`` in ``start``.
2. Add a field typed with your class to ``Components`` (``components.py``) and put it in
   ``in_start_order()`` after the components it uses.
3. Construct it in ``root.build``; tests reach it as ``server.your_field`` (the ``server``
   fixture is the ``Components``).
"""
