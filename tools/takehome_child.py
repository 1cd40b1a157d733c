"""Child process of ``tools.takehome``: import a user's take-home module and build its kernel.

    python tools/takehome_child.py MODULE.py HEIGHT N_NODES BATCH ROUNDS OUT.json

Standard library only, and run as a script, so the user's module sees an
interpreter close to the one it was written for: its own folder first on
``sys.path`` (it imports the ``problem`` module that lives beside it).  The
result goes to OUT.json (the module may print what it likes):

* ``{"ok": true, "instrs": [...], "scratch_map": {addr: [name, length]} | null, "notes": [...]}``
* ``{"ok": false, "kind": "bad_input", "message": "..."}``: the module is not a take-home kernel
* ``{"ok": false, "kind": "user_error", "stage": "...", "traceback": "..."}``: the user's code raised
"""

from __future__ import annotations

import importlib.util
import json
import operator
import sys
import traceback
from typing import Any

_HERE = __file__


class BadInput(Exception):
    pass


def _user_traceback(e: BaseException) -> str:
    """The traceback with this loader's and importlib's frames left out: the rest is the user's code."""
    te = traceback.TracebackException.from_exception(e)
    te.stack = traceback.StackSummary.from_list(
        [f for f in te.stack if f.filename != _HERE and not f.filename.startswith("<frozen importlib")]
    )
    return "".join(te.format())


def _plain(value: Any, where: str, depth: int = 0) -> Any:
    """JSON data from a slot: tuples become lists, integer-like numbers ints."""
    if depth > 24:
        raise BadInput(f"{where}: nests deeper than 24 levels")
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    try:
        return operator.index(value)  # numpy integers and the like
    except TypeError:
        raise BadInput(f"{where} is a {type(value).__name__} object, not a number, string or tuple") from None


def _instrs(builder: Any) -> list[dict[str, Any]]:
    if not hasattr(builder, "instrs"):
        raise BadInput("KernelBuilder has no attribute 'instrs' after build_kernel (expected a list of bundle dicts)")
    instrs = builder.instrs
    if not isinstance(instrs, (list, tuple)):
        raise BadInput(
            f"KernelBuilder.instrs is a {type(instrs).__name__}, not a list of bundle dicts {{engine: [slots]}}"
        )
    out = []
    for b, bundle in enumerate(instrs):
        if not isinstance(bundle, dict):
            raise BadInput(
                f"KernelBuilder.instrs[{b}] is a {type(bundle).__name__} ({_short(bundle)}), "
                "not a bundle dict {engine: [slots]}"
            )
        plain: dict[str, Any] = {}
        for engine, slots in bundle.items():
            if not isinstance(engine, str):
                raise BadInput(f"KernelBuilder.instrs[{b}]: engine key {_short(engine)} is not a string")
            if not isinstance(slots, (list, tuple)):
                raise BadInput(
                    f"KernelBuilder.instrs[{b}][{engine!r}] is a {type(slots).__name__}, not a list of slot tuples"
                )
            plain[engine] = _plain(slots, f"KernelBuilder.instrs[{b}][{engine!r}]")
        out.append(plain)
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _scratch_map(builder: Any, notes: list[str]) -> dict[str, list[Any]] | None:
    info_fn = getattr(builder, "debug_info", None)
    if not callable(info_fn):
        return None
    try:
        raw = getattr(info_fn(), "scratch_map", None)
    except Exception as e:  # names are a nicety: never fail the build for them
        notes.append(f"debug_info() raised {type(e).__name__}: {e}; scratch is not named")
        return None
    if not isinstance(raw, dict):
        return None
    out: dict[str, list[Any]] = {}
    for addr, entry in raw.items():
        try:
            name, length = entry
            out[str(operator.index(addr))] = [str(name), operator.index(length)]
        except (TypeError, ValueError):
            continue  # an entry we cannot read names nothing
    return out


def main(argv: list[str]) -> int:
    module_path, height, n_nodes, batch, rounds, out_path = argv
    folder = module_path.rsplit("/", 1)[0] if "/" in module_path else "."
    sys.path[0] = folder  # the script's own folder (tools/) is not the user's business
    name = module_path.rsplit("/", 1)[-1].removesuffix(".py")
    result: dict[str, Any]
    stage = f"importing {module_path}"
    try:
        spec = importlib.util.spec_from_file_location(name, module_path)
        if spec is None or spec.loader is None:
            raise BadInput(f"{module_path}: cannot be imported as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        builder_cls = getattr(module, "KernelBuilder", None)
        if builder_cls is None:
            raise BadInput(f"{module_path} defines no KernelBuilder class")
        if not callable(builder_cls):
            raise BadInput(f"{module_path}: KernelBuilder is a {type(builder_cls).__name__}, not a class")
        stage = "KernelBuilder()"
        builder = builder_cls()
        build = getattr(builder, "build_kernel", None)
        if not callable(build):
            raise BadInput(f"{module_path}: KernelBuilder has no build_kernel method")
        stage = f"KernelBuilder().build_kernel({height}, {n_nodes}, {batch}, {rounds})"
        build(int(height), int(n_nodes), int(batch), int(rounds))
        stage = "reading KernelBuilder.instrs"
        notes: list[str] = []
        result = {"ok": True, "instrs": _instrs(builder), "scratch_map": _scratch_map(builder, notes), "notes": notes}
    except BadInput as e:
        result = {"ok": False, "kind": "bad_input", "message": str(e)}
    except BaseException as e:  # the user's code: SystemExit and KeyboardInterrupt included
        result = {"ok": False, "kind": "user_error", "stage": stage, "traceback": _user_traceback(e)}
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(result, f, separators=(",", ":"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
