"""Parse the package's own source for the tests that scan it.

CPython 3.11 (3.11.7 here) has been seen to fail `ast.parse` once, in a full test run, with
"SystemError: AST constructor recursion depth mismatch": the converter's depth counter is
shared state (python/cpython issue 106905), not the file. A failure of that kind is retried
once on the same text; any other error, or a second failure, is raised.
"""

from __future__ import annotations

import ast
from pathlib import Path


def parse_file(path: Path) -> ast.Module:
    text = path.read_text()
    try:
        return ast.parse(text, filename=str(path))
    except SystemError:
        return ast.parse(text, filename=str(path))
