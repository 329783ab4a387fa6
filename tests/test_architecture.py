"""The layout's promises, checked on the source: module-level imports form no cycle, dependencies point one way
(DESIGN §3), the variant registry imports no task, and every input error is an InputError the CLI turns into
exit 2 while a bug keeps its traceback."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gatelab
from gatelab._errors import GatelabError, InputError, InputTypeError, bad_argument
from gatelab.cli import FLAGS, for_cli, main

SRC = Path(gatelab.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_imports(path: Path) -> set[str]:
    """Every gatelab module ``path`` imports, at module level or lazily inside a function (a lazy import that
    closes a cycle is still a cycle) — only ``if TYPE_CHECKING`` blocks, which never run, are left out."""
    tree = ast.parse(path.read_text())
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.ImportFrom):
                base = package
                for _ in range(sub.level - 1):
                    base = base.rpartition(".")[0]
                target = (f"{base}.{sub.module}" if sub.module else base) if sub.level else (sub.module or "")
                if target.startswith("gatelab"):
                    found.add(target)
                    found.update(f"{target}.{a.name}" for a in sub.names)
            elif isinstance(sub, ast.Import):
                found.update(a.name for a in sub.names if a.name.startswith("gatelab"))
    return found


GRAPH = {module_name(p): module_imports(p) for p in SRC.rglob("*.py")}
MODULES = set(GRAPH)


def edges(name: str) -> set[str]:
    return {m for m in GRAPH[name] if m in MODULES and m != name}


def test_imports_form_no_cycle():
    """The driver ↔ local-executor cycle (and any other) is gone: a depth-first search over every import, lazy
    ones included, finds no back edge; no module imports the package root (``__version__`` has its own)."""
    assert not [m for m in MODULES if "gatelab" in GRAPH[m] and m != "gatelab"]
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for nxt in sorted(edges(name)):
            if state.get(nxt) == 1 and not (nxt in name or name.startswith(nxt + ".")):  # a package's own __init__
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else path + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[name] = 2

    for name in sorted(MODULES):
        if name not in state:
            visit(name, [name])
    assert not cycles, cycles


@pytest.mark.parametrize("low, high", [
    ("gatelab.registry", "gatelab.tasks"), ("gatelab.registry", "gatelab.cells"),
    ("gatelab.cells", "gatelab.ops"), ("gatelab.cells", "gatelab.layers"), ("gatelab.ops", "gatelab.layers"),
    ("gatelab.layers", "gatelab.train"), ("gatelab.layers", "gatelab.study"), ("gatelab.train", "gatelab.study"),
    ("gatelab.store", "gatelab.study"), ("gatelab.store", "gatelab.report"), ("gatelab.study", "gatelab.report"),
    ("gatelab.study", "gatelab.cli"), ("gatelab.diagnostics", "gatelab.study"),
])
def test_dependencies_point_one_way(low, high):
    offending = {m: sorted(i for i in edges(m) if i == high or i.startswith(high + "."))
                 for m in MODULES if m == low or m.startswith(low + ".")}
    assert not {m: i for m, i in offending.items() if i}, f"{low} must not import {high}"


def test_input_errors_are_value_errors_and_bugs_are_not():
    error = bad_argument("hidden_size", "a positive int", 0)
    assert isinstance(error, InputError) and isinstance(error, ValueError) and isinstance(error, GatelabError)
    assert error.argument == "hidden_size"
    typed = bad_argument("bias", "a bool", 1, kind=TypeError)
    assert isinstance(typed, InputTypeError) and isinstance(typed, TypeError)
    assert type(bad_argument("backend", "triton", "x", kind=RuntimeError)) is RuntimeError


def test_the_cli_names_flags_and_keeps_a_bugs_traceback(monkeypatch, capsys):
    assert for_cli("models: expected one of […], got 'grux'") == "--models: expected one of […], got 'grux'"
    assert for_cli("target (a column of x.csv): expected") == "--target (a column of x.csv): expected"
    assert for_cli("hidden_size_x: expected") == "hidden_size_x: expected", "only whole argument names"
    assert all(flag.startswith("--") or flag.isupper() or "|" in flag for flag in FLAGS.values())
    assert main(["forecast", "--dataset", "nile", "--models", "grux", "--out", "unused"]) == 2
    assert "--models: expected one of" in capsys.readouterr().err

    def bug(args):
        raise ValueError("a plain ValueError inside gatelab is a bug, not bad input")

    monkeypatch.setattr("gatelab.cli._cmd_list", bug)
    import gatelab.cli as cli

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["list"].set_defaults(run=bug)
    with pytest.raises(ValueError, match="is a bug"):
        main(["list"])


def test_a_study_file_with_a_typo_is_refused_at_load_with_its_key(tmp_path):
    from gatelab.study.spec import load_study

    path = tmp_path / "typo.toml"
    path.write_text('[model]\nreset = "afer"\n[[tasks]]\nname = "adding"\n')
    with pytest.raises(ValueError, match=r"typo\.toml: model\.reset: expected one of \['before', 'after'\], got "
                                         r"'afer' \(did you mean 'after'\?\)"):
        load_study(path)
    path.write_text('[[tasks]]\nname = "adding"\nsteps = 12\n')
    with pytest.warns(FutureWarning, match="renamed"):
        assert dict(load_study(path).tasks[0].sizes) == {"length": 12}
