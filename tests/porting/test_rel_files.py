"""Hostile files, built at test time: every one is a ModelFileError naming the file and the limit.

Zip bombs, deep JSON, huge constants, corrupt deflate/LZMA members, too many zip entries,
special files (FIFO, /dev/zero, a directory), HDF5 files with large unrelated attributes, and
``kerasinit inspect`` on each: one error line, exit status 1, no traceback. Peak memory of the
refused files is measured in ``benchmarks/bench_memory.py`` (not asserted here).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerasinit.cli import main
from kerasinit.mappings.errors import KerasInitError
from kerasinit.porting import ModelFileError, read
from kerasinit.porting import bounded as readers_module
from kerasinit.porting.build import CustomObjectError
from kerasinit.porting.readers import load

DENSE = {"class_name": "Sequential", "config": {"name": "s", "layers": [
    {"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "in"}},
    {"class_name": "Dense", "config": {"name": "d", "units": 3}}]}}


def _keras_zip(path: Path, config: bytes | None = None, *, method: int = zipfile.ZIP_DEFLATED,
               metadata: bytes = b'{"keras_version": "3.15.1"}', extra: int = 0) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as z:
        z.writestr("metadata.json", metadata)
        z.writestr("config.json", json.dumps(DENSE).encode() if config is None else config)
        for i in range(extra):
            z.writestr(f"x{i}", b"")
    return path


def _refused(path: object, *match: str) -> str:
    with pytest.raises(ModelFileError) as info:
        read(path)
    text = str(info.value)
    for m in match:
        assert m in text, text
    return text


def test_a_valid_archive_still_reads(tmp_path: Path) -> None:
    plan = read(_keras_zip(tmp_path / "ok.keras"))
    assert [r.weight for r in plan.rows] == ["kernel", "bias"]


def test_zip_bomb_stops_at_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z, \
            z.open("config.json", "w") as fh:  # 20 MiB of spaces: ~20 KB compressed
        for _ in range(20):
            fh.write(b" " * (1 << 20))
    assert path.stat().st_size < 200_000
    _refused(path, "bomb.keras", "config.json", "16 MiB")


def test_zip_bomb_with_a_lying_header_is_streamed_and_refused(tmp_path: Path,
                                                               monkeypatch: Any) -> None:
    monkeypatch.setattr(readers_module, "MAX_CONFIG_BYTES", 4096)
    path = _keras_zip(tmp_path / "liar.keras", b" " * 100_000)
    # rewrite both size fields of config.json to claim 10 bytes: the running count still stops it
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("config.json")
    local = info.header_offset
    data[local + 22: local + 26] = (10).to_bytes(4, "little")
    central = data.rfind(b"PK\x01\x02")
    data[central + 24: central + 28] = (10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError) as info_:
        read(path)
    assert "liar.keras" in str(info_.value)


def test_deep_json_and_huge_constant_are_refused_before_parsing(tmp_path: Path) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    _refused(_keras_zip(tmp_path / "deep.keras", deep), "deep.keras", "nested", "limit is 128")
    _refused(deep, "nested")
    layer = {"class_name": "Dense", "config": {"name": "d", "units": 3, "kernel_initializer": {
        "class_name": "Constant", "config": {"value": [0.5] * 600_000}}}}
    big = json.dumps({"class_name": "Sequential", "config": {"layers": [layer]}}).encode()
    _refused(_keras_zip(tmp_path / "const.keras", big), "const.keras", "limit is 500000")
    _refused(tmp_path / "const.keras")
    json_path = tmp_path / "const.json"
    json_path.write_bytes(big)
    _refused(json_path, "const.json", "limit")


def test_metadata_over_a_limit_is_refused_but_invalid_json_is_ignored(tmp_path: Path) -> None:
    path = _keras_zip(tmp_path / "meta.keras", metadata=b"[" * 100_000 + b"]" * 100_000)
    _refused(path, "meta.keras:metadata.json", "nested 100000", "limit is 128")
    big = b'{"keras_version": "3.1.0", "x": "' + b"a" * (2 << 20) + b'"}'
    _refused(_keras_zip(tmp_path / "big.keras", metadata=big), "big.keras:metadata.json",
             "metadata.json files up to 1 MiB")
    many = b"[" + b"0," * 510_000 + b"0]"  # 1.0 MB, under the size limit
    _refused(_keras_zip(tmp_path / "many.keras", metadata=many), "many.keras:metadata.json",
             "limit is 500000")
    for bad in (b"{not json", b"[1]", b"\xff\xfe", b'{"keras_version": 3}'):
        path = _keras_zip(tmp_path / "bad.keras", metadata=bad)
        assert load(path).keras_version is None  # the version is optional
        assert [r.weight for r in read(path).rows] == ["kernel", "bias"]


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_LZMA, zipfile.ZIP_BZIP2])
def test_corrupt_members_are_model_file_errors(tmp_path: Path, method: int) -> None:
    config = json.dumps(DENSE).encode() * 50
    path = _keras_zip(tmp_path / "bad.keras", config, method=method)
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("config.json")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 8, start + min(info.compress_size, 200), 3):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    _refused(path, "bad.keras")


def test_too_many_zip_entries(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(readers_module, "MAX_ZIP_ENTRIES", 50)
    _refused(_keras_zip(tmp_path / "many.keras", extra=60), "many.keras", "62 entries", "50")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (POSIX)")
def test_special_files_are_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.keras"
    os.mkfifo(fifo)
    _refused(fifo, "FIFO")  # would block forever if opened for reading
    if os.path.exists("/dev/zero"):
        _refused("/dev/zero", "character device")
    _refused(tmp_path, "directory")
    _refused(tmp_path / "missing.keras", "No such file")


def test_h5_reader_reads_only_the_two_attributes(tmp_path: Path, monkeypatch: Any) -> None:
    h5py = pytest.importorskip("h5py")
    import numpy as np

    path = tmp_path / "m.h5"
    with h5py.File(path, "w", libver="latest") as f:  # dense attribute storage: large attrs
        f.attrs["model_config"] = json.dumps(DENSE)
        f.attrs["keras_version"] = "3.15.1"
        f.attrs["junk"] = np.zeros(1 << 18)  # 2 MiB that must not be read
    touched: list[str] = []
    original = h5py.AttributeManager.__getitem__

    def spy(self: Any, name: str) -> Any:
        touched.append(name)
        return original(self, name)

    monkeypatch.setattr(h5py.AttributeManager, "__getitem__", spy)
    assert read(path).rows
    assert sorted(touched) == ["keras_version", "model_config"]


def test_h5_fixed_size_config_over_the_limit_is_refused_unread(tmp_path: Path,
                                                               monkeypatch: Any) -> None:
    h5py = pytest.importorskip("h5py")
    import numpy as np

    path = tmp_path / "big.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = np.bytes_(json.dumps(DENSE).encode() + b" " * 5000)
    monkeypatch.setattr(readers_module, "MAX_CONFIG_BYTES", 4096)
    monkeypatch.setattr(h5py.AttributeManager, "__getitem__",
                        lambda self, name: pytest.fail(f"read {name}"))
    _refused(path, "big.h5", "model_config")


def _spy_reads(monkeypatch: Any, h5py: Any) -> list[str]:
    touched: list[str] = []
    original = h5py.AttributeManager.__getitem__

    def spy(self: Any, name: str) -> Any:
        touched.append(name)
        return original(self, name)

    monkeypatch.setattr(h5py.AttributeManager, "__getitem__", spy)
    return touched


@pytest.mark.parametrize("libver", ["earliest", "latest"])
def test_h5_variable_length_config_over_the_limit_is_refused_unread(
        tmp_path: Path, monkeypatch: Any, libver: str) -> None:
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "vlen.h5"
    with h5py.File(path, "w", libver=libver) as f:  # a str attribute: variable-length
        f.attrs["model_config"] = json.dumps(DENSE) + " " * 20_000
        f.attrs["keras_version"] = "3.15.1"
    assert [r.weight for r in read(path).rows] == ["kernel", "bias"]
    monkeypatch.setattr(readers_module, "MAX_CONFIG_BYTES", 8192)
    touched = _spy_reads(monkeypatch, h5py)
    _refused(path, "vlen.h5:model_config", "MiB (the limit")
    assert touched == []


def test_h5_dense_attribute_storage_is_read_only_from_a_small_file(tmp_path: Path,
                                                                   monkeypatch: Any) -> None:
    h5py = pytest.importorskip("h5py")
    import numpy as np

    path = tmp_path / "dense.h5"
    with h5py.File(path, "w", libver="latest") as f:  # a 2 MiB attribute: dense storage
        f.attrs["model_config"] = json.dumps(DENSE)
        f.attrs["junk"] = np.zeros(1 << 18)
    assert read(path).rows  # 2 MiB file: bounded by the file
    monkeypatch.setattr(readers_module, "MAX_CONFIG_BYTES", 1 << 20)
    _refused(path, "dense.h5:model_config", "cannot size before reading", "2.0 MiB", "1 MiB")


def test_h5_variable_length_lengths_are_read_from_the_file_not_trusted(tmp_path: Path) -> None:
    """A crafted element length (2 GiB for a 1 KB string) is refused before HDF5 allocates it."""
    h5py = pytest.importorskip("h5py")
    from kerasinit.porting import h5attrs

    path = tmp_path / "liar.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(DENSE)
    with h5py.File(path, "r") as f:
        sizes = f.id.get_create_plist().get_sizes()
        raw = h5attrs._find_attribute(lambda o, n: path.read_bytes()[o:o + n],
                                      h5py.h5o.get_info(f.id).addr, b"model_config", sizes)
    assert raw is not None
    data = bytearray(path.read_bytes())
    at = data.find(raw[:16])
    data[at:at + 4] = (1 << 31).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    _refused(path, "liar.h5:model_config", "2048.0 MiB", "16 MiB")


def test_h5_variable_length_array_attribute_and_weights_names(tmp_path: Path,
                                                             monkeypatch: Any) -> None:
    h5py = pytest.importorskip("h5py")
    import numpy as np

    from kerasinit.porting.h5attrs import get_attr, read_attr

    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array(["d" * 3000] * 4, dtype=h5py.string_dtype())
        f.attrs["nums"] = np.array([np.arange(3.0), np.arange(500.0)],
                                   dtype=h5py.vlen_dtype(np.float64))
    with h5py.File(path, "r") as f:
        assert get_attr(f, "missing", "w.h5", h5py, 7) == 7
        assert [len(s) for s in get_attr(f, "layer_names", "w.h5", h5py)] == [3000] * 4
        assert [len(a) for a in read_attr(f, "nums", "w.h5", h5py)] == [3, 500]
        for name, limit in (("layer_names", 8000), ("nums", 3000)):
            with pytest.raises(ModelFileError, match=rf"w.h5:{name} .*is .*HDF5 attributes"):
                get_attr(f, name, "w.h5", h5py, limit=limit)


def test_custom_objects_of_the_wrong_type_blame_the_argument(tmp_path: Path) -> None:
    path = _keras_zip(tmp_path / "ok.keras")
    for bad in ([1, 2], {1: "he_normal"}, "he_normal"):
        with pytest.raises(CustomObjectError, match="custom_objects"):
            read(path, custom_objects=bad)  # type: ignore[arg-type]


def test_bytes_sources_are_capped(monkeypatch: Any) -> None:
    monkeypatch.setattr(readers_module, "MAX_CONFIG_BYTES", 1000)
    _refused(b" " * 2000, "MiB")
    _refused(io.BytesIO(b"{}"), "Cannot read")  # type: ignore[arg-type]


def test_inspect_prints_one_error_line_and_no_traceback(tmp_path: Path,
                                                        capsys: Any) -> None:
    bad_files = [
        _keras_zip(tmp_path / "deep.keras", b"[" * 50_000 + b"]" * 50_000),
        _keras_zip(tmp_path / "trunc.keras", b'{"class_name": "Seq'),
        tmp_path,
    ]
    (tmp_path / "tiny.json").write_text('{"class_name": "Constant", "config": {"value": [[1], 2]}}')
    bad_files.append(tmp_path / "tiny.json")
    for path in bad_files:
        assert main(["inspect", str(path)]) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.startswith("kerasinit inspect: error:"), err
        assert len(err.strip().splitlines()) == 1


_VALID_ZIP = io.BytesIO()
with zipfile.ZipFile(_VALID_ZIP, "w", compression=zipfile.ZIP_DEFLATED) as _z:
    _z.writestr("metadata.json", b'{"keras_version": "3.15.1"}')
    _z.writestr("config.json", json.dumps(DENSE).encode())
VALID_ZIP = _VALID_ZIP.getvalue()
VALID_JSON = json.dumps(DENSE).encode()


@settings(max_examples=120, derandomize=True, database=None, deadline=None)
@given(base=st.sampled_from(["zip", "json"]),
       edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
       cut=st.one_of(st.none(), st.integers(0, 10**6)),
       insert=st.sampled_from([b"", b"[" * 300, b"\xff\xfe", b'"\\ud800"', b"1" * 5000]))
def test_fuzz_file_bytes_read_or_model_file_error(tmp_path_factory: Any, base: str,
                                                  edits: list[tuple[int, int]],
                                                  cut: int | None, insert: bytes) -> None:
    data = bytearray(VALID_ZIP if base == "zip" else VALID_JSON)
    for pos, value in edits:
        data[pos % len(data)] = value
    if insert:
        at = (edits[0][0] if edits else 0) % len(data)
        data[at:at] = insert
    if cut is not None:
        del data[max(cut % len(data), 1):]
    path = tmp_path_factory.mktemp("fuzz") / ("m.keras" if base == "zip" else "m.json")
    path.write_bytes(bytes(data))
    with contextlib.suppress(KerasInitError):  # any other exception fails the test
        read(path)


_H5_ODD_CONFIGS = ["int", "ints", "float16", "2-D", "compound", "empty", "str array",
                   "vlen ints", "opaque", "reference", "bad utf-8"]


@pytest.mark.parametrize("kind", _H5_ODD_CONFIGS)
def test_h5_model_config_of_any_other_type_is_a_model_file_error(tmp_path: Path,
                                                                 kind: str) -> None:
    h5py = pytest.importorskip("h5py")
    import numpy as np

    text = json.dumps(DENSE)
    values: dict[str, Any] = {
        "int": 5, "ints": np.arange(10), "float16": np.float16(1), "2-D": np.zeros((2, 2)),
        "compound": np.zeros(2, dtype=[("a", "i4"), ("b", "f8")]), "empty": h5py.Empty("f"),
        "str array": np.array([text, text], dtype=h5py.string_dtype()),
        "vlen ints": np.array([np.arange(3), np.arange(2)], dtype=h5py.vlen_dtype(np.int64)),
        "opaque": np.void(b"abc"), "bad utf-8": np.bytes_(b"\xff" + text.encode()),
    }
    path = tmp_path / "odd.h5"
    with h5py.File(path, "w") as f:
        if kind == "reference":
            f.create_group("g")
            f.attrs["model_config"] = f["g"].ref
        else:
            f.attrs["model_config"] = values[kind]
    _refused(path, "odd.h5")
