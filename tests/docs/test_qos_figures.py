"""The failure-detector QoS table and plot of the docs are what the documented command
measures (``netweave bench fd --qos --plot docs/images/fd-qos.svg``: the simulator is
deterministic, so the figures are too). After an intended change of a detector or of the
measure, regenerate them with ``NETWEAVE_DOCS_UPDATE=1 pytest tests/docs/test_qos_figures.py``,
look at the plot, and update the page's reading of the figures."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from netweave.bench import qos

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "abstractions" / "failure-detectors.md"
PLOT = ROOT / "docs" / "images" / "fd-qos.svg"
COMMAND = "netweave bench fd --qos --plot docs/images/fd-qos.svg"
TABLE = re.compile(r"^\| detector \| setting \|.*?\n(?=\n)", re.M | re.S)


def test_the_page_shows_what_the_command_measures() -> None:
    results = qos.measure(seeds=48, mix=qos.MIXES["faulty"])
    table = qos.render_table(results, markdown=True)
    plot = qos.render_plot(results, title="Failure detectors: T_D against P_A (faulty "
                                          "network, 48 seeds)")
    text = PAGE.read_text(encoding="utf-8")
    if os.environ.get("NETWEAVE_DOCS_UPDATE"):
        PAGE.write_text(TABLE.sub(table + "\n", text, count=1), encoding="utf-8")
        PLOT.write_text(plot, encoding="utf-8")
        text = PAGE.read_text(encoding="utf-8")
    assert COMMAND in text and "../images/fd-qos.svg" in text
    assert table in text, "the QoS table of failure-detectors.md is stale (see the docstring)"
    assert PLOT.read_text(encoding="utf-8") == plot, "docs/images/fd-qos.svg is stale"
