"""Write ``tests/data/keras_registry.json``: every key Keras 3 and tf_keras register.

The table-driven completeness test (``tests/mappings/test_table.py``) walks the installed
registries when TensorFlow/Keras are installed and falls back to this checked-in list
otherwise, so a machine without TensorFlow still checks every name. Each key is stored with
the class name it resolves to, and each Keras 3 section also lists the public layer classes
(``keras.layers``), so a new layer shows up as well. Regenerate after a Keras upgrade::

    python scripts/make_registry_list.py

``--nightly`` writes the ``keras_nightly`` section instead (the Keras importable must be newer
than the release: e.g. ``pip install --target DIR keras-nightly`` and ``PYTHONPATH=DIR``);
the other sections are kept.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "keras_registry.json"


def keras3_registry() -> tuple[str, dict[str, str]]:
    """Keras 3: ``keras.src.initializers.ALL_OBJECTS_DICT`` (key -> class)."""
    import keras
    from keras.src import initializers

    table = initializers.ALL_OBJECTS_DICT
    return keras.__version__, {key: cls.__name__ for key, cls in sorted(table.items())}


def keras3_layers() -> list[str]:
    """The public layer classes of the installed Keras 3 (``keras.layers``)."""
    import keras

    return sorted(name for name in dir(keras.layers)
                  if isinstance(getattr(keras.layers, name), type) and name[0].isupper())


def tf_keras_registry() -> tuple[str, dict[str, str]]:
    """tf_keras: ``tf_keras.src.initializers.LOCAL.ALL_OBJECTS`` after populating it."""
    import tf_keras
    from tf_keras.src import initializers

    initializers.populate_deserializable_objects()
    table = initializers.LOCAL.ALL_OBJECTS
    return tf_keras.__version__, {key: cls.__name__ for key, cls in sorted(table.items())}


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    data = json.loads(OUT.read_text(encoding="utf-8")) if OUT.exists() else {}
    data["generated_by"] = "scripts/make_registry_list.py"
    k3_version, k3 = keras3_registry()
    section = {"version": k3_version, "registry": "keras.src.initializers.ALL_OBJECTS_DICT",
               "keys": k3, "layers": keras3_layers()}
    if "--nightly" in sys.argv[1:]:
        data["keras_nightly"] = section
        written = f"Keras nightly {k3_version}: {len(k3)} keys"
    else:
        tk_version, tk = tf_keras_registry()
        data["keras"] = section
        data["tf_keras"] = {"version": tk_version,
                            "registry": "tf_keras.src.initializers.LOCAL.ALL_OBJECTS", "keys": tk}
        written = f"Keras {k3_version} {len(k3)} keys, tf_keras {tk_version} {len(tk)} keys"
    order = ("generated_by", "keras", "keras_nightly", "tf_keras")
    data = {k: data[k] for k in order if k in data}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {written}")


if __name__ == "__main__":
    main()
