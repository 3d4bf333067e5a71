"""The pure evaluation core: observations in, decisions (each with its reason) out.

`Engine` is a small facade over one part per rule kind, looked up in a registry
(`engine.core.parts`), the cooldown gates and silences shared by all kinds, and the
timers that make `for`, `absent`, `repeat` and digests come due. Time arrives on the
observations: nothing here reads a clock, the environment or a file, starts a thread
or loads a native library. The matcher comes in as a parameter (the pure-Python one
by default).

May import: model, errors, vocabulary, durations, packs, match.matcher
Never imports: os, sys, time, threading, socket, subprocess, pathlib, sqlite3, random,
    hyperscan, numpy
"""
