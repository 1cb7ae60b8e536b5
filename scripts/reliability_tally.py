"""Run the reliability tests and write their tally into README.md's Reliability section.

    python scripts/reliability_tally.py            # runs `pytest -m reliability`, rewrites the section
    python scripts/reliability_tally.py --no-write # print the section only

The numbers are outcomes the tests asserted, never mere catches (tests/reliability.py): an input counts
as "refused" only after its test checked the specific error class and a message naming what was wrong,
and as "loaded equal" only after ganzoo's result was compared equal to a reference reader's
(safetensors, json, yaml.safe_load, an independent idx reader, PIL); a fault counts only when the
harness observed it injected (the test Hub's own record of the answer it failed/stalled/cut/held, a
kill -9 delivered while the writer was paused mid-file, ENOSPC raised by the injected writer). Each
test's counts go to its outcome (tests/conftest.py); a fault is survived only when its test passed;
data lost is the number of files found corrupt after a fault. Fault scenarios are counted once per injected
condition (not per HTTP answer), files verified once per test and only after a fault, and fuzzed inputs by
the deepest check they reached. Exits non-zero when a test failed or data was lost (the README is still
updated, so it never claims more than what ran).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- reliability:begin -->", "<!-- reliability:end -->"
COMMAND = "python scripts/reliability_tally.py"


def run_tests(extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tally.json"
        env = dict(os.environ, GANZOO_RELIABILITY_TALLY=str(out))
        cmd = [sys.executable, "-m", "pytest", "-m", "reliability", "-q", "-p", "no:cacheprovider", *extra]
        proc = subprocess.run(cmd, cwd=ROOT, env=env)
        if not out.is_file():
            sys.exit(f"reliability_tally: pytest wrote no tally (exit {proc.returncode})")
        data = json.loads(out.read_text())
    data["returncode"] = proc.returncode
    return data


REFUSED, EQUAL = "refused as expected", "loaded equal to the reference"


def _split(counts: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in sorted(counts.items()) if k.startswith(prefix)}


def _inputs(counts: dict) -> dict:
    """{format: [refused, loaded equal]}; the format is the part before " (" (safetensors, config.json, ...)."""
    out: dict = {}
    for key, n in _split(counts, "input:").items():
        fmt, _, outcome = key.rpartition(":")
        base = fmt.split(" (")[0]
        out.setdefault(base, [0, 0])[0 if outcome == REFUSED else 1] += n
    return dict(sorted(out.items(), key=lambda kv: -sum(kv[1])))


def summarise(data: dict) -> dict:
    ok, bad = data["survived"], data["not_survived"]
    faults_ok, faults_bad = _split(ok, "fault:"), _split(bad, "fault:")
    inputs_ok, inputs_bad = _inputs(ok), _inputs(bad)
    totals = data["totals"]
    return {
        "tests": data["tests"],
        "inputs_by_format": {k: [inputs_ok.get(k, [0, 0])[i] + inputs_bad.get(k, [0, 0])[i] for i in (0, 1)]
                             for k in {**inputs_ok, **inputs_bad}},
        "inputs_detail": _split(totals, "input:"),
        "inputs": sum(sum(v) for v in inputs_ok.values()) + sum(sum(v) for v in inputs_bad.values()),
        "inputs_passed": sum(sum(v) for v in inputs_ok.values()),
        "faults": sum(faults_ok.values()) + sum(faults_bad.values()),
        "faults_survived": sum(faults_ok.values()),
        "faults_by_kind": {k: (faults_ok.get(k, 0), faults_ok.get(k, 0) + faults_bad.get(k, 0))
                           for k in sorted({*faults_ok, *faults_bad})},
        "files_checked": totals.get("files_checked", 0),
        "data_lost": totals.get("files_corrupt", 0),
        "depth": _depth(totals),
    }


def _depth(counts: dict) -> dict:
    """{format: {check: n}}: how many fuzzed inputs got as far as each check (tests/reliability.reached),
    in the order the checks first appear in ORDER (then alphabetically)."""
    out: dict = {}
    for key, n in _split(counts, "depth:").items():
        fmt, _, check = key.rpartition(":")
        out.setdefault(fmt, {})[check] = n
    rank = {c: i for i, c in enumerate(ORDER)}
    return {fmt: dict(sorted(checks.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))
            for fmt, checks in sorted(out.items())}


ORDER = ["length", "JSON", "header JSON", "schema", "entries", "offsets", "names", "shapes", "dtypes", "data", "values",
         "variant config", "budget", "weights", "loaded"]


def render(s: dict, when: str) -> str:
    t = s["tests"]
    by_format = sorted(s["inputs_by_format"].items(), key=lambda kv: -sum(kv[1]))
    refused = sum(v[0] for _, v in by_format)
    equal = sum(v[1] for _, v in by_format)
    inputs = "; ".join(f"{k} {r:,}/{e:,}" for k, (r, e) in by_format)
    faults = "; ".join(f"{k} {ok:,}/{n:,}" for k, (ok, n) in s["faults_by_kind"].items()) or "none"
    depth = "; ".join(f"{fmt}: " + ", ".join(f"{c} {n:,}" for c, n in checks.items())
                      for fmt, checks in s["depth"].items()) or "none"
    lines = [
        "ganzoo reads files written by strangers and runs jobs that get killed; `pytest -m reliability` tries "
        "both and counts outcomes, not catches. A bad input counts once its test saw the specific error class "
        "and a message naming the file or key; a fuzzed file (safetensors, config.json, registry.yaml, MNIST "
        "idx, images) is also read by a reference reader (safetensors, json, yaml, an independent idx reader, "
        "PIL), and ganzoo must refuse what it rejects and load exactly what it reads; structure-aware mutations "
        "(a valid header or config.json whose offsets, dtypes, shapes, types or sizes lie) reach the deeper "
        "checks, and the tally says how far each fuzzed input got. A fault scenario (one injected condition "
        "and the retries it causes) counts only when the harness saw it injected: the test Hub's record of the "
        "answer it failed, stalled, cut or held, a `kill -9` while the writer was paused mid-file, ENOSPC from "
        "the injected writer. After a fault every file is checked, each once: complete and valid, or absent.",
        "",
        "| | |",
        "|---|---|",
        f"| reliability tests | {t.get('passed', 0)} passed, {t.get('failed', 0)} failed, {t.get('skipped', 0)} "
        f"skipped ({when}, `{COMMAND}`) |",
        f"| inputs refused as expected / loaded equal to the reference | {refused:,} / {equal:,} "
        f"({s['inputs_passed']:,} of {s['inputs']:,} in passing tests); by format: {inputs} |",
        f"| fuzzed inputs by the deepest check they reached | {depth} |",
        f"| fault scenarios observed / survived | {s['faults']:,} / {s['faults_survived']:,}; by kind "
        f"(survived/observed): {faults} |",
        f"| files verified after a fault (each once) / **data lost** | {s['files_checked']:,} / **{s['data_lost']}** |",
    ]
    return "\n".join(lines)


def write_readme(section: str) -> None:
    path = ROOT / "README.md"
    text = path.read_text(encoding="utf-8")  # read right before writing: others may edit other sections
    if BEGIN not in text or END not in text:
        sys.exit(f"reliability_tally: README.md has no {BEGIN} ... {END} section")
    new = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: f"{BEGIN}\n{section}\n{END}", text,
                 count=1, flags=re.S)
    tmp = path.with_name(".README.md.tally.tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-write", action="store_true", help="print the section, leave README.md alone")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = ap.parse_args(argv)
    data = run_tests(args.pytest_args)
    s = summarise(data)
    section = render(s, dt.date.today().isoformat())
    print(section)
    print(json.dumps(s, indent=1), file=sys.stderr)
    if not args.no_write:
        write_readme(section)
    failed = data["returncode"] != 0 or s["tests"].get("failed", 0) or s["data_lost"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
