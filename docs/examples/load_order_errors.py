"""What a node says when its plugins cannot form a stack (before any socket opens)."""

from netweave import Catalog, Component, Node, PluginError
from netweave_broadcast.beb import BestEffortBroadcast
from netweave_fd.perfect import PerfectFailureDetector


class Audit(Component):
    """A component that needs a failure detector (its body does not matter here)."""

    name = "audit"
    requires = ("failure-detector",)


class Chicken(Component):
    name = "chicken"
    provides = ("chicken",)
    requires = ("egg",)


class Egg(Component):
    name = "egg"
    provides = ("egg",)
    requires = ("chicken",)


class OtherFD(Component):
    name = "other-fd"
    provides = ("failure-detector",)


# A fixed catalog (instead of every installed plugin) keeps this page's output stable.
standard = [PerfectFailureDetector, BestEffortBroadcast]
catalog = Catalog.discover(autoload=False, extra=[*standard, Audit, Chicken, Egg])
with_other_fd = Catalog.discover(autoload=False, extra=[*standard, OtherFD])


def attempt(title: str, node: Node) -> None:
    try:
        node.build()
    except PluginError as error:
        print(f"{title}:\n  {type(error).__name__}: {error}\n")


attempt("missing requirement", Node("n1", fill="none", catalog=catalog).use("audit"))
attempt("unknown name", Node("n1", catalog=catalog).use("perfect-fdd"))
attempt("invalid option", Node("n1", catalog=catalog).use("perfect-fd", period=3.0))
attempt("unknown option", Node("n1", catalog=catalog).use("perfect-fd", timout=1.0))
attempt("two providers", Node("n1", catalog=with_other_fd).use("perfect-fd").use("other-fd"))
attempt("cycle", Node("n1", catalog=catalog).use("chicken").use("egg"))

# Selected in any order, the plugins start in dependency order:
node = Node("n1", catalog=catalog).use("audit").use("perfect-fd").build()
print("start order:", [type(c).name for c in node.components])
