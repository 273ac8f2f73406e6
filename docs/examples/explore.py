"""Exploring every run of a small scope from Python (``netweave explore`` does the same).

First the standard lazy reliable broadcast: every run of 3 nodes, 1 broadcast and 1 crash
is explored, and none violates a property. Then a variant that forgets to relay a
message arriving after its origin was detected crashed: the search finds the shortest run
that breaks agreement. Last, a world stepped by hand.
"""

from netweave import upon_deliver
from netweave.explore import Scope, World, explore
from netweave_broadcast.lazy_rb import LazyRbData, LazyReliableBroadcast


class NoLateRelay(LazyReliableBroadcast):
    """Lazy RB without one rule: relay what arrives after its origin was detected crashed
    (it looks the origin up in an empty set of crashed processes)."""

    name = "lazy-rb-no-late-relay"
    default = False

    @upon_deliver(LazyRbData)
    def on_data(self, sender: str, via: str, msg: LazyRbData) -> None:
        crashed, self.crashed = self.crashed, set()
        super().on_data(sender, via, msg)
        self.crashed = crashed


scope = Scope(nodes=3, messages=1, crashes=1)

result = explore(lambda: World("lazy-rb", scope))
print(f"lazy-rb: exhausted {result.exhausted}, violation {result.found}, "
      f"{result.visited} states reached, {result.distinct} distinct, {result.ends} end states")
print("reached:", result.sometimes.reached)

result = explore(lambda: World(NoLateRelay, scope))
found = result.found
assert found is not None
print(f"{found.spec} {found.property!r} violated: {found.violation.message}")
for i, choice in enumerate(found.path, 1):
    print(f"  {i}. {choice}")

# A world stepped by hand: what may happen first, and after n1's broadcast.
world = World("lazy-rb", scope)
print("first:", ", ".join(str(c) for c in world.choices()))
world.step(world.choices()[0])
print("then:", ", ".join(str(c) for c in world.choices()))
