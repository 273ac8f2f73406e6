"""The template-broadcast component: best-effort broadcast over perfect links.

    upon <Broadcast | m>:            forall q in members: send [DATA, m] to q
    upon receiving [DATA, m] from p: trigger <Deliver | p, m>

A component is sans-I/O: it never imports asyncio, socket, time, random or threading,
and acts only through ``self.ctx`` (send, deliver, timers, ``now()``, ``rng``). That is
what lets the same code run over TCP and in the deterministic simulator.

Signed origins (``signed_origins = true`` in a cluster file) need nothing here: this
component never relays, so each message reaches a process straight from its origin, and
``on_data`` takes the origin to be the link's sender, which the handshake proves under
per-node keys or mutual TLS. A component that relays another process's messages (a
reliable broadcast) cannot trust the sender that way: let the origin sign. Its data
message subclasses ``netweave.OriginMessage`` (the broadcast id in ``id``, which names
the origin), its ``broadcast`` builds it as ``self.ctx.sign(Data(message_id, ...))``,
relays send it on unchanged, and it delivers under the origin the id names
(``netweave.origins.origin_node(msg.id)``), never a field of its own; the node checks the
signature before the handler runs. ``netweave conform PLUGIN --signed-origins`` checks
that nothing genuine is refused. See "Signed origins" in the guide to writing a plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
from netweave import Component, Message, hookimpl, revive, upon_message

if TYPE_CHECKING:
    from netweave import Context

__all__ = ["TemplateBroadcast", "TemplateData", "TemplateOptions"]


class TemplateData(Message, tag="template.data"):
    """[DATA, m]: one broadcast message. Tags are unique: prefix them with the plugin."""

    id: str
    payload: Any


@attrs.frozen
class TemplateOptions:
    """Options (``node.use("template", warn_on_drop=False)``): defaults, validators, docs."""

    warn_on_drop: bool = attrs.field(
        default=True, validator=attrs.validators.instance_of(bool),
        metadata={"doc": "Log a warning for each malformed message dropped."})


class TemplateBroadcast(Component):
    """Best-effort broadcast: every correct process delivers what a correct one sends."""

    name = "template"
    provides = ("template-broadcast",)
    layer = "template"
    Options = TemplateOptions

    @staticmethod
    @hookimpl
    def netweave_specs() -> list[type]:
        """The specification ``netweave check`` and the conformance suite judge it by."""
        from .spec import TemplateBroadcastSpec

        return [TemplateBroadcastSpec]

    def __init__(self, ctx: Context, options: TemplateOptions) -> None:
        super().__init__(ctx, options)
        self.dropped = 0
        """Malformed messages from peers, dropped (a peer's mistake never raises here)."""

    def broadcast(self, message_id: str, payload: Any) -> None:
        msg = TemplateData(message_id, payload)
        for q in self.ctx.members:
            self.ctx.send(q, msg)

    @upon_message(TemplateData)
    def on_data(self, sender: str, msg: TemplateData) -> None:
        # The origin is the authenticated sender, never a field a peer could forge.
        if not isinstance(msg.id, str) or not msg.id.startswith(sender + "/"):
            self.dropped += 1
            if self.options.warn_on_drop:
                self.ctx.log.warning("dropped %r from %r: not its origin", msg.id, sender)
            return
        self.ctx.deliver(msg.id, sender, revive(msg.payload))
