"""Malformed input never escapes as anything but a ``KerasInitError`` (fixed-seed fuzzing).

Three deterministic sweeps over the checked-in fixtures: (1) 1-3 config values replaced by junk
of the wrong type (120 mutants per fixture), (2) every file truncated at 25 positions, (3) 40
single-byte corruptions of the ``.keras`` archive and of a JSON file. Each read must either give
a plan or raise a ``KerasInitError`` (a ``ValueError``); any other exception (``TypeError``,
``AttributeError``, ``RecursionError``, ...) fails the test and names the mutation.
"""

from __future__ import annotations

import copy
import json
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kerasinit import KerasInitError
from kerasinit.porting import read

DATA = Path(__file__).parents[1] / "data" / "porting"
JUNK: list[Any] = [None, 3, -1, 2.5, "x", [], {}, [None], {"class_name": 5}, True, [1, "a"],
                   {"a": {}}, 10**12, "-1", [[]]]


def _configs() -> list[tuple[str, dict[str, Any]]]:
    out = [(p.name, json.loads(p.read_text())) for p in sorted(DATA.glob("*.json"))]
    with zipfile.ZipFile(DATA / "keras3_convnet.keras") as z:
        out.append(("keras3_convnet.keras", json.loads(z.read("config.json"))))
    return out


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(obj, dict):
        items: Any = obj.items()
    elif isinstance(obj, list):
        items = enumerate(obj)
    else:
        return
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


def _read_or_error(source: object, what: str) -> None:
    try:
        read(source, strict=False)
    except KerasInitError:
        pass
    except Exception as exc:  # pragma: no cover - reported as a failure
        pytest.fail(f"{what}: {type(exc).__name__}: {exc}")


@pytest.mark.parametrize(("name", "config"), _configs(), ids=lambda v: v if isinstance(v, str) else "")
def test_junk_values_in_configs(name: str, config: dict[str, Any]) -> None:
    rng = random.Random(name)
    paths = list(_paths(config))
    for trial in range(120):
        mutant = copy.deepcopy(config)
        changes = []
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(paths)
            junk = copy.deepcopy(rng.choice(JUNK))
            target: Any = mutant
            try:
                for key in path[:-1]:
                    target = target[key]
                target[path[-1]] = junk
            except (KeyError, IndexError, TypeError):
                continue
            changes.append(f"{path}={junk!r}")
        _read_or_error(mutant, f"{name} mutant {trial} ({'; '.join(changes)})")


@pytest.mark.parametrize("name", ["keras3_convnet.keras", "keras2_2_4_functional.json"])
def test_truncated_and_corrupted_files(name: str, tmp_path: Path) -> None:
    data = (DATA / name).read_bytes()
    rng = random.Random(name)
    target = tmp_path / name
    for cut in sorted({rng.randrange(len(data)) for _ in range(25)} | {0, 1, 4, len(data) - 1}):
        target.write_bytes(data[:cut])
        _read_or_error(target, f"{name} truncated at {cut}")
    for trial in range(40):
        corrupt = bytearray(data)
        corrupt[rng.randrange(len(data))] = rng.randrange(256)
        target.write_bytes(bytes(corrupt))
        _read_or_error(target, f"{name} corruption {trial}")


def test_cyclic_dict_is_refused_cleanly() -> None:
    config: dict[str, Any] = {"class_name": "Sequential", "config": {"layers": []}}
    config["config"]["layers"].append(config)  # not JSON, but a dict can be cyclic
    with pytest.raises(KerasInitError):
        read(config)
