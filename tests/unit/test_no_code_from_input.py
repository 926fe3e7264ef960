"""No code runs from input: nothing in the package evaluates strings, unpickles, loads unsafe YAML
or model files that can carry code, or starts a shell. (ruff's S rules and bandit check the same in
`make lint`; this test keeps it true for anyone who runs only the tests.)"""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).parents[2] / "src" / "tradewind"
BUILTINS = {"eval", "exec", "compile", "__import__"}
MODULE_CALLS = {
    ("pickle", "load"), ("pickle", "loads"), ("marshal", "load"), ("marshal", "loads"),
    ("dill", "load"), ("dill", "loads"), ("joblib", "load"), ("shelve", "open"),
    ("yaml", "load"), ("yaml", "unsafe_load"), ("yaml", "full_load"), ("os", "system"),
    ("os", "popen"),
}  # fmt: skip


def _findings(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        keywords = {k.arg: k.value for k in node.keywords}
        if isinstance(func, ast.Name) and func.id in BUILTINS:
            found.append(f"{func.id}() at line {node.lineno}")
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            pair = (func.value.id, func.attr)
            if pair in MODULE_CALLS:
                found.append(f"{pair[0]}.{pair[1]}() at line {node.lineno}")
            elif pair == ("torch", "load"):
                safe = keywords.get("weights_only")
                if not (isinstance(safe, ast.Constant) and safe.value is True):
                    found.append(f"torch.load() without weights_only=True at line {node.lineno}")
        shell = keywords.get("shell")
        if isinstance(shell, ast.Constant) and shell.value is True:
            found.append(f"shell=True at line {node.lineno}")
    return found


def test_nothing_in_the_package_runs_code_from_input() -> None:
    problems = {}
    files = sorted(SOURCE.rglob("*.py"))
    assert len(files) > 100  # the package, not an empty folder
    for path in files:
        found = _findings(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if found:
            problems[str(path.relative_to(SOURCE))] = found
    assert problems == {}


def test_the_scan_finds_what_it_looks_for() -> None:
    bad = (
        "import pickle, torch, yaml, subprocess\n"
        "eval(text)\npickle.loads(blob)\nyaml.load(doc)\ntorch.load(path)\n"
        "subprocess.run(cmd, shell=True)\ntorch.load(path, weights_only=True)\n"
    )
    assert len(_findings(ast.parse(bad))) == 5
