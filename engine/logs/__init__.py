"""Reading logs: bytes to timed lines the core can take.

Owns splitting bytes into lines (`lines`: lenient decoding, `\\r` segments, ANSI
stripping, the line cap), opening saved logs (`logfile`: plain, gzip, stdin), telling
the time of each line from its stamps (`timestamps`, with the bulk reader `stampvec`)
and replay's fast path (`skim`: raw blocks scanned by the matcher's prefilter, only the
candidate lines decoded, handed on as the core's `SparseBlock`).

May import: model, errors, match, core.sparse
"""
