"""The engines: generic machinery that knows nothing about runs.

Each module here works for any machine that declares its statuses, table, value classes
and wire schema (the run's declarations are the top-level ``runstate._*`` modules; the
response's are ``runstate.responses``):

``errors``
    The error family's root and generic kinds (:class:`~runstate.Error`,
    :class:`~runstate.InvalidRun`, :class:`~runstate.APIError`...).
``frozen``, ``jsonio``, ``jsonvalue``
    Read-only JSON containers; the JSON front end (text in); the JSON value rules
    (normalise, freeze, scan, thaw).
``schema``, ``values``, ``codegen``, ``copying``, ``serde``
    The schema engine (kinds, the registry, the explain walker), what makes an attrs
    class a wire value, the generated parse/dump functions and copiers, and the parse,
    dump and cattrs front of them.
``templates``, ``sse``
    The real API's request-validation messages; the event-stream reader.
``table``, ``invariants``, ``diagram``
    Transition tables (structure, lookups), presence checks, diagrams.

No module here imports a machine's declarations (``tests/test_engines.py`` checks it).
"""
