"""The rule author's tools: `lint`, pack tests (`packtest`), `replay` and their `report`.

Each takes packs (and logs, for replay) and returns a result object; `report` turns
results into the terminal's text and JSON. Nothing here is used by `run` or `watch`.

May import: model, errors, vocabulary, durations, packs, match, core, logs, notify
"""
