"""The Tailer on real files: rotation, copy-truncate, deletion, late files, partial lines."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.supervise.sources.tail import Tailer


class Collector:
    """The on_chunk callback: remembers every (source, bytes) chunk in arrival order."""

    def __init__(self) -> None:
        self.chunks: list[tuple[str, bytes]] = []
        self.ended: list[str] = []  # sources whose stream ended (an empty chunk marks it)

    def __call__(self, source: str, t: float, data: bytes) -> None:
        assert isinstance(t, float)
        if not data:
            self.ended.append(source)
            return
        self.chunks.append((source, data))

    def take(self) -> bytes:
        """Everything received since the last take, all sources together."""
        data = b"".join(d for _, d in self.chunks)
        self.chunks.clear()
        return data

    def take_by_source(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for source, data in self.chunks:
            out[source] = out.get(source, b"") + data
        self.chunks.clear()
        return out


def tailer(*patterns: str | Path, interval: float = 0.2) -> tuple[Tailer, Collector]:
    got = Collector()
    return Tailer([str(p) for p in patterns], got, lambda: 1.0, interval), got


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def copy_truncate(path: Path, copy: Path) -> None:
    shutil.copyfile(path, copy)
    with open(path, "r+b") as f:
        f.truncate(0)


# --- starting ---------------------------------------------------------------------------------


def test_existing_file_is_read_from_its_end(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"old 1\nold 2\nold partial")
    t, got = tailer(log)
    t.poll()
    assert got.take() == b""
    append(log, b" more\nnew 1\n")
    t.poll()
    assert got.chunks == [(str(log), b" more\nnew 1\n")]
    got.take()
    t.poll()
    assert got.take() == b""


def test_existing_files_matched_by_a_glob_are_read_from_their_end(tmp_path: Path) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_bytes(b"old a\n")
    b.write_bytes(b"old b\n")
    (tmp_path / "c.txt").write_bytes(b"not matched\n")
    t, got = tailer(tmp_path / "*.log")
    append(a, b"new a\n")
    append(b, b"new b\n")
    append(tmp_path / "c.txt", b"still not matched\n")
    t.poll()
    assert got.take_by_source() == {str(a): b"new a\n", str(b): b"new b\n"}


def test_small_appends_and_partial_lines_arrive_exactly(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"")
    t, got = tailer(log)
    pieces = [b"ep", b"och 1 lo", b"ss=0.5\n", b"\r", b"\n", b"x", b"\xe2\x82", b"\xac\n"]
    for piece in pieces:
        append(log, piece)
        t.poll()
        assert got.take() == piece
    t.poll()
    assert got.take() == b""


def test_several_appends_between_polls_are_read_once(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"")
    t, got = tailer(log)
    for i in range(100):
        append(log, b"line %d\n" % i)
    t.poll()
    t.poll()
    assert got.take() == b"".join(b"line %d\n" % i for i in range(100))


def test_large_append_is_read_completely(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"")
    t, got = tailer(log)
    big = os.urandom(3 * (1 << 20) + 123)
    append(log, big)
    t.poll()
    assert got.take() == big


# --- files appearing later ------------------------------------------------------------------


def test_glob_matches_a_file_created_later_read_from_its_start(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    t, got = tailer(logs / "*.log")  # the folder does not exist yet either
    t.poll()
    assert got.take() == b""
    logs.mkdir()
    (logs / "train.log").write_bytes(b"first\nsecond\n")
    (logs / "train.txt").write_bytes(b"not matched\n")
    t.poll()
    assert got.chunks == [(str(logs / "train.log"), b"first\nsecond\n")]
    got.take()
    append(logs / "train.log", b"third\n")
    t.poll()
    assert got.take() == b"third\n"


def test_plain_path_created_later_is_read_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    t, got = tailer(log)
    t.poll()
    log.write_bytes(b"hello\n")
    t.poll()
    assert got.take() == b"hello\n"


def test_a_directory_matching_the_glob_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "dir.log").mkdir()
    t, got = tailer(tmp_path / "*.log")
    t.poll()
    assert got.take() == b""


# --- rotation -------------------------------------------------------------------------------


def test_rename_and_create_rotation(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"before start\n")
    t, got = tailer(tmp_path / "*.log")
    append(log, b"one\n")
    t.poll()
    assert got.take() == b"one\n"
    append(log, b"two\n")  # not yet read when the file is rotated
    log.rename(tmp_path / "run.log.1")
    append(tmp_path / "run.log.1", b"three (writer still on the old file)\n")
    log.write_bytes(b"four (new file)\n")
    t.poll()
    assert got.chunks == [
        (str(log), b"two\nthree (writer still on the old file)\n"),
        (str(log), b"four (new file)\n"),
    ]
    got.take()
    append(log, b"five\n")
    append(tmp_path / "run.log.1", b"late write to the rotated file\n")
    t.poll()
    t.poll()
    assert got.take() == b"five\n"


def test_rotation_with_a_gap_before_the_new_file(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"old\n")
    t, got = tailer(log)
    append(log, b"last of old\n")
    os.rename(log, tmp_path / "run.log.1")
    t.poll()  # the name is gone for now
    assert got.take() == b"last of old\n"
    t.poll()
    log.write_bytes(b"first of new\n")
    t.poll()
    assert got.take() == b"first of new\n"


def test_repeated_rotations(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"old\n")
    t, got = tailer(tmp_path / "*.log")
    expected = b""
    for n in range(1, 6):
        line = b"generation %d\n" % n
        append(log, line)
        expected += line
        os.rename(log, tmp_path / f"run.log.{n}")
        log.write_bytes(b"")
        t.poll()
    t.poll()
    assert got.take() == expected


def test_copy_truncate(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"old old old\n")
    t, got = tailer(log)
    append(log, b"one that is long enough\n")
    t.poll()
    assert got.take() == b"one that is long enough\n"
    copy_truncate(log, tmp_path / "run.log.1")
    append(log, b"two\n")  # shorter than what was read: the shrink is visible
    t.poll()
    assert got.take() == b"two\n"
    append(log, b"three\n")
    t.poll()
    assert got.take() == b"three\n"


def test_copy_truncate_seen_while_empty(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"old\n")
    t, got = tailer(log)
    append(log, b"one\n")
    t.poll()
    copy_truncate(log, tmp_path / "run.log.1")
    t.poll()
    assert got.take() == b"one\n"
    append(log, b"a much longer line after the truncation\n")
    t.poll()
    assert got.take() == b"a much longer line after the truncation\n"


def test_truncate_of_a_file_that_existed_at_start(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"x" * 1000 + b"\n")
    t, got = tailer(log)
    copy_truncate(log, tmp_path / "copy")
    append(log, b"after\n")
    t.poll()
    assert got.take() == b"after\n"


# --- deletion -------------------------------------------------------------------------------


def test_deleted_file_is_drained_then_dropped(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"old\n")
    t, got = tailer(log)
    append(log, b"written before deletion\n")
    log.unlink()
    t.poll()
    assert got.take() == b"written before deletion\n"
    assert t._files == {}
    t.poll()
    assert got.take() == b""
    log.write_bytes(b"recreated\n")
    t.poll()
    assert got.take() == b"recreated\n"


def test_deleted_and_recreated_between_polls(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"old\n")
    t, got = tailer(log)
    append(log, b"gone soon\n")
    log.unlink()
    log.write_bytes(b"new file\n")
    t.poll()
    assert got.take() == b"gone soon\nnew file\n"


def test_unreadable_new_file_is_skipped_without_error(tmp_path: Path) -> None:
    t, got = tailer(tmp_path / "*.log")
    dangling = tmp_path / "dangling.log"
    dangling.symlink_to(tmp_path / "missing")
    t.poll()
    assert got.take() == b""


def test_new_file_on_the_inode_of_a_deleted_one_is_read_from_its_start(tmp_path: Path) -> None:
    """Hypothesis found this: rotate, write, delete, write, rotate, write lost the last write.

    The deleted file's inode number came back for the file created by the second rotation,
    and the offset remembered for it skipped the new file's first line.
    """
    log = tmp_path / "run.log"
    log.write_bytes(b"old\n")
    t, got = tailer(tmp_path / "*.log")
    os.rename(log, tmp_path / "run.log.1")
    log.write_bytes(b"")
    append(log, b"line 2\n")
    t.poll()
    log.unlink()
    append(log, b"line 4\n")
    t.poll()
    os.rename(log, tmp_path / "run.log.5")
    log.write_bytes(b"")
    append(log, b"line 6\n")
    t.poll()
    t.poll()
    assert got.take() == b"line 2\nline 4\nline 6\n"


def test_a_rotated_file_that_comes_back_is_read_on_from_where_it_was(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"old\n")
    t, got = tailer(tmp_path / "*.log")
    append(log, b"one\n")
    t.poll()
    os.rename(log, tmp_path / "parked")
    t.poll()
    append(tmp_path / "parked", b"two\n")
    os.rename(tmp_path / "parked", log)
    t.poll()
    assert got.take() == b"one\ntwo\n"


# --- never read twice (property) ------------------------------------------------------------

OPS = st.lists(
    st.sampled_from(["write", "piece", "poll", "rotate", "late", "truncate", "delete"]),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ops=OPS)
def test_every_new_byte_exactly_once_and_no_old_byte(ops: list[str]) -> None:
    """A writer that writes, rotates, copy-truncates and deletes; the tail sees each byte once.

    Constraints where any follower by name must lose data are respected: the tail has
    caught up before a copy-truncate and looks before the file grows back past its
    offset, and it has looked at a file before that file is renamed or deleted.
    """
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        log = folder / "run.log"
        log.write_bytes(b"OLD line that must never be read\n" * 3)
        t, got = tailer(folder / "*.log")
        expected = b""
        rotated: Path | None = None
        seen = True

        def write(data: bytes, path: Path = log) -> None:
            nonlocal expected, seen
            if not path.exists():
                seen = False  # a file the tail has not looked at yet
            append(path, data)
            expected += data

        for counter, op in enumerate(ops, start=1):
            if op == "write":
                write(b"line %d\n" % counter)
            elif op == "piece":
                write(b"p%d " % counter)
            elif op == "poll":
                t.poll()
                seen = True
                rotated = None
            elif op == "rotate" and log.exists():
                if not seen:
                    t.poll()
                rotated = folder / f"run.log.{counter}"
                os.rename(log, rotated)
                log.write_bytes(b"")
                seen = False
            elif op == "late" and rotated is not None:
                # the writer has not reopened yet: it still appends to the renamed file, and
                # what it writes there comes before anything in the new file
                if log.stat().st_size == 0:
                    write(b"late %d\n" % counter, rotated)
            elif op == "truncate" and log.exists():
                t.poll()
                copy_truncate(log, folder / f"copy.{counter}")
                t.poll()
                seen = True
                rotated = None
            elif op == "delete" and log.exists():
                if not seen:
                    t.poll()
                log.unlink()
                seen = False
                rotated = None
        t.poll()
        t.poll()
        received = got.take()
        for source, _ in got.chunks:
            assert source == str(log)
        assert b"OLD" not in received
        assert received == expected


# --- the thread -----------------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_start_and_stop_threads(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "run.log"
    log.write_bytes(b"old\n")
    t, got = tailer(logs / "*.log", interval=0.02)
    t.start()
    try:
        append(log, b"one\n")
        assert wait_for(lambda: b"".join(d for _, d in got.chunks) == b"one\n")
        os.rename(log, logs / "run.log.1")
        log.write_bytes(b"two\n")
        (logs / "other.log").write_bytes(b"three\n")
        assert wait_for(lambda: len(b"".join(d for _, d in got.chunks)) == 14)
        append(log, b"four, just before stop\n")
    finally:
        t.stop()
    assert t._thread is not None and not t._thread.is_alive()
    assert all(f.handle.closed for f in t._files.values())
    by_source = got.take_by_source()
    assert by_source == {
        str(log): b"one\ntwo\nfour, just before stop\n",
        str(logs / "other.log"): b"three\n",
    }


# --- bugs -----------------------------------------------------------------------------------


def test_rotated_name_matching_the_glob_is_not_read_again(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_bytes(b"old\n")
    t, got = tailer(tmp_path / "*")
    append(log, b"one\n")
    t.poll()
    assert got.take() == b"one\n"
    os.rename(log, tmp_path / "run.log.1")
    log.write_bytes(b"two\n")
    t.poll()
    assert got.take() == b"two\n"
