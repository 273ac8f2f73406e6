"""netweave-causal: causal-order broadcast (the textbook's waiting algorithm) and its spec.

Select it as the ``causal`` layer (``node.use("causal")``); it brings a reliable
broadcast and a vector clock with it when they are installed (netweave and
netweave-clocks). ``netweave check`` judges the ``causal`` lines of a trace with
:class:`~netweave_causal.spec.CausalBroadcastSpec`.
"""

from __future__ import annotations

from .waiting import CausalData, CausalJoin, CausalOptions, WaitingCausalBroadcast

__version__ = "0.1.0"

__all__ = ["CausalData", "CausalJoin", "CausalOptions", "WaitingCausalBroadcast"]
