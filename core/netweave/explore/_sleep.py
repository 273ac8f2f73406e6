"""Sleep sets: each state once, and most of its arrivals not at all.

Theory of operation. Two orders of *independent* steps reach the same state: ``n2
receives a`` then ``n3 receives b``, or the other way round. State hashing explores that
state once, but each order still takes its last step, restores and hashes the result,
only to find it seen: in the scope of 3 nodes, 2 broadcasts and 1 crash, eager-rb's
states were each reached 4.6 times. Sleep sets (Godefroid, 1996) skip those steps.

After a state has taken step ``t``, every later sibling ``u`` independent of ``t`` puts
``t`` to *sleep* in the state ``u`` reaches: there, ``t`` would lead to the state that
``t`` then ``u`` reached already. A state does not take the steps asleep in it; the steps
it takes put theirs to sleep in turn (those still independent of them). A state reached
again before it was expanded keeps only what is asleep on every way in (the
intersection); one reached again after it was expanded with steps asleep is expanded
once more, fully. Breadth-first, that happens only to a state that two runs of different
lengths reach (none in the eager-rb scopes measured; 2,396 times among fifo-rb's 107,284 states of
3 nodes, 1 broadcast and 1 crash, where a gap timer left out of the state makes two runs
meet). A depth-first search meets states again at other depths more often.

Sleep sets never lose a state: the same states are reached, at the same depths (a
skipped step has a commuted twin of the same length), so a counterexample is still one
of the shortest; only the number of steps taken drops.

Independence, judged from the choices alone (conservative: "dependent" only costs
steps):

- two steps at the same node are dependent (they change its state, in an order);
- two steps that draw on one budget of the scope (two broadcasts, crashes, restarts,
  losses, suspicions) are dependent (one may use up what the other needs; broadcasts are
  also numbered in the order they happen);
- a detector's step about a peer (``detect``, ``suspect``, ``restore``) depends on that
  peer's crash or restart, which enables or disables it;
- anything else is independent: a step at one node changes that node, removes the
  message it receives from the network and adds those it sends, and the network is a
  multiset, so the two orders meet. (A message's number is not part of the state.)

That last point holds only while nothing in the state depends on *when* a step ran:
with timers that may fire (``Scope.timers`` > 0), a timer set in one step comes due one
step later or earlier in the other order, so sleep sets are used only with no timer
firing in the scope (the default, where timers are not part of the state either).

A step is named by a *token*, an integer that packs its kind, node and peer (which
independence reads) with a hash of what it acts on (a message's sender incarnation and
canonical text), so that two ways into one state name its steps alike even though their
messages were numbered differently; tokens travel between processes as plain integers.
"""

from __future__ import annotations

__all__ = ["BUDGETED", "KINDS", "NOTHING", "Sleep", "independent", "kind_of", "token"]

KINDS = ("broadcast", "deliver", "timer", "crash", "restart", "detect", "suspect",
         "restore", "lose")
"""The kinds of choice (:class:`netweave.explore.Choice`)."""
_KIND = {kind: i + 1 for i, kind in enumerate(KINDS)}
BUDGETED = frozenset(_KIND[k] for k in ("broadcast", "crash", "restart", "lose", "suspect"))
"""Kinds that draw on a budget of the scope."""
_ABOUT_PEER = frozenset(_KIND[k] for k in ("detect", "suspect", "restore"))
_NODE_BITS = 7
MAX_NODES = (1 << _NODE_BITS) - 1
"""Node numbers fit in 7 bits (ids start at 1; 0 is no node)."""
_MASK = MAX_NODES


def token(kind: str, node: int, peer: int = 0, extra: int = 0) -> int:
    """The token of a step: its kind, the numbers of its node and peer (1.., 0 for
    none), and ``extra``, a hash of what it acts on."""
    return ((extra & 0xFFFF_FFFF_FFFF_FFFF) << 20) | (_KIND[kind] << 14) | (
        node << _NODE_BITS) | peer


def kind_of(tok: int) -> str:
    """The kind a token names (for people and tests)."""
    return KINDS[((tok >> 14) & 63) - 1]


def independent(a: int, b: int) -> bool:
    """Whether the steps of tokens ``a`` and ``b`` commute (see the module documentation)."""
    node_a = (a >> _NODE_BITS) & _MASK
    node_b = (b >> _NODE_BITS) & _MASK
    if node_a == node_b:
        return False
    kind_a = (a >> 14) & 63
    kind_b = (b >> 14) & 63
    if kind_a == kind_b and kind_a in BUDGETED:
        return False
    if kind_a in _ABOUT_PEER and a & _MASK == node_b:
        return False
    return not (kind_b in _ABOUT_PEER and b & _MASK == node_a)


NOTHING: frozenset[int] = frozenset()


class Sleep:
    """The sleep sets of a search (:mod:`netweave.explore._sleep`): those of the states
    reached and not yet expanded, and which states were expanded with steps asleep."""

    def __init__(self) -> None:
        self.waiting: dict[str, tuple[str, frozenset[int]]] = {}
        """By digest: the digest under the names of the way in that is kept, and what is
        asleep on every way in so far."""
        self.partial: set[str] = set()
        """States expanded with steps asleep."""

    def arrive(self, key: str, exact: str, asleep: frozenset[int]) -> None:
        """A new state, to expand with ``asleep``."""
        self.waiting[key] = (exact, asleep)

    def again(self, key: str, exact: str, asleep: frozenset[int]) -> bool:
        """A state reached again; whether it must be expanded again (fully), from here."""
        waiting = self.waiting.get(key)
        if waiting is not None:
            # Asleep only what sleeps on every way in; a way in under other names (the
            # same state up to symmetry) names its steps otherwise: nothing sleeps.
            kept, before = waiting
            self.waiting[key] = (kept, before & asleep if kept == exact else NOTHING)
            return False
        if key in self.partial:
            self.partial.discard(key)
            self.waiting[key] = (exact, NOTHING)
            return True
        return False

    def expand(self, key: str) -> frozenset[int]:
        """What sleeps in a state about to be expanded."""
        asleep = self.waiting.pop(key, ("", NOTHING))[1]
        if asleep:
            self.partial.add(key)
        return asleep
