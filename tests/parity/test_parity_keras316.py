"""``kerasinit parity --keras-version 3.16`` runs the Keras 3 cases: true only while 3.16 draws
every case exactly as 3.15 does, which this checks case by case."""

from __future__ import annotations

from typing import Any

import pytest

from kerasinit import describe
from kerasinit.mappings.errors import KerasInitError
from kerasinit.parity import cases


def _strip(r: Any) -> Any:
    if isinstance(r, tuple):
        return [_strip(x) for x in r]
    return (r.distribution, r.keras_shape, r.fan_in, r.fan_out)


def test_every_keras3_case_resolves_alike_under_316() -> None:
    assert cases.COVERED_BY == {"3.16": "3"}
    checked = 0
    for case in cases.matrix(("3",)):
        try:
            a = describe(case.reference, case.shape, layout=case.layout, keras_version="3")
        except KerasInitError:
            with pytest.raises(KerasInitError):
                describe(case.reference, case.shape, layout=case.layout, keras_version="3.16")
            continue
        b = describe(case.reference, case.shape, layout=case.layout, keras_version="3.16")
        assert _strip(a) == _strip(b), case.id
        checked += 1
    assert checked > 100


def test_cli_accepts_316_and_runs_the_keras3_cases(capsys: pytest.CaptureFixture[str]) -> None:
    from kerasinit.cli import main

    with pytest.raises(SystemExit):
        main(["parity", "--keras-version", "3.17"])
    assert "invalid choice" in capsys.readouterr().err
    # (an --only that matches nothing stops before TensorFlow is needed)
    assert main(["parity", "--keras-version", "3.16", "--only", "no-such-case"]) == 2
    assert "Keras 3.16 draws every case as Keras 3 does" in capsys.readouterr().err
