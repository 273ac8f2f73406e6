"""netweave-template: the ``template`` plugin (a best-effort broadcast) and its spec."""

from __future__ import annotations

from .component import TemplateBroadcast, TemplateData, TemplateOptions
from .spec import TemplateBroadcastSpec

__version__ = "0.1.0"

__all__ = ["TemplateBroadcast", "TemplateBroadcastSpec", "TemplateData", "TemplateOptions"]
