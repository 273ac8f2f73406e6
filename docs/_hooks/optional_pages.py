"""MkDocs hook: stand-in pages for pages the navigation names before they are written.

The plugin-authoring guide (``guide/write-a-plugin.md``) is written with the contrib
plugins it walks through. Until the file exists, the navigation still links it, and this
hook supplies a short page saying so, so that the strict build keeps passing. Once the real
file is there, the hook does nothing.
"""

from __future__ import annotations

from typing import Any

from mkdocs.structure.files import File, Files

PENDING = {
    "guide/write-a-plugin.md": (
        "# Write a plugin\n\n"
        "This step-by-step guide writes a Lamport clock plugin from an empty folder to a\n"
        "pip-installed, tested distribution. It is not written yet.\n\n"
        "Meanwhile, [Plugins and load order](../concepts/plugins.md) explains what a\n"
        "plugin declares, the [hook reference](hooks.md) lists every hook, and\n"
        "[Publishing a plugin](publishing.md) shows the entry point a distribution needs.\n"
    ),
}


def on_files(files: Files, config: Any) -> Files:
    """MkDocs event: add a stand-in for each pending page that does not exist."""
    for src_uri, content in PENDING.items():
        if files.get_file_from_path(src_uri) is None:
            files.append(File.generated(config, src_uri, content=content))
    return files
