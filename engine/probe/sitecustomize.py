"""The in-process probe, loaded by Python children of `rlswarm-rules run`.

This directory is put first on the child's PYTHONPATH, so Python imports this
file at start-up as `sitecustomize`. It uses the standard library only (the
child may run another interpreter than ours) and:

- runs the `sitecustomize` that would otherwise have run (chains to it);
- fixes accelerate's empty data-loader crash lazily, when
  `accelerate.data_loader` is imported, and only where the installed code has
  the bug: it recompiles the installed `DataLoaderShard.__iter__` with the
  empty branch ending the epoch the way accelerate 1.9.0 does (`self.end()`,
  then return), everything else unchanged;
- reports `patched`, `heartbeat` (batches seen), `exception` and `memory`
  messages as JSON datagrams on the Unix socket named by RLSWARM_PROBE_SOCKET,
  never on the child's own output. Without that variable it only fixes.
"""

from __future__ import annotations

import ast
import atexit
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import json
import os
import socket
import sys
import textwrap
import threading
import time
import traceback
import types
from collections.abc import Callable, Sequence
from typing import Any

_SOCKET_ENV = "RLSWARM_PROBE_SOCKET"
_MAX_DATAGRAM = 2000  # macOS allows 2048 bytes per Unix datagram by default
_HEARTBEAT_EVERY = 1.0
_MEMORY_EVERY = 10.0
FIX_NAME = "accelerate-empty-dataloader"


# --- reporting -------------------------------------------------------------------------------


class _Reporter:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self._sock: socket.socket | None = None
        self._pid = -1

    def _socket(self) -> socket.socket | None:
        if self.path is None:
            return None
        if self._sock is None or self._pid != os.getpid():  # a fork gets its own socket
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._pid = os.getpid()
        return self._sock

    def send(self, event: str, important: bool = True, **fields: Any) -> None:
        try:
            sock = self._socket()
            if sock is None or self.path is None:
                return
            payload = _encode({"event": event, "pid": os.getpid(), "t": time.time(), **fields})
            sock.settimeout(0.5 if important else 0.0)
            sock.sendto(payload, self.path)
        except Exception:  # the probe must never disturb the training
            pass


def _encode(message: dict[str, Any]) -> bytes:
    data = json.dumps(message, default=str).encode("utf-8", "replace")
    while len(data) > _MAX_DATAGRAM and message.get("traceback"):
        message["traceback"] = str(message["traceback"])[len(data) - _MAX_DATAGRAM + 20 :]
        data = json.dumps(message, default=str).encode("utf-8", "replace")
    if len(data) > _MAX_DATAGRAM:
        message["message"] = str(message.get("message", ""))[:500]
        data = json.dumps(message, default=str).encode("utf-8", "replace")[:_MAX_DATAGRAM]
    return data


REPORTER = _Reporter(os.environ.get(_SOCKET_ENV))


# --- the accelerate fix ----------------------------------------------------------------------


def _is_first_fetch(node: ast.Try) -> bool:
    """`try: current_batch = next(...)`: the loader's look-ahead fetch."""
    first = node.body[0] if node.body else None
    return (
        isinstance(first, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "current_batch" for t in first.targets)
        and isinstance(first.value, ast.Call)
        and isinstance(first.value.func, ast.Name)
        and first.value.func.id == "next"
    )


def _empty_handler(func: ast.FunctionDef) -> ast.ExceptHandler | None:
    """The StopIteration handler of the look-ahead fetch, if the function has one."""
    for node in ast.walk(func):
        if isinstance(node, ast.Try) and _is_first_fetch(node):
            for handler in node.handlers:
                if isinstance(handler.type, ast.Name) and handler.type.id == "StopIteration":
                    return handler
    return None


def diagnose(func: Callable[..., Any]) -> tuple[str, ast.FunctionDef | None]:
    """'buggy', 'fixed' or 'unknown' for an installed `__iter__`, with its parsed source."""
    try:
        source = textwrap.dedent(inspect.getsource(func))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return "unknown", None
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if not defs:
        return "unknown", None
    handler = _empty_handler(defs[0])
    if handler is None:
        return "unknown", defs[0]
    ends = any(isinstance(s, (ast.Return, ast.Raise)) for s in handler.body)
    return ("fixed" if ends else "buggy"), defs[0]


