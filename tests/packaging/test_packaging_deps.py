"""Optional dependencies are checked before any work and every missing one is named.

Missing packages are simulated in a subprocess with ``sys.modules[name] = None`` (which makes
``importlib.util.find_spec`` and ``import`` both fail, exactly as for an absent package).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kerasinit import KerasInitError
from kerasinit._deps import install_lines, missing, require
from kerasinit.mappings.errors import MissingDependencyError

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_require_names_every_missing_module_with_install_lines() -> None:
    with pytest.raises(MissingDependencyError) as info:
        require("a feature", ["numpy", "kerasinit_nope_a", "tf_keras_nope", "kerasinit_nope_b"])
    err = info.value
    assert err.missing == ("kerasinit_nope_a", "tf_keras_nope", "kerasinit_nope_b")
    text = str(err)
    assert "a feature needs kerasinit_nope_a, tf_keras_nope, kerasinit_nope_b" in text
    assert "pip install kerasinit_nope_a" in text and "pip install kerasinit_nope_b" in text
    assert isinstance(err, KerasInitError) and isinstance(err, ImportError)
    require("nothing missing", ["numpy", "torch"])  # no error


def test_install_lines_tf_keras_is_no_deps_and_pinned_to_tensorflow_minor() -> None:
    assert install_lines(["tensorflow", "scipy", "matplotlib", "tf_keras"], tf_version="2.19.1") \
        == "pip install 'kerasinit[parity]'\npip install --no-deps 'tf_keras==2.19.*'"
    assert install_lines(["h5py"]) == "pip install 'kerasinit[porting]'"
    assert missing(["numpy", "torch"]) == []


_NO_PARITY = ("import sys\nfor m in ('scipy', 'tensorflow', 'keras', 'tf_keras', 'matplotlib'):\n"
              "    sys.modules[m] = None\n"
              "from kerasinit.cli import main\n"
              "sys.exit(main(sys.argv[1:]))\n")


def test_parity_cli_names_all_missing_before_running(tmp_path: Path) -> None:
    """--report without anything installed: one message, all five modules, nothing written."""
    out = _run(_NO_PARITY, "parity", "--quick", "--report", str(tmp_path / "rep"), cwd=tmp_path)
    assert out.returncode == 2, out
    for name in ("scipy", "tensorflow", "keras", "tf_keras", "matplotlib"):
        assert name in out.stderr
    assert "pip install 'kerasinit[parity]'" in out.stderr
    assert "pip install --no-deps 'tf_keras==" in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "rep").exists()
    assert "[" not in out.stderr.split("kerasinit parity")[0]  # no progress bar before it


def test_parity_report_without_matplotlib_fails_before_the_matrix(tmp_path: Path) -> None:
    code = _NO_PARITY.replace("('scipy', 'tensorflow', 'keras', 'tf_keras', 'matplotlib')",
                              "('matplotlib',)")
    out = _run(code, "parity", "--only", "zeros/*", "--keras-version", "3", "--report",
               str(tmp_path / "rep"), cwd=tmp_path)
    assert out.returncode == 2, out
    assert "matplotlib" in out.stderr and "needs" in out.stderr and "1/" not in out.stderr
    assert not (tmp_path / "rep").exists()


def test_compare_names_all_missing() -> None:
    code = _NO_PARITY.replace("from kerasinit.cli import main\nsys.exit(main(sys.argv[1:]))\n", (
        "from kerasinit import parity\n"
        "try:\n"
        "    parity.compare('he_normal', shape=(4, 4), samples=16, keras_version='2')\n"
        "except parity.ParityDependencyError as e:\n"
        "    print(sorted(e.missing))\n"))
    out = _run(code)
    assert out.stdout.strip() == "['scipy', 'tensorflow', 'tf_keras']", out


def test_cli_version_and_closed_pipe() -> None:
    import kerasinit

    out = _run("from kerasinit.cli import main; main(['--version'])")
    assert out.stdout.strip() == f"kerasinit {kerasinit.__version__}"
    # a reader that closes the pipe at once: no traceback, SIGPIPE's status 141
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from kerasinit.cli import main; "
         "sys.exit(main(['table']))"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err and proc.returncode == 141, (proc.returncode, err)


def test_parity_cli_output_has_no_tensorflow_log_lines(tmp_path: Path) -> None:
    """TF's import-time absl/oneDNN lines do not break into the progress bar."""
    pytest.importorskip("tensorflow")
    out = _run("import sys; from kerasinit.cli import main; sys.exit(main(sys.argv[1:]))",
               "parity", "--only", "zeros/dense/3", "--keras-version", "3", cwd=tmp_path)
    assert out.returncode == 0, out
    assert "1/1 cases pass" in out.stdout
    for noise in ("oneDNN", "absl::InitializeLog", "cuda drivers", "I0000"):
        assert noise not in out.stderr, out.stderr
