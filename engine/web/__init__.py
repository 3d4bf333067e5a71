"""The live dashboard: a status model fed by the pipeline, served with /metrics by aiohttp.

See docs/dashboard.md. `engine.web.dashboard` is the one entry point the wiring uses.

May import: model, errors, vocabulary, durations, packs, core, notify
"""
