"""The loops the speed benchmarks time: plain-PyTorch reference training steps written here (the
pytorch/examples DCGAN, an MLP GAN, the hinge step of the ResNet and SAGAN references), ganzoo's engine
stepped as ``Trainer.fit`` steps it, the interleaved timer, the FLOP count, the same-maths check, and the
model rows of issue 46's architectures (shared by the CPU table in ``speed.py`` and the GPU table in
``speed_gpu.py``)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

# -- reference loops (plain PyTorch, written here) ------------------------------------------------
def ref_dcgan(nc: int, size: int, nz: int, ngf: int, ndf: int):
    """pytorch/examples dcgan/main.py's Generator and Discriminator (64x64: exactly theirs; other sizes
    the same pattern with fewer/more doublings), with its weights_init."""
    k = {8: 1, 16: 2, 32: 3, 64: 4, 128: 5}[size]
    g_ch = [ngf * 2 ** (k - 1 - i) for i in range(k)]
    g: list[nn.Module] = [nn.ConvTranspose2d(nz, g_ch[0], 4, 1, 0, bias=False), nn.BatchNorm2d(g_ch[0]), nn.ReLU(True)]
    for a, b in zip(g_ch[:-1], g_ch[1:]):
        g += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
    g += [nn.ConvTranspose2d(g_ch[-1], nc, 4, 2, 1, bias=False), nn.Tanh()]
    d_ch = [ndf * 2**i for i in range(k)]
    d: list[nn.Module] = [nn.Conv2d(nc, d_ch[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
    for a, b in zip(d_ch[:-1], d_ch[1:]):
        d += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2, inplace=True)]
    d += [nn.Conv2d(d_ch[-1], 1, 4, 1, 0, bias=False), nn.Sigmoid()]
    G, D = nn.Sequential(*g), nn.Sequential(*d)

    def weights_init(m):
        name = m.__class__.__name__
        if name.find("Conv") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif name.find("BatchNorm") != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    G.apply(weights_init)
    D.apply(weights_init)
    return G, D


def ref_mlp(d: int, nz: int, hidden: list[int]):
    g: list[nn.Module] = []
    for a, b in zip([nz] + hidden, hidden):
        g += [nn.Linear(a, b), nn.ReLU(True)]
    g += [nn.Linear(hidden[-1], d), nn.Tanh()]
    dd: list[nn.Module] = []
    for a, b in zip([d] + hidden, hidden):
        dd += [nn.Linear(a, b), nn.LeakyReLU(0.2, True)]
    dd += [nn.Linear(hidden[-1], 1)]
    return nn.Sequential(*g), nn.Sequential(*dd)


class RefLoop:
    """pytorch/examples DCGAN's training step: D on real (label 1), D on G(z).detach() (label 0),
    optimizerD.step(); then G through D(fake) with label 1, optimizerG.step(). ``probs`` selects
    BCELoss on a Sigmoid output (the DCGAN example) or BCEWithLogitsLoss (the MLP reference);
    ``hinge=True`` the hinge loss instead (SNGAN's and SAGAN's: D relu(1 - D(x)) + relu(1 + D(G(z))), G -D(G(z)),
    the ResNet rows), with z of shape (batch, nz) and the given Adam settings."""

    def __init__(self, G, D, *, nz: int, batch: int, data: torch.Tensor, conv: bool, probs: bool,
                 device: str = "cpu", hinge: bool = False, g_lr: float = 2e-4,
                 d_lr: float = 2e-4, betas=(0.5, 0.999)):
        self.dev = torch.device(device)
        G, D = G.to(self.dev), D.to(self.dev)
        self.G, self.D, self.nz, self.batch, self.conv = G, D, nz, batch, conv
        self.hinge = hinge
        self.crit = nn.BCELoss() if probs else nn.BCEWithLogitsLoss()
        self.optG = torch.optim.Adam(G.parameters(), lr=g_lr, betas=betas)
        self.optD = torch.optim.Adam(D.parameters(), lr=d_lr, betas=betas)
        self.data = data.to(self.dev) * 2 - 1  # [0, 1] -> [-1, 1], as the example's Normalize(0.5, 0.5)
        if not conv:
            self.data = self.data.flatten(1)
        self.i = 0
        G.train()
        D.train()

    def next_real(self):
        n = self.data.shape[0] // self.batch
        j = self.i % n
        self.i += 1
        return self.data[j * self.batch:(j + 1) * self.batch]

    def step(self, real=None):
        if self.hinge:
            return self.hinge_step(real)
        G, D, b = self.G, self.D, self.batch
        real = self.next_real() if real is None else real
        D.zero_grad()
        label = torch.full((b,), 1.0, device=self.dev)
        output = D(real).view(-1)
        errD_real = self.crit(output, label)
        errD_real.backward()
        shape = (b, self.nz, 1, 1) if self.conv else (b, self.nz)
        noise = torch.randn(shape, device=self.dev)
        fake = G(noise)
        label.fill_(0.0)
        output = D(fake.detach()).view(-1)
        errD_fake = self.crit(output, label)
        errD_fake.backward()
        errD = errD_real + errD_fake
        self.optD.step()
        G.zero_grad()
        label.fill_(1.0)
        output = D(fake).view(-1)
        errG = self.crit(output, label)
        errG.backward()
        self.optG.step()
        return float(errD.detach()), float(errG.detach())

    def hinge_step(self, real=None):
        G, D = self.G, self.D
        real = self.next_real() if real is None else real
        fake = G(torch.randn(self.batch, self.nz, device=self.dev))
        D.zero_grad()
        errD = torch.relu(1.0 - D(real)).mean() + torch.relu(1.0 + D(fake.detach())).mean()
        errD.backward()
        self.optD.step()
        G.zero_grad()
        errG = -D(fake).mean()
        errG.backward()
        self.optG.step()
        return float(errD.detach()), float(errG.detach())


# -- ganzoo's engine ----------------------------------------------------------------------------------
class EngineLoop:
    """A :class:`ganzoo.training.Trainer`, stepped like :meth:`Trainer.fit` does (without checkpoints/plots)."""

    def __init__(self, variant: str, config: dict, data: torch.Tensor, *, batch: int, tmp: Path,
                 device: str = "cpu", objective: str = "non-saturating", **kw):
        from ganzoo.data.sources import TensorData
        from ganzoo.training import TrainConfig, Trainer

        out = Path(tempfile.mkdtemp(dir=tmp))
        self.t = Trainer(TrainConfig(variant=variant, objective=objective, out=out / "run", steps=10**9,
                                     batch_size=batch, seed=0, device=device, progress=False, config=config, **kw),
                         data=TensorData(data.cpu(), name="synthetic")).setup()
        self.t.out.mkdir(parents=True, exist_ok=True)
        self.t.monitor.reset_clock(0)

    def step(self):
        t = self.t
        t.step()
        if t.steps_done % t.config.log_every == 0:
            t.monitor.flush(t.steps_done, t.batches.epoch)


def sync() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()  # GPU work is asynchronous: time what was done, not what was queued


def images_per_s(loops: dict, *, batch: int, per: int, repeats: int, warmup: int) -> dict:
    for loop in loops.values():
        for _ in range(warmup):
            loop.step()
    times = {k: [] for k in loops}
    for r in range(repeats):
        order = list(loops) if r % 2 == 0 else list(reversed(loops))  # ABBA: no side always goes first
        for k in order:
            sync()
            t0 = time.perf_counter()
            for _ in range(per):
                loops[k].step()
            sync()
            times[k].append(time.perf_counter() - t0)
    return {k: batch * per / common.median(v) for k, v in times.items()}


def flops_per_step(loop) -> int:
    """Floating-point operations of one training step of ``loop`` (matrix products and convolutions,
    forward and backward, as torch.utils.flop_counter counts them), after one uncounted step."""
    from torch.utils.flop_counter import FlopCounterMode

    loop.step()
    with FlopCounterMode(display=False) as counter:
        loop.step()
    return counter.get_total_flops()


def copy_weights(src: nn.Module, dst: nn.Module) -> None:
    """Copy parameters and buffers by position (same architecture, different module names)."""
    s, d = list(src.state_dict().values()), dst.state_dict()
    if len(s) != len(d):
        raise AssertionError(f"different architectures: {len(s)} vs {len(d)} tensors")
    new = {}
    for (k, v), w in zip(d.items(), s):
        if v.shape != w.shape:
            raise AssertionError(f"{k}: {tuple(v.shape)} vs {tuple(w.shape)}")
        new[k] = w.detach().clone()
    dst.load_state_dict(new)


def verify_same_maths(cfg: dict, tmp: Path, steps: int = 3) -> dict:
    """Same initial weights, same real batches, same noise: do ganzoo's engine and the reference loop
    produce the same losses and weights? (Float tolerance: different kernels, fused Adam.)"""
    dev = cfg.get("device", "cpu")
    engine = dict(cfg["engine"], **({"precision": "fp32"} if dev != "cpu" else {}))  # the reference is fp32
    eng = EngineLoop(cfg["variant"], cfg["config"], cfg["data"], batch=cfg["batch"], tmp=tmp, device=dev, **engine)
    G, D = cfg["ref"]()
    copy_weights(eng.t.model.generator, G)
    copy_weights(eng.t.model.discriminator, D)
    ref = cfg.get("loop_cls", RefLoop)(G, D, nz=cfg["nz"], batch=cfg["batch"], data=cfg["data"], conv=cfg["conv"],
                                       probs=cfg["probs"], device=dev, **cfg.get("loop", {}))
    n_params = (sum(p.numel() for p in eng.t.model.generator.parameters()),
                sum(p.numel() for p in eng.t.model.discriminator.parameters()))
    ref_params = (sum(p.numel() for p in G.parameters()), sum(p.numel() for p in D.parameters()))
    dl = dg = 0.0
    first = None
    for i in range(steps):
        real = ref.next_real()
        eng_real = real.reshape(cfg["batch"], *cfg["data"].shape[1:]).contiguous(memory_format=eng.t.memory_format)
        torch.manual_seed(1000 + i)
        stats = eng.t.iteration(lambda r=eng_real: (r, None))
        torch.manual_seed(1000 + i)
        ed, eg = ref.step(real)
        vals = {k: float(v) for k, v in stats.items()}
        dl = max(dl, abs(vals["d_loss"] - ed))
        dg = max(dg, abs(vals["g_loss"] - eg))
        if first is None:  # before any update: same weights, so only rounding can differ
            first = (abs(vals["d_loss"] - ed), abs(vals["g_loss"] - eg), abs(ed))
    dw = max(float((a.detach() - b.detach()).abs().max()) for a, b in
             zip(list(eng.t.model.generator.parameters()) + list(eng.t.model.discriminator.parameters()),
                 list(G.parameters()) + list(D.parameters())))
    return {"params": n_params, "ref_params": ref_params, "d_loss": dl, "g_loss": dg, "weights": dw, "steps": steps,
            "first": first}


def resnet_configs(smoke: bool, per: int) -> dict:
    """The ResNet (SNGAN) and SAGAN rows: the zoo's MNIST networks (G 32 channels per block, D 16, one extra D
    block, z 64, batch 64; SAGAN with attention at 14 x 14 and spectral norm in G), unconditional, hinge loss,
    each variant's Adam defaults (ResNet 2e-4 / 2e-4, SAGAN 1e-4 / 4e-4, betas (0, 0.9)); the references are
    benchmarks/reference_resnet.py's plain-PyTorch networks with the hinge step of :class:`RefLoop`."""
    import reference_resnet as rr

    size, g, d, nz, b = (8, 8, 8, 8, 16) if smoke else (28, 32, 16, 64, 64)
    base, k = (4, 1) if size == 8 else (7, 2)
    out = {}
    for variant, sn, attention, lrs in (("resnet", False, 0, (2e-4, 2e-4)), ("sagan", True, size // 2, (1e-4, 4e-4))):
        name = (f"{'SAGAN' if attention else 'ResNet (SNGAN)'} 1x{size}x{size} (z {nz}, G {g} / D {d} channels"
                f"{f', attention at {attention}x{attention}' if attention else ''}, hinge, batch {b})")
        out[name] = dict(
            variant=variant, nz=nz, batch=b, conv=True, probs=False, per=per, extra={},
            config={"sample_shape": [1, size, size], "latent_dim": nz, "g_width": g, "d_width": d, "d_extra": 1},
            data=torch.rand(4 * b, 1, size, size), engine={"objective": "hinge"},
            loop={"hinge": True, "g_lr": lrs[0], "d_lr": lrs[1], "betas": (0.0, 0.9)},
            ref=lambda sn=sn, attention=attention: (rr.Generator(nz, 1, base, k, g, sn=sn, attention=attention),
                                                    rr.Discriminator(1, size, d, 1, attention=attention)))
    return out


def stylegan_config(smoke: bool, per: int) -> dict:
    """The StyleGAN2-lite row: the zoo's MNIST networks (z and w 64, 4 mapping layers, G 48 / D 32 channels at
    7 x 7, batch 32), unconditional, non-saturating, style mixing 0.9, lazy R1 (gamma 0.05 every 16 D steps),
    Adam (0.002, betas (0, 0.99)); the reference is benchmarks/reference_stylegan.py's plain-PyTorch networks
    and its :class:`StyleLoop`. Timed over 16 iterations per repeat, so each repeat holds one lazy R1 step."""
    import reference_stylegan as rs

    size, g, d, nz, b, layers = (8, 16, 16, 8, 16, 2) if smoke else (28, 48, 32, 64, 32, 4)
    base, k = (4, 1) if size == 8 else (7, 2)
    name = f"StyleGAN2-lite 1x{size}x{size} (z = w {nz}, G {g} / D {d} channels, mixing, lazy R1, batch {b})"
    return {name: dict(
        variant="stylegan", nz=nz, batch=b, conv=True, probs=False, per=per if smoke else 16, extra={},
        config={"sample_shape": [1, size, size], "latent_dim": nz, "w_dim": nz, "mapping_layers": layers,
                "g_width": g, "d_width": d, "r1": 0.05},
        data=torch.rand(4 * b, 1, size, size), engine={}, loop_cls=rs.StyleLoop, loop={"gamma": 0.05},
        ref=lambda: (rs.Generator(nz, nz, layers, 1, base, k, g), rs.Discriminator(1, base, k, d)))}
