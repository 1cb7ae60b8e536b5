"""``ganzoo train``: train a variant with an objective on a dataset into a publishable model folder."""

from __future__ import annotations

import click

from . import key_values


@click.command("train")
@click.argument("variant", required=False)
@click.option("--objective", "-O", help="Objective (default: the variant's first). See ganzoo list --objectives.")
@click.option("--data", "-d", help="Dataset: ring8, grid25, digits, mnist:DIR, folder:DIR.")
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False), help="Output model folder.")
@click.option("--steps", type=int, help="Generator iterations (optimiser steps for a VAE/AE).")
@click.option("--epochs", type=float, help="Passes over the data, instead of --steps.")
@click.option("--batch-size", "-b", type=int, help="Samples per step and process (M).  [default: 64]")
@click.option("--d-steps", "-k", type=int, help="Discriminator steps per generator step (K; default: the objective's).")
@click.option("--lr", type=float, help="Learning rate of both optimisers (default: the objective's).")
@click.option("--g-lr", type=float, help="Generator (or autoencoder) learning rate.")
@click.option("--d-lr", type=float, help="Discriminator/critic learning rate.")
@click.option("--betas", help="Adam betas, e.g. 0.5,0.999.")
@click.option("--lr-schedule", type=click.Choice(["constant", "linear"]), default=None,
              help="constant (default) or linear decay to 0 at the last step.")
@click.option("--seed", type=int, help="Random seed (same seed, same run on CPU).  [default: 0]")
@click.option("--ema", type=float, help="Keep an exponential moving average of G with this decay (e.g. 0.999); "
                                        "the saved generator is the EMA one.")
@click.option("--conditional", is_flag=True, default=None, help="Class-conditional model; labels from the data.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Variant config (JSON value), repeatable: "
              "--set latent_dim=2 --set g_hidden=[128,128].")
@click.option("--objective-set", "objective_sets", multiple=True, metavar="KEY=VALUE",
              help="Objective config, e.g. --objective-set gp_weight=5.")
@click.option("--data-opt", "data_opts", multiple=True, metavar="KEY=VALUE",
              help="Dataset option, e.g. --data-opt image_size=32 for folder:DIR.")
@click.option("--fresh-noise/--reuse-fake", "fresh_noise", default=None,
              help="G step on fresh noise (Goodfellow) or on the D step's fake batch (pytorch DCGAN; "
                   "the default when K == 1).")
@click.option("--augment", metavar="POLICY", help="Differentiable augmentation of every image D sees, real and "
              "generated (DiffAugment): translation, cutout or both, e.g. --augment translation,cutout.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its latest checkpoint.")
@click.option("--device", default="auto", show_default=True, help="cpu, cuda, cuda:1, ... (auto: CUDA if present).")
@click.option("--compile", "compile_", is_flag=True, help="torch.compile G and D.")
@click.option("--cuda-graphs", is_flag=True,
              help="CUDA only: replay each training iteration as one captured CUDA graph.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True,
              help="auto: bf16 autocast on CUDA, fp32 on CPU.")
@click.option("--log-every", default=50, show_default=True, type=int, help="Steps between metric lines.")
@click.option("--sample-every", type=int, help="Steps between sample grids and curve plots.")
@click.option("--checkpoint-every", type=int, help="Steps between checkpoints (and at the end).")
@click.option("--keep", default=2, show_default=True, type=int, help="Checkpoints to keep.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def train_cmd(variant, objective, data, out, steps, epochs, batch_size, d_steps, lr, g_lr, d_lr, betas, lr_schedule, seed, ema,
              conditional, sets, objective_sets, data_opts, fresh_noise, augment, resume, device, compile_, cuda_graphs,
              precision, log_every, sample_every, checkpoint_every, keep, no_progress):
    """Train VARIANT with an objective on a dataset; write a model folder to --out.

    \b
    Examples:
      ganzoo train mlp --objective wgan-gp --data ring8 --out runs/ring8 --steps 5000
      ganzoo train dcgan --data mnist:data/mnist --out runs/mnist --epochs 5 --ema 0.999
      ganzoo train vae --data digits --out runs/vae --steps 2000 --set latent_dim=2
      ganzoo train --resume --out runs/ring8 --steps 10000
      torchrun --nproc_per_node 2 -m ganzoo.cli train mlp --data ring8 --out runs/ddp --steps 1000
    """
    from ..errors import ConfigError

    beta_list = None
    if betas is not None:
        try:
            beta_list = [float(b) for b in betas.split(",")]
        except ValueError:
            raise ConfigError(f"--betas takes two numbers like 0.5,0.999, not {betas!r}") from None
    from ..train import train

    model = train(variant, objective, data=data, out=out, steps=steps, epochs=epochs, batch_size=batch_size,
                  d_steps=d_steps, lr=lr, g_lr=g_lr, d_lr=d_lr, betas=beta_list, lr_schedule=lr_schedule, seed=seed, ema=ema,
                  conditional=conditional, reuse_fake=None if fresh_noise is None else not fresh_noise,
                  augment=augment, resume=resume, device=device, compile=compile_, cuda_graphs=cuda_graphs, precision=precision,
                  log_every=log_every,
                  sample_every=sample_every, checkpoint_every=checkpoint_every, keep=keep,
                  progress=False if no_progress else None, data_options=key_values(data_opts, "--data-opt") or None,
                  objective_config=key_values(objective_sets, "--objective-set") or None,
                  config=key_values(sets, "--set"))
    import os

    if os.environ.get("RANK", "0") in ("", "0"):
        steps_done = (model.meta.get("training") or {}).get("steps_done")
        click.echo(f"trained {model.variant}/{model.objective} for {steps_done} steps; model folder: {out}")
