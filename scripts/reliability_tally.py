"""Run the reliability tests and write their tally into README.md's Reliability section.

    python scripts/reliability_tally.py            # runs `pytest -m reliability`, rewrites the section
    python scripts/reliability_tally.py --no-write # print the section only

The numbers come from what actually ran: tests/reliability.py counts each attack input fed to ganzoo
(every hypothesis example executed, every explicit bad-input case rejected), each fault injected
(kill -9, ENOSPC, Hub 5xx/stall/cut-off/held transfer, concurrent pulls, broken plugins, ...) and
each file verified after a fault; tests/conftest.py attributes them to the outcome of their test
and writes the totals to $GANZOO_RELIABILITY_TALLY. A fault counts as survived only when its test
passed; data lost is the number of files found corrupt after a fault. Exits non-zero when a test
failed or data was lost (the README is still updated, so it never claims more than what ran).
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


def _split(counts: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in sorted(counts.items()) if k.startswith(prefix)}


def summarise(data: dict) -> dict:
    ok, bad = data["survived"], data["not_survived"]
    inputs_ok, inputs_bad = _split(ok, "input:"), _split(bad, "input:")
    faults_ok, faults_bad = _split(ok, "fault:"), _split(bad, "fault:")
    totals = data["totals"]
    return {
        "tests": data["tests"],
        "inputs": sum(inputs_ok.values()) + sum(inputs_bad.values()),
        "inputs_handled": sum(inputs_ok.values()),
        "inputs_by_kind": {k: inputs_ok.get(k, 0) + inputs_bad.get(k, 0) for k in sorted({*inputs_ok, *inputs_bad})},
        "faults": sum(faults_ok.values()) + sum(faults_bad.values()),
        "faults_survived": sum(faults_ok.values()),
        "faults_by_kind": {k: (faults_ok.get(k, 0), faults_ok.get(k, 0) + faults_bad.get(k, 0))
                           for k in sorted({*faults_ok, *faults_bad})},
        "files_checked": totals.get("files_checked", 0),
        "data_lost": totals.get("files_corrupt", 0),
    }


def render(s: dict, when: str) -> str:
    t = s["tests"]
    inputs = "; ".join(f"{k} {v:,}" for k, v in s["inputs_by_kind"].items())
    faults = "; ".join(f"{k} {ok:,}/{n:,}" for k, (ok, n) in s["faults_by_kind"].items()) or "none"
    lines = [
        "ganzoo reads files written by strangers and runs jobs that get killed, so its attack and fault "
        "tests (`pytest -m reliability`) try both and count what they did. Attack inputs are hypothesis "
        "examples (safetensors bytes and headers, registry.yaml, config.json, MNIST idx files, images) "
        "and explicit hostile cases (pickles, path traversal, tampered downloads, YAML bombs, bad "
        "shapes/dtypes/NaNs); each must load or fail with one ganzoo error line. Faults are injected "
        "for real: `kill -9` mid-training, mid-save, mid-download and mid-upload, ENOSPC at each step "
        "of a checkpoint, Hub 5xx/stalls/cut-offs, two processes pulling at once, broken plugins. "
        "After each fault every file is checked: complete and valid, or absent.",
        "",
        "| | |",
        "|---|---|",
        f"| run | {when}, `{COMMAND}` |",
        f"| reliability tests | {t.get('passed', 0)} passed, {t.get('failed', 0)} failed, {t.get('skipped', 0)} skipped |",
        f"| attack / bad inputs tried | {s['inputs']:,} ({s['inputs_handled']:,} handled cleanly) |",
        f"| faults injected / survived | {s['faults']:,} / {s['faults_survived']:,} |",
        f"| files verified after faults | {s['files_checked']:,} |",
        f"| **data lost** | **{s['data_lost']}** |",
        "",
        f"Inputs by kind: {inputs}.",
        "",
        f"Faults by kind (survived/injected): {faults}.",
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
