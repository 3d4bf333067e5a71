"""`run` and `watch`: supervising a training (or following logs) while the rules watch it.

The flow, one way: `sources/` (the child's output pump, tailed files, the probe's
socket, the sampler) post to the `pipeline`, whose one thread feeds the core and hands
notifying decisions to delivery and actions to the `supervisor`, which starts, stops
and restarts the child. `wiring` builds and attaches those parts (terminal, pipeline,
delivery, dashboard); `session` runs a whole `run` or `watch` from start to summary;
`preset` holds a launcher's answers, kept files and logs (built in: `presets/`).

May import: model, errors, vocabulary, durations, packs, match, core, logs, notify, web,
    probe
"""