def _fixed_function(func: Callable[..., Any], tree: ast.FunctionDef, module: Any) -> Any:
    handler = _empty_handler(tree)
    assert handler is not None
    end_epoch = ast.parse("self.end()\nreturn").body
    handler.body = end_epoch
    code = getattr(func, "__code__", None)
    module_ast = ast.Module(body=[tree], type_ignores=[])
    ast.fix_missing_locations(module_ast)
    if code is not None:
        ast.increment_lineno(module_ast, code.co_firstlineno - 1)
    filename = inspect.getsourcefile(func) or "<accelerate>"
    namespace: dict[str, Any] = {}
    exec(compile(module_ast, filename, "exec"), vars(module), namespace)
    fixed = namespace[tree.name]
    fixed.__qualname__ = getattr(func, "__qualname__", fixed.__qualname__)
    fixed.__doc__ = getattr(func, "__doc__", None)
    fixed.__rlswarm_fixed__ = True
    return fixed


def _library_version(name: str) -> str:
    try:
        from importlib import metadata

        return metadata.version(name)
    except Exception:
        return "unknown"


class _Beats:
    def __init__(self) -> None:
        self.batches = 0
        self._sent = 0.0

    def beat(self) -> None:
        self.batches += 1
        now = time.monotonic()
        if now - self._sent >= _HEARTBEAT_EVERY:
            self._sent = now
            REPORTER.send("heartbeat", important=False, batches=self.batches)


BEATS = _Beats()


def _count_batches(cls: type) -> None:
    original = getattr(cls, "_update_state_dict", None)
    if original is None or getattr(original, "__rlswarm_counts__", False):
        return

    def _update_state_dict(self: Any, *args: Any, **kwargs: Any) -> Any:
        BEATS.beat()
        return original(self, *args, **kwargs)

    _update_state_dict.__rlswarm_counts__ = True  # type: ignore[attr-defined]
    cls._update_state_dict = _update_state_dict  # type: ignore[attr-defined]


def patch_data_loader(module: Any) -> dict[str, Any]:
    """Apply the fix to an imported `accelerate.data_loader` if it needs it; say what was done."""
    version = _library_version("accelerate")
    report: dict[str, Any] = {"fix": FIX_NAME, "library": "accelerate", "version": version}
    cls = getattr(module, "DataLoaderShard", None)
    original = getattr(cls, "__iter__", None)
    if cls is None or original is None:
        return {**report, "applied": False, "detail": "no DataLoaderShard.__iter__ found"}
    _count_batches(cls)
    if getattr(original, "__rlswarm_fixed__", False):
        return {**report, "applied": True, "detail": "already fixed"}
    verdict, tree = diagnose(original)
    if verdict != "buggy" or tree is None:
        detail = (
            "not needed: installed code ends empty epochs"
            if verdict == "fixed"
            else ("not applied: installed code has an unknown shape")
        )
        return {**report, "applied": False, "detail": detail}
    try:
        cls.__iter__ = _fixed_function(original, tree, module)
    except Exception as exc:
        return {**report, "applied": False, "detail": f"fix failed: {type(exc).__name__}: {exc}"}
    return {**report, "applied": True, "detail": "empty data loaders now end the epoch"}


