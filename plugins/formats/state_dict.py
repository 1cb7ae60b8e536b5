"""``state-dict``: a ``.pt``/``.pth``/``.safetensors`` state dict whose tensors already carry ganzoo's own
names (what ``ganzoo import-legacy`` read): the variant, its config and the component come from the user
(``--variant``, ``--set``, ``--component``), since a bare state dict does not say them."""

from __future__ import annotations

import ganzoo
from ganzoo.errors import ConfigError
from ganzoo.interop import ImportPlan


class StateDict:
    """Importer of the ``state-dict`` format; it never claims a source by sniffing (pass --format)."""

    def sniff(self, src) -> bool:
        return False

    def plan(self, src, request) -> ImportPlan:
        if not request.variant:
            raise ConfigError("--format state-dict needs --variant NAME (and --set KEY=VALUE for its config)")
        component = request.component or "generator"
        model = ganzoo.create(request.variant, request.objective, **request.config)
        if component not in model.components:
            raise ConfigError(f"variant {request.variant!r} has no {component}; it has {', '.join(model.components)}")
        keys = {name: name for name in model.components[component].state_dict()}
        return ImportPlan(request.variant, {}, {component: keys},
                          notes=[f"variant, config and component given by the user ({component})"])
