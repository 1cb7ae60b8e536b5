"""Shared pieces of the benchmark scripts: machine/version facts, timing helpers, and writing one
section of BENCHMARKS.md between ``<!-- NAME:begin -->`` / ``<!-- NAME:end -->`` markers (so the
speed and quality scripts never erase each other's results)."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import shlex
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "BENCHMARKS.md"
HEADER = """# ganzoo benchmarks

Written by the scripts in `benchmarks/` (`speed.py`, `quality.py`); each owns one section below and
rewrites only that section. Re-run them to refresh the numbers; see the command line in each section.
Benchmarks are not timed tests: CI runs them only with `--smoke` (tiny sizes, numbers meaningless).
"""


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def loadavg() -> str:
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except (OSError, AttributeError):
        return "n/a"


def machine_info(threads: int | None = None) -> dict:
    import torch

    import ganzoo

    info = {
        "cpu": cpu_model(),
        "logical cores": os.cpu_count(),
        "torch threads": threads if threads is not None else torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "ganzoo": getattr(ganzoo, "__version__", "?"),
        "os": f"{platform.system()} {platform.release()}",
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
    }
    return info


def command_line() -> str:
    args = [Path(sys.argv[0]).as_posix()] + sys.argv[1:]
    try:
        args[0] = Path(args[0]).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        pass
    return "python " + " ".join(shlex.quote(a) for a in args)


def now() -> str:
    return _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


def median(xs) -> float:
    return float(statistics.median(xs))


def mean_std(xs) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value) of the non-missing, non-NaN ``xs``."""
    xs = [float(x) for x in xs if x is not None and x == x]
    if not xs:
        return float("nan"), float("nan")
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def fmt(x, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float) and x != x:
        return "nan"
    if isinstance(x, int):
        return str(x)
    if x == 0:
        return "0"
    mag = abs(x)
    if mag >= 1000:
        return f"{x:,.0f}"
    if mag >= 100:
        return f"{x:.0f}"
    if mag >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits}g}"


def table(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(c if isinstance(c, str) else fmt(c) for c in r) + " |")
    return "\n".join(out)


def preamble(*, title: str, threads: int | None, started: float, load_start: str, smoke: bool,
             extra: dict | None = None,
             caveat: str = "absolute numbers are pessimistic and noisy, the interleaved ratios less so") -> str:
    info = machine_info(threads)
    lines = [f"## {title}", ""]
    if smoke:
        lines += ["> **Smoke run** (`--smoke`: tiny sizes, few steps/repeats) -- it checks that the script works; "
                  "the numbers below mean nothing.", ""]
    lines += [f"- command: `{command_line()}`",
              f"- date: {now()}; wall time {time.perf_counter() - started:.0f} s",
              f"- machine: {info['cpu']}, {info['logical cores']} logical cores, torch threads {info['torch threads']}, "
              f"GPU: {info['gpu']}; {info['os']}",
              f"- versions: python {info['python']}, torch {info['torch']}, ganzoo {info['ganzoo']}",
              f"- load average (1/5/15 min) at start {load_start}, at end {loadavg()}"]
    for k, v in (extra or {}).items():
        lines.append(f"- {k}: {v}")
    try:
        first = float(load_start.split("/")[0])
        cores = os.cpu_count() or 1
        if first > 0.5 * cores or float(loadavg().split("/")[0]) > 0.5 * cores:
            lines.append(f"- **caveat**: the machine was shared (load average above half its {cores} cores "
                         f"during the run); {caveat}")
    except ValueError:
        pass
    return "\n".join(lines) + "\n"


def write_section(path, name: str, body: str) -> Path:
    """Replace the ``name`` section of the markdown file ``path`` (create the file if needed)."""
    path = Path(path)
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
