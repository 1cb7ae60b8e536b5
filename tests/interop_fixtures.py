"""Reference networks for the import/export tests, written out as their authors wrote them.

``examples_networks(nz, ngf, ndf, nc)`` returns the ``Generator`` and ``Discriminator`` classes of
pytorch/examples ``dcgan/main.py`` (its module-level ``nz``, ``ngf``, ``ndf``, ``nc`` become the
closure's), ``MixinGenerator`` is huggan's ``modeling_dcgan.Generator`` (huggingface/community-events),
a ``PyTorchModelHubMixin`` with init arguments ``num_channels``/``latent_dim``/``hidden_size``;
``mixin_class(names)`` the same network under other argument names (``nz``/``ngf``/``nc``).
"""

from __future__ import annotations

import torch
import torch.nn as nn
from huggingface_hub import PyTorchModelHubMixin


def examples_networks(nz=100, ngf=64, ndf=64, nc=3):
    """pytorch/examples dcgan/main.py's Generator and Discriminator for these sizes."""

    class Generator(nn.Module):
        def __init__(self, ngpu):
            super(Generator, self).__init__()
            self.ngpu = ngpu
            self.main = nn.Sequential(
                # input is Z, going into a convolution
                nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
                nn.BatchNorm2d(ngf * 8),
                nn.ReLU(True),
                # state size. (ngf*8) x 4 x 4
                nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 4),
                nn.ReLU(True),
                # state size. (ngf*4) x 8 x 8
                nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                # state size. (ngf*2) x 16 x 16
                nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf),
                nn.ReLU(True),
                # state size. (ngf) x 32 x 32
                nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
                nn.Tanh()
                # state size. (nc) x 64 x 64
            )

        def forward(self, input):
            return self.main(input)

    class Discriminator(nn.Module):
        def __init__(self, ngpu):
            super(Discriminator, self).__init__()
            self.ngpu = ngpu
            self.main = nn.Sequential(
                # input is (nc) x 64 x 64
                nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. (ndf) x 32 x 32
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. (ndf*2) x 16 x 16
                nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 4),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. (ndf*4) x 8 x 8
                nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 8),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. (ndf*8) x 4 x 4
                nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
                nn.Sigmoid()
            )

        def forward(self, input):
            output = self.main(input)
            return output.view(-1, 1).squeeze(1)

    return Generator, Discriminator


def weights_init(m):
    """pytorch/examples' custom initialisation."""
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find('BatchNorm') != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


def trained_like(net_g, net_d, nz, steps=2, batch=6):
    """Initialise as the examples do and run a few train-mode batches, so BatchNorm's running statistics
    are not their defaults (eval mode then uses them, which the exactness tests must cover)."""
    net_g.apply(weights_init)
    net_d.apply(weights_init)
    net_g.train()
    net_d.train()
    with torch.no_grad():
        for _ in range(steps):
            net_d(net_g(torch.randn(batch, nz, 1, 1)))
    return net_g.eval(), net_d.eval()


class MixinGenerator(nn.Module, PyTorchModelHubMixin):
    """huggan's DCGAN generator (community-events huggan/pytorch/dcgan/modeling_dcgan.py)."""

    def __init__(self, num_channels=3, latent_dim=100, hidden_size=64):
        super(MixinGenerator, self).__init__()
        self.model = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, hidden_size * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(hidden_size * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(hidden_size * 8, hidden_size * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(hidden_size * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(hidden_size * 4, hidden_size * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(hidden_size * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(hidden_size * 2, hidden_size, 4, 2, 1, bias=False),
            nn.BatchNorm2d(hidden_size),
            nn.ReLU(True),
            nn.ConvTranspose2d(hidden_size, num_channels, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, noise):
        return self.model(noise)


class NzMixinGenerator(nn.Module, PyTorchModelHubMixin):
    """The same network with the examples' argument names (config.json: nz, ngf, nc)."""

    def __init__(self, nz=100, ngf=64, nc=3):
        super().__init__()
        self.main = examples_networks(nz, ngf, ngf, nc)[0](1).main

    def forward(self, noise):
        return self.main(noise)
