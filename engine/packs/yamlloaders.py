"""The two YAML loaders and where they part: libyaml's (fast) and PyYAML's own (the reference).

PyYAML reads a document either with its pure-Python scanner (yaml.SafeLoader) or, when it
was built with libyaml, with yaml.CSafeLoader, many times faster. Both build the
same values through the same Python resolver and constructors, but the two scanners do not
accept quite the same texts. Where libyaml would accept a text that the reference rejects or
reads differently, the text goes to the reference only. Those places, found by running both
loaders over the same documents (tests/test_yaml_loaders.py):

- a tab outside quotes: libyaml takes it as a space, PyYAML refuses it;
- a byte order mark after the first character: libyaml skips it at the start of any line;
- a block scalar header with a comment right after it ('|#'): libyaml takes the comment,
  PyYAML refuses it;
- no line break at the end: libyaml counts the end of the text as a line of its own, which
  moves an empty document ('---' alone) one line down;
- a '?' outside quotes inside a flow collection ('{...}', '[...]'): libyaml 0.2.5 reads it
  as part of a plain value, PyYAML as a key indicator or an error;
- the tag '!' on an empty value: libyaml reads it as '', PyYAML as null.

Each of these is rare in a rule pack; a text with one is read by the reference alone.
"""

from __future__ import annotations

import re
from typing import TypeAlias

import yaml

from engine.errors import Unsure

Loader: TypeAlias = "type[yaml.SafeLoader] | type[yaml.CSafeLoader]"  # a string: no CSafeLoader
PURE: Loader = yaml.SafeLoader
"""The reference: the problems users see are worded and placed as this loader finds them."""
FAST: Loader | None = getattr(yaml, "CSafeLoader", None)
"""libyaml's loader, when PyYAML was built with it (its wheels for common platforms are)."""

_DIFFERS = re.compile("\t|.\ufeff|[|>][-+0-9]*#|[^\r\n]\\Z|\\A\\Z", re.DOTALL)
_COLLECTION_START = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_COLLECTION_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def fast_may_differ(text: str) -> bool:
    """Whether `text` holds a place, found without parsing it, where the two loaders part."""
    return _DIFFERS.search(text) is not None


class Watch:
    """Follows the events of one document read by libyaml; `see` raises Unsure at the tag
    '!', and at a '?' outside quotes inside a flow collection (in a plain value, or between
    values where indicators are)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._depth = 0  # open flow collections around the next event
        self._after = 0  # where the previous event ended

    def see(self, event: yaml.Event) -> None:
        if event.start_mark is None or event.end_mark is None:
            raise Unsure("an event without a position")
        if getattr(event, "tag", None) == "!":
            raise Unsure("the tag '!'")
        start, end = event.start_mark.index, event.end_mark.index
        if self._depth:
            quoted = isinstance(event, yaml.ScalarEvent) and event.style in ("'", '"')
            if "?" in self._text[self._after : start if quoted else end]:
                raise Unsure("'?' in a flow collection")
            if isinstance(event, _COLLECTION_START):
                self._depth += 1
            elif isinstance(event, _COLLECTION_END):
                self._depth -= 1
        elif isinstance(event, _COLLECTION_START) and event.flow_style:
            self._depth = 1
        self._after = end
