"""Matching: a block of lines and the rules' patterns in, the (line, pattern, match) hits out.

`matcher.Matcher` is the contract: pure Python, it tries every pattern on every line
(`naive_scan` is the reference). `prefilter.accelerated` builds the same matcher with a
hyperscan prefilter that names the few (line, pattern) pairs worth trying; it loads
the native library and keeps compiled databases in a cache directory (`cache`), so
only callers outside the core build it and hand it in.

May import: model, errors, packs
"""
