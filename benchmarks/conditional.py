"""Conditional benchmark (issue 42.1): does ``--conditional`` with default settings draw the label
it is asked for? ganzoo's dcgan (default widths and the zoo's width 32) and mlp, each trained with and
without ``--conditional`` for the same steps, beside PyTorch-GAN's ``cgan.py`` (re-implemented below)
on the same data and steps; all scored by the project's MNIST judge.

    python benchmarks/conditional.py --mnist ../shared/data/mnist --jobs 2   # full: ~40 min on 2 CPU cores
    python benchmarks/conditional.py --smoke                                   # seconds; what CI runs (digits)
    python benchmarks/conditional.py --mnist ../shared/data/mnist --only mlp  # re-measure the mlp rows only

Numbers: ``label accuracy`` = share of samples (balanced labels) the judge classifies as the label
they were drawn for (0.1 = the label is ignored), ``fd ratio`` = Fréchet distance of judge features
to real images over the real-vs-real floor (1 = as close as real data; the zoo's bar is 2). The
results replace the ``conditional`` section of BENCHMARKS.md; with ``--only NAME`` they replace that
model's rows in it (the other rows stay, and a line says which rows were re-measured when).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

# (name, variant, conditional, config, steps); variant "cgan" is the PyTorch-GAN baseline
FULL = [
    ("dcgan", "dcgan", True, {}, 1500),
    ("dcgan", "dcgan", False, {}, 1500),
    ("dcgan width 32", "dcgan", True, {"g_width": 32, "d_width": 32, "latent_dim": 64}, 1500),
    ("dcgan width 32", "dcgan", False, {"g_width": 32, "d_width": 32, "latent_dim": 64}, 1500),
    ("mlp", "mlp", True, {}, 3000),
    ("mlp", "mlp", False, {}, 3000),
    ("PyTorch-GAN cgan.py", "cgan", True, {}, (3000, 6000)),
]
SMOKE = [
    ("dcgan", "dcgan", True, {"g_width": 8, "d_width": 8, "latent_dim": 8}, 10),
    ("mlp", "mlp", True, {"g_hidden": [32], "d_hidden": [32]}, 10),
    ("mlp", "mlp", False, {"g_hidden": [32], "d_hidden": [32]}, 10),
    ("PyTorch-GAN cgan.py", "cgan", True, {"widths": [16, 16, 16, 16], "d_width": 16}, (5, 10)),
]
GOALS = {"dcgan": 0.90, "dcgan width 32": 0.90, "mlp": 0.80}
# the same conditional runs before issue 42.1's fix (commit 591e34c: nn.Embedding's N(0, 1) class projection,
# one-hot label columns at the default init), same protocol, same machine: label accuracy, fd ratio
BEFORE = [("dcgan", 1500, "61.4%", "87.7"), ("dcgan width 32", 1500, "10.0% (stalled: grey samples)", "194"),
          ("mlp", 3000, "10.0% (one class for every label)", "169")]
# mlp --conditional before its image defaults (commit 7515ed3: the 2-D sizes, one-hot label in D), same protocol
BEFORE_IMAGE_DEFAULTS = "mlp 3,000 steps: 59.7%, fd ratio 70.3 (unconditional: 117)"
BASELINE_SOURCE = ("eriklindernoren/PyTorch-GAN implementations/cgan/cgan.py: MLP G (latent 100 + 10-d label "
                   "embedding -> 128, 256, 512, 1024 with BatchNorm(eps 0.8) and LeakyReLU 0.2 -> tanh), MLP D "
                   "(image + 10-d label embedding -> 512 x 3 with dropout 0.4 -> 1), LSGAN (MSE) loss, Adam 2e-4 "
                   "betas (0.5, 0.999), batch 64, images in [-1, 1]; G step, then D step on the same fakes")


# -- the PyTorch-GAN baseline, re-implemented from its description ----------------------------
def cgan_models(sample_shape, num_classes, latent_dim=100, widths=(128, 256, 512, 1024), d_width=512):
    import math

    import torch
    from torch import nn

    from ganzoo.interfaces import Generator

    d = math.prod(sample_shape)

    class CGANGenerator(Generator):
        def __init__(self):
            super().__init__(latent_dim, sample_shape, num_classes, output_range=(-1.0, 1.0))
            self.label_emb = nn.Embedding(num_classes, num_classes)
            layers, a = [], latent_dim + num_classes
            for i, b in enumerate(widths):
                layers += [nn.Linear(a, b)] + ([nn.BatchNorm1d(b, 0.8)] if i else []) + [nn.LeakyReLU(0.2, True)]
                a = b
            self.model = nn.Sequential(*layers, nn.Linear(a, d), nn.Tanh())

        def forward(self, z, y=None):
            return self.model(torch.cat([self.label_emb(y), z], -1)).view(z.shape[0], *sample_shape)

    class CGANDiscriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.label_embedding = nn.Embedding(num_classes, num_classes)
            w = d_width
            self.model = nn.Sequential(
                nn.Linear(num_classes + d, w), nn.LeakyReLU(0.2, True),
                nn.Linear(w, w), nn.Dropout(0.4), nn.LeakyReLU(0.2, True),
                nn.Linear(w, w), nn.Dropout(0.4), nn.LeakyReLU(0.2, True),
                nn.Linear(w, 1))

        def forward(self, x, y):
            return self.model(torch.cat([x.reshape(x.shape[0], -1), self.label_embedding(y)], -1))

    return CGANGenerator(), CGANDiscriminator()


class _Scored:
    """What the judge metric reads from a model: a generator, its shape and labels."""

    label_prior = None
    sampling: dict = {}   # no sampling options

    def __init__(self, generator):
        self.generator = generator
        self.num_classes = generator.num_classes
        self.sample_shape = tuple(generator.sample_shape)

    def draw_labels(self, n, seed):
        return None


def train_cgan(data, steps_list, seed, config):
    """Train the baseline to each of ``steps_list`` (ascending); yield (steps, generator)."""
    import torch

    torch.manual_seed(seed)
    G, D = cgan_models(tuple(data.sample_shape), data.num_classes, **config)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    mse = torch.nn.MSELoss()
    x_all, y_all = data.x * 2 - 1, data.y
    gen = torch.Generator().manual_seed(seed)
    order, pos, done = torch.randperm(len(x_all), generator=gen), 0, 0
    for target in steps_list:
        G.train()
        D.train()
        while done < target:
            if pos + 64 > len(order):  # a fresh shuffle each epoch, the last partial batch dropped
                order, pos = torch.randperm(len(x_all), generator=gen), 0
            idx = order[pos:pos + 64]
            pos += 64
            real, labels = x_all[idx], y_all[idx]
            n = len(idx)
            valid, fake = torch.ones(n, 1), torch.zeros(n, 1)
            z = torch.randn(n, G.latent_dim, generator=gen)
            gen_labels = torch.randint(0, data.num_classes, (n,), generator=gen)
            opt_g.zero_grad()
            imgs = G(z, gen_labels)
            mse(D(imgs, gen_labels), valid).backward()
            opt_g.step()
            opt_d.zero_grad()
            d_loss = (mse(D(real, labels), valid) + mse(D(imgs.detach(), gen_labels), fake)) / 2
            d_loss.backward()
            opt_d.step()
            done += 1
        G.eval()
        yield done, G


# -- one job -----------------------------------------------------------------------------------
def score(model, data, draws):
    from ganzoo.metrics.suite import judge_metric, shared_cache

    import torch

    with shared_cache(), torch.no_grad():
        m = judge_metric(model, data, draws=draws)
    return {"label_accuracy": m.get("label_accuracy"), "fd_ratio": m["fd_ratio"], "fd": m["fd"],
            "classes": m["classes"]}


def run_one(job: dict) -> list[dict]:
    import torch

    torch.set_num_threads(job["threads"])
    import ganzoo
    from ganzoo.data import load_dataset

    data = load_dataset(job["data"])
    name, variant, cond, config, steps = job["run"]
    t0 = time.perf_counter()
    out = []
    if variant == "cgan":
        for done, G in train_cgan(data, list(steps), job["seed"], config):
            out.append(dict(name=name, variant=variant, conditional=cond, steps=done,
                            seconds=time.perf_counter() - t0, **score(_Scored(G), data, job["draws"])))
        return out
    with tempfile.TemporaryDirectory(prefix="ganzoo-conditional-") as d:
        model = ganzoo.train(variant, data=data, out=Path(d) / "run", steps=steps, conditional=cond, seed=job["seed"],
                             device="cpu", progress=False, log_every=max(1, min(500, steps)), sample_every=steps,
                             checkpoint_every=steps, config=dict(config))
        seconds = time.perf_counter() - t0
        model.eval()
        out.append(dict(name=name, variant=variant, conditional=cond, steps=steps, seconds=seconds,
                        **score(model, data, job["draws"])))
    return out


# -- report ------------------------------------------------------------------------------------
def report(results: list[dict], smoke: bool) -> str:
    rows = []
    for r in results:
        acc = r["label_accuracy"]
        goal = GOALS.get(r["name"]) if r["conditional"] and r["variant"] != "cgan" else None
        uncond = [u for u in results if u["name"] == r["name"] and not u["conditional"] and u["steps"] == r["steps"]]
        fd_ok = "" if not (goal and uncond) else ("yes" if r["fd_ratio"] <= uncond[0]["fd_ratio"] else "no")
        met = "" if goal is None else ("yes" if acc is not None and acc >= goal else "no")
        rows.append([f"**ganzoo {r['name']}**" if r["variant"] != "cgan" else r["name"],
                     "yes" if r["conditional"] else "no", f"{r['steps']:,}",
                     "–" if acc is None else f"{100 * acc:.1f}%", r["fd_ratio"], f"{r['classes']}",
                     "" if goal is None else f"{100 * goal:.0f}%: {met}", fd_ok, f"{r['seconds']:.0f}"])
    out = common.table(["model", "conditional", "steps", "label accuracy", "fd ratio", "classes",
                        "label goal met", "fd <= unconditional", "train s"], rows)
    if smoke:
        return out
    before = "; ".join(f"{name} {steps:,} steps: {acc}, fd ratio {fd}" for name, steps, acc, fd in BEFORE)
    return out + ("\n\nThe cgan baseline's seconds are cumulative (6,000 includes scoring at 3,000). Before the "
                  f"fix (commit 591e34c, the same conditional runs, judge and machine; label accuracy of 2,000 "
                  f"samples): {before}. Before the mlp's image defaults (commit 7515ed3): {BEFORE_IMAGE_DEFAULTS}.")


def _model_cell(row: str) -> str:
    """The model name of a markdown table row ("| **ganzoo mlp** | yes | ..." -> "mlp")."""
    cell = row.strip().strip("|").split("|")[0].strip().strip("*")
    return cell[len("ganzoo "):] if cell.startswith("ganzoo ") else cell


def merge_rows(old_section: str, new_table: str, names: set, note: str) -> str:
    """``old_section`` with its table rows of the models ``names`` replaced by ``new_table``'s (in place)
    and ``note`` added to its list of facts (replacing an older note about the same or fewer rows)."""
    fresh = [ln for ln in new_table.splitlines()[2:] if ln.startswith("|")]
    out, placed = [], False
    for ln in old_section.splitlines():
        if ln.startswith("- re-measured (rows: ") and set(ln.split("rows: ")[1].split(")")[0].split(", ")) <= names:
            continue
        if ln.startswith("|") and _model_cell(ln) in names:
            if not placed:
                out += fresh
                placed = True
            continue
        out.append(ln)
    table = [i for i, ln in enumerate(out) if ln.startswith("|")]
    if not placed:  # the rows were not there: append them to the table
        out[table[-1] + 1:table[-1] + 1] = fresh
    first = table[0] - 1 if table[0] and not out[table[0] - 1].strip() else table[0]
    out.insert(first, note)
    return "\n".join(out)


def existing_section(path, name: str):
    """The body of section ``name`` of the markdown file ``path``, or None."""
    p = Path(path)
    text = p.read_text(encoding="utf-8") if p.exists() else ""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in text or end not in text:
        return None
    return text.split(begin, 1)[1].split(end, 1)[0].strip("\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--smoke", action="store_true", help="tiny models, a few steps, on digits (for CI)")
    p.add_argument("--mnist", default=None, help="folder with the MNIST files (t10k-*.gz); not needed with --smoke")
    p.add_argument("--output", default=str(common.DEFAULT_OUTPUT), help="markdown file to update")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--draws", type=int, default=None, help="judge draws per score (default 5; smoke 1)")
    p.add_argument("--jobs", type=int, default=1, help="parallel training processes (one thread each)")
    p.add_argument("--only", action="append", default=None, metavar="NAME",
                   help="re-measure only this model's rows (dcgan, 'dcgan width 32', mlp or cgan; repeatable): "
                        "they replace their rows in the existing section, the other rows stay")
    args = p.parse_args(argv)
    if args.smoke:
        data, runs, draws = "digits", SMOKE, args.draws or 1
    else:
        if not args.mnist:
            p.error("--mnist DIR is needed (the folder holding t10k-images-idx3-ubyte.gz), or --smoke")
        data, runs, draws = f"mnist:{args.mnist}", FULL, args.draws or 5
    only = None
    if args.only:
        known = {r[0] if r[1] != "cgan" else "cgan" for r in runs}
        unknown = [n for n in args.only if n not in known]
        if unknown:
            p.error(f"--only {unknown[0]!r}: not a row of this benchmark; use one of {', '.join(sorted(known))}")
        only = set(args.only)
        runs = [r for r in runs if (r[0] if r[1] != "cgan" else "cgan") in only]
    threads = 1 if args.jobs > 1 else max(1, os.cpu_count() or 1)
    started, load0 = time.perf_counter(), common.loadavg()
    jobs = [dict(run=r, data=data, seed=args.seed, draws=draws, threads=threads) for r in runs]
    results = []
    if args.jobs > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs, mp_context=mp.get_context("spawn")) as ex:
            for rs in ex.map(run_one, jobs):
                results += rs
                for r in rs:
                    print(f"[conditional] {r}", file=sys.stderr, flush=True)
    else:
        for job in jobs:
            rs = run_one(job)
            results += rs
            for r in rs:
                print(f"[conditional] {r}", file=sys.stderr, flush=True)
    head = common.preamble(
        title="Conditional: does `--conditional` draw the label? (MNIST, default settings)" if not args.smoke
        else "Conditional: does `--conditional` draw the label?", threads=threads, started=started,
        load_start=load0, smoke=args.smoke,
        caveat="only the seconds per run suffer; label accuracy and fd ratio do not depend on the load",
        extra={"data": f"`{data}` (the MNIST test split, 10,000 images)" if not args.smoke else f"`{data}`",
               "protocol": "ganzoo runs: `ganzoo.train(variant, conditional=..., steps=...)` with every other "
                           "setting at its default (the command `ganzoo train dcgan --conditional --data mnist:DIR "
                           "--steps 1500`, width 32: `--set g_width=32 --set d_width=32 --set latent_dim=64`); "
                           f"scored by the judge metric (`ganzoo.metrics`, {draws} draw(s)): label accuracy = "
                           "share of balanced-label samples the judge classifies as their label, fd ratio = "
                           "judge Fréchet distance / real-vs-real floor; seed " + str(args.seed),
               "baseline": BASELINE_SOURCE + "; its published-style numbers (LeNet judge): 60% at 3,000 "
                           "steps, 82% at 6,000 (issue 42)",
               "goals": "dcgan >= 90% label accuracy at 1,500 steps at both widths, mlp >= 80% at 3,000; "
                        "fd ratio no worse than the unconditional run of the same length"})
    body = head + "\n" + report(results, args.smoke)
    previous = existing_section(args.output, "conditional") if only else None
    if previous is not None:
        names = {r[0] for r in runs}
        note = (f"- re-measured (rows: {', '.join(sorted(names))}): {common.now()} by `{common.command_line()}` "
                f"(wall time {time.perf_counter() - started:.0f} s, torch threads {threads}, load average at start "
                f"{load0}, at end {common.loadavg()}); the other rows are from the run above")
        if "mlp" in names:
            note += f". Before the mlp's image defaults (commit 7515ed3): {BEFORE_IMAGE_DEFAULTS}"
        body = merge_rows(previous, report(results, True), names, note)
    path = common.write_section(args.output, "conditional", body)
    print(f"wrote the conditional section of {path}")


if __name__ == "__main__":
    main()
