"""Why the non-saturating loss exists, in numbers: the generator's gradient with respect to the
discriminator's logit s = logit D(G(z)), for the minimax loss log(1 - D(G(z))) and the
non-saturating loss -log D(G(z)), computed with ganzoo's own objective plugins.

    python benchmarks/saturation.py            # prints a markdown table

Early in training D rejects fakes (D(G(z)) -> 0): the minimax gradient vanishes, the
non-saturating one does not (Goodfellow et al. 2014, section 3).
"""

import torch

import ganzoo


def gradients(p: float) -> tuple[float, float]:
    s0 = torch.logit(torch.tensor([p], dtype=torch.float64))
    out = []
    for name in ("minimax", "non-saturating"):
        s = s0.clone().requires_grad_(True)
        ganzoo.objective(name).g_loss(s).backward()
        out.append(s.grad.item())
    return out[0], out[1]


def table() -> str:
    rows = ["| D(G(z)) | minimax dL/ds | non-saturating dL/ds | ratio |", "|---:|---:|---:|---:|"]
    for p in (1e-4, 1e-3, 1e-2, 0.1, 0.5, 0.9, 0.99):
        mm, ns = gradients(p)
        rows.append(f"| {p:g} | {mm:.2e} | {ns:.2e} | {abs(ns / mm):.3g}x |" if abs(mm) > 0 else f"| {p:g} | 0 | {ns:.2e} | inf |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