# --- the lazy import hook --------------------------------------------------------------------


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader, after: Callable[[types.ModuleType], None]):
        self.inner = inner
        self.after = after

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self.inner.exec_module(module)
        self.after(module)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds `accelerate.data_loader` through the other finders and patches it once loaded."""

    target = "accelerate.data_loader"

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.target:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _PatchingLoader(spec.loader, _after_import)
                return spec
        return None


def _after_import(module: types.ModuleType) -> None:
    try:
        REPORTER.send("patched", **patch_data_loader(module))
    except Exception:
        pass


# --- exceptions and accelerator memory ---------------------------------------------------------


def _tail(exc_type: type[BaseException], exc: BaseException, tb: Any) -> str:
    lines = traceback.format_exception(exc_type, exc, tb)
    return "".join(lines)[-1500:]


def _report_exception(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        return
    REPORTER.send(
        "exception", type=exc_type.__name__, message=str(exc), traceback=_tail(exc_type, exc, tb)
    )


_EXIT_STATUS: dict[str, int] = {}
"""This process's own exit status as far as it is known: 1 after an uncaught exception,
the status given to `sys.exit`; said at exit (`bye`), so that `run` can tell the trainer's
status from the launcher's around it. A process killed by a signal says nothing."""


def _status_of(status: object) -> int:
    """The exit status Python gives `sys.exit(status)`."""
    if status is None:
        return 0
    if isinstance(status, int) and not isinstance(status, bool):
        return status & 0xFF
    return 1  # any other object is printed, and the status is 1


def _hook_exit() -> None:
    real_exit = sys.exit

    def exiting(status: Any = None) -> None:
        _EXIT_STATUS["code"] = _status_of(status)
        real_exit(status)

    sys.exit = exiting  # type: ignore[assignment]
    atexit.register(_goodbye)


def _goodbye() -> None:
    REPORTER.send("bye", code=_EXIT_STATUS.get("code", 0))


def _hook_exceptions() -> None:
    previous = sys.excepthook

    def excepthook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        if not issubclass(exc_type, SystemExit):
            _EXIT_STATUS["code"] = 1  # what Python exits with after printing it
        _report_exception(exc_type, exc, tb)
        previous(exc_type, exc, tb)

    sys.excepthook = excepthook
    previous_thread = threading.excepthook

    def thread_hook(args: Any) -> None:
        if args.exc_type is not SystemExit:
            _report_exception(args.exc_type, args.exc_value, args.exc_traceback)
        previous_thread(args)

    threading.excepthook = thread_hook


def memory_numbers() -> dict[str, float]:
    """Accelerator memory of this process, when torch is loaded and a device is in use."""
    torch: Any = sys.modules.get("torch")
    numbers: dict[str, float] = {}
    if torch is None:
        return numbers
    try:
        if torch.cuda.is_initialized():
            used = float(torch.cuda.memory_allocated())
            total = float(torch.cuda.get_device_properties(0).total_memory)
            numbers["gpu_mem_gb"] = used / 1e9
            numbers["gpu_mem_percent"] = 100.0 * used / total if total else 0.0
        mps = getattr(torch, "mps", None)
        if mps is not None and torch.backends.mps.is_available():
            numbers["mps_mem_gb"] = float(mps.current_allocated_memory()) / 1e9
    except Exception:
        pass
    return numbers


def _watch_memory() -> None:
    while True:
        time.sleep(_MEMORY_EVERY)
        numbers = memory_numbers()
        if numbers:
            REPORTER.send("memory", important=False, **numbers)


# --- start-up --------------------------------------------------------------------------------


def _chain_previous_sitecustomize() -> None:
    """Import the `sitecustomize` that Python would have imported without us."""
    here = os.path.dirname(os.path.abspath(__file__))
    ours = sys.modules.pop("sitecustomize", None)
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    try:
        spec = importlib.util.find_spec("sitecustomize")
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
    except Exception:
        traceback.print_exc()  # as Python reports a failing sitecustomize
    finally:
        sys.path[:] = saved
        if ours is not None:
            sys.modules["sitecustomize"] = ours


def install() -> None:
    if any(isinstance(f, _Finder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _Finder())
    _hook_exceptions()
    if REPORTER.path:
        _hook_exit()
        threading.Thread(target=_watch_memory, name="rlswarm-probe-memory", daemon=True).start()


if __name__ == "sitecustomize":  # loaded by Python at start-up, not imported as engine.probe...
    _chain_previous_sitecustomize()
    install()
    REPORTER.send("hello", important=False, python=sys.version.split()[0], argv=sys.argv[:4])
