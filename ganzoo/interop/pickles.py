"""What a legacy (pre-zip) PyTorch checkpoint asks for, read without running it.

``torch.load`` of the legacy format (``torch.save(..., _use_new_zipfile_serialization=False)``,
the default before torch 1.6, so many old pytorch/examples checkpoints) allocates every storage at
the size its pickle declares *before* it reads the data: a 400-byte file can ask for 8 GB.
:func:`storage_bytes` walks the file's pickles with :mod:`pickletools` (which decodes opcodes and
executes nothing), follows the stack just far enough to see each storage's persistent id
``('storage', torch.FloatStorage, key, location, numel)`` and adds up the bytes they declare, so
the caller can refuse the file before ``torch.load`` sees it.
"""

from __future__ import annotations

import pickletools
from typing import BinaryIO

ELEMENT_BYTES = {
    "DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "LongStorage": 8,
    "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1,
    "ComplexFloatStorage": 8, "ComplexDoubleStorage": 16,
}
#: globals of plain containers a tensor checkpoint may name (beside torch's own)
PLAIN_GLOBALS = frozenset({"collections.OrderedDict", "_codecs.encode", "builtins.set", "builtins.frozenset",
                           "builtins.bytearray", "builtins.slice", "builtins.complex"})
LEGACY_PICKLES = 5   # magic number, protocol version, system info, the object, the storage keys

_MARK = object()


class Unpriceable(ValueError):
    """The pickle declares storages in a form that cannot be read without running it."""


def storage_bytes(fh: BinaryIO, *, pickles: int = LEGACY_PICKLES) -> tuple[int, list]:
    """(bytes, globals): the bytes the storages of the next ``pickles`` pickles in ``fh`` (a buffered
    binary file) declare, a storage's element size taken from its class name (16 when unknown), and
    the globals (``"module.name"``) they name outside torch. Raises :class:`Unpriceable` (or
    ``ValueError`` from pickletools for a malformed pickle)."""
    total, named = 0, []
    for _ in range(pickles):
        if not fh.peek(1):
            break
        total += _one(fh, named)
    return total, [g for g in named if not g.startswith("torch.") and g not in PLAIN_GLOBALS]


def _one(fh: BinaryIO, named: list) -> int:
    stack: list = []
    memo: dict = {}
    total = 0
    for op, arg, _pos in pickletools.genops(fh):
        name = op.name
        if name == "MARK":
            stack.append(_MARK)
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = _top(stack)
        elif name == "MEMOIZE":
            memo[len(memo)] = _top(stack)
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            stack.append(memo.get(arg))
        elif name == "DUP":
            stack.append(_top(stack))
        elif name in ("BINPERSID", "PERSID"):
            pid = _pop(stack) if name == "BINPERSID" else arg
            total += _storage(pid)
            stack.append(None)
        elif name == "STOP":
            break
        elif name in ("GLOBAL", "STACK_GLOBAL", "INST"):
            popped = [_pop(stack) for _ in op.stack_before if name == "STACK_GLOBAL"][::-1]
            if name == "INST":
                _pop_to_mark(stack)
            where = str(arg).replace(" ", ".") if name != "STACK_GLOBAL" else ".".join(map(str, popped))
            named.append(where)
            stack.append(("global", where.rsplit(".", 1)[-1]))
        elif "mark" in [s.name for s in op.stack_before]:
            items = _pop_to_mark(stack)
            for _ in range(op.stack_before.index(pickletools.markobject)):
                _pop(stack)
            stack.extend([tuple(items) if name == "TUPLE" else None] * len(op.stack_after))
        else:
            popped = [_pop(stack) for _ in op.stack_before][::-1]
            stack.extend([_value(name, arg, popped)] + [None] * (len(op.stack_after) - 1) if op.stack_after else [])
    return total


def _value(name: str, arg, popped: list):
    """What an opcode pushes, where it matters for a persistent id: literals, tuples and globals."""
    if name in ("TUPLE1", "TUPLE2", "TUPLE3"):
        return tuple(popped)
    if name == "EMPTY_TUPLE":
        return ()
    if isinstance(arg, (int, str, bytes)) and name not in ("PROTO", "FRAME"):
        return arg
    return None


def _storage(pid) -> int:
    if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
        raise Unpriceable("a persistent id that is not a plain storage record")
    cls, numel = pid[1], pid[4]
    if isinstance(numel, bool) or not isinstance(numel, int) or numel < 0:
        raise Unpriceable("a storage whose size is not written as a plain number")
    size = ELEMENT_BYTES.get(cls[1], 16) if isinstance(cls, tuple) and len(cls) == 2 else 16
    return numel * size


def _top(stack: list):
    if not stack:
        raise Unpriceable("stack underflow")
    return stack[-1]


def _pop(stack: list):
    if not stack or stack[-1] is _MARK:
        raise Unpriceable("stack underflow")
    return stack.pop()


def _pop_to_mark(stack: list) -> list:
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is _MARK:
            items = stack[i + 1:]
            del stack[i:]
            return items
    raise Unpriceable("no mark on the stack")
