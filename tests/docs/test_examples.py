"""The code in the documentation runs, and prints what the pages say it prints.

Every program in ``docs/examples/`` is included into a page with ``pymdownx.snippets``;
this test runs each one. Where ``docs/examples/NAME.out`` exists, the page shows it as the
program's output, and the program must print exactly that (the examples run in the
simulator, so their output is deterministic). After an intended change of behaviour,
regenerate the outputs with ``NETWEAVE_DOCS_UPDATE=1 pytest tests/docs/test_examples.py``
and read the diff.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from netweave.cli._main import run as cli_run
from netweave.trace import dumps_line, read_trace

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
PROGRAMS = sorted(EXAMPLES.glob("*.py"))
SCENARIOS = sorted(EXAMPLES.glob("*.toml"))
UPDATE = bool(os.environ.get("NETWEAVE_DOCS_UPDATE"))
SNIPPET = re.compile(r'--8<--\s+"([^"]+)"')


def _pages() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md")}


def _included() -> set[str]:
    return {m for text in _pages().values() for m in SNIPPET.findall(text)}


def test_there_are_examples() -> None:
    assert len(PROGRAMS) >= 5, PROGRAMS


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_example_runs_and_prints_what_the_page_shows(program: Path) -> None:
    env = {**os.environ, "PYTHONHASHSEED": "0", "NETWEAVE_STRICT": "1"}
    done = subprocess.run([sys.executable, str(program)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{program.name} failed:\n{done.stdout}\n{done.stderr}"
    expected = program.with_suffix(".out")
    if UPDATE:
        expected.write_text(done.stdout, encoding="utf-8")
    if expected.exists():
        assert done.stdout == expected.read_text(encoding="utf-8"), (
            f"{program.name} no longer prints what {expected.name} (shown in the docs) says; "
            f"if the change is intended, run NETWEAVE_DOCS_UPDATE=1 pytest {__file__}"
        )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_example_scenario_runs_with_the_cli(scenario: Path, tmp_path: Path) -> None:
    code = cli_run(["sim", str(scenario), "--seed", "1", "--trace-dir", str(tmp_path)])
    assert code == 0
    assert sorted(tmp_path.glob("*.jsonl"))


def test_the_check_report_command_runs_the_run_the_page_explains(tmp_path: Path) -> None:
    # The tutorial shows a netweave sim command, then explains the report of the run of
    # check_report.py: both must be the same run, line for line.
    page = (DOCS / "tutorials" / "check-report.md").read_text(encoding="utf-8")
    command = next(line for line in page.splitlines() if line.startswith("netweave sim "))
    argv = shlex.split(command)[1:]
    argv[argv.index("--trace-dir") + 1] = str(tmp_path)
    assert cli_run(argv) == 0
    source = (EXAMPLES / "check_report.py").read_text(encoding="utf-8")
    setup = source[:source.index("\nwith tempfile")]  # imports, the scenario and its run
    namespace: dict[str, object] = {}
    exec(compile(setup, "check_report.py", "exec"), namespace)
    trace = namespace["cluster"].trace  # type: ignore[attr-defined]
    assert sorted(map(dumps_line, read_trace(tmp_path))) == sorted(map(dumps_line, trace))


def test_the_tls_recipe_runs_in_an_empty_folder(tmp_path: Path) -> None:
    # The commands of the security page, as shown, make a CA and n1's certificate and key,
    # and the certificate names n1 as netweave's handshake checks it.
    from netweave.transport.auth import certificate_names

    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed (apt-get install openssl)")
    page = (DOCS / "operations" / "security.md").read_text(encoding="utf-8")
    recipe = next(block for block in re.findall(r"^```bash\n(.*?)^```", page,
                                                flags=re.M | re.S) if "openssl" in block)
    done = subprocess.run(["bash", "-e", "-c", recipe], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    tls = tmp_path / "tls"
    context = ssl.create_default_context(cafile=tls / "ca.pem")
    context.load_cert_chain(tls / "n1.pem", tls / "n1.key")
    decoded = ssl._ssl._test_decode_cert(str(tls / "n1.pem"))  # type: ignore[attr-defined]
    assert "n1" in certificate_names(decoded)
    verified = subprocess.run(["openssl", "verify", "-CAfile", "tls/ca.pem", "tls/n1.pem"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_the_pages_say_why_message_ids_skip_numbers() -> None:
    # Where ids first show, the page says how to read them and that they can skip numbers.
    start = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    assert "ORIGIN/INCARNATION/SEQ" in start and "skip numbers" in start
    # The tutorial's timeline starts n1 at a number above 1; the page says where 1 went.
    timeline = (EXAMPLES / "timeline.out").read_text(encoding="utf-8")
    first = re.search(r"bcast (n1/1/(\d+))", timeline)
    assert first is not None and first.group(2) != "1"
    page = (DOCS / "tutorials" / "check-report.md").read_text(encoding="utf-8")
    assert f"n1's\nfirst message is `{first.group(1)}`" in page and "`n1/1/1`" in page


def test_every_example_is_included_in_a_page() -> None:
    included = _included()
    for path in [*PROGRAMS, *SCENARIOS]:
        rel = path.relative_to(ROOT).as_posix()
        assert rel in included, f"{rel} is not included in any page (--8<-- \"{rel}\")"
        out = path.with_suffix(".out")
        if out.exists():
            rel_out = out.relative_to(ROOT).as_posix()
            assert rel_out in included, f"{rel_out} is not shown in any page"


def test_every_included_file_exists() -> None:
    for rel in _included():
        assert (ROOT / rel.split(":")[0]).is_file(), f"a page includes missing file {rel}"


def test_no_page_shows_python_that_is_not_included() -> None:
    # Python blocks written inline in a page would never run; they belong in examples/.
    # Short fragments that only show a signature or one call are marked "py title" or
    # are not fenced as python.
    for path, text in _pages().items():
        if path.name == "write-a-plugin.md":
            continue  # written and tested with the contrib plugins it walks through
        blocks = re.findall(r"^```python[^\n]*\n(.*?)^```", text, flags=re.M | re.S)
        for block in blocks:
            assert block.lstrip().startswith("--8<--"), (
                f"{path.relative_to(ROOT)} has an inline python block; put the code in "
                f"docs/examples/ and include it:\n{block[:200]}"
            )
