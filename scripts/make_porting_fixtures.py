"""Write ``tests/data/porting/keras3_convnet.keras``: the docs/porting.md walkthrough model.

Builds a small Keras 3 convnet (Conv2D, BatchNormalization, SeparableConv2D, DepthwiseConv2D,
Dense), saves it with ``model.save`` and keeps only ``config.json`` and ``metadata.json`` (the
weights are not needed to plan initialization), so the fixture is a few KB.

Run with the dev environment: ``KERAS_BACKEND=tensorflow .venv/bin/python
scripts/make_porting_fixtures.py``.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
import zipfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "porting"


def build():  # type: ignore[no-untyped-def]
    import keras
    from keras import layers

    inputs = keras.Input((32, 32, 3), name="image")
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False,
                      kernel_initializer="he_normal", name="stem")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(64, 3, padding="same", use_bias=False, name="sep")(x)
    x = layers.BatchNormalization(name="sep_bn")(x)
    x = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same",
                               depthwise_initializer="he_normal", name="dw")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(10, name="classifier")(x)
    return keras.Model(inputs, outputs, name="convnet")


def main() -> None:
    model = build()
    with tempfile.TemporaryDirectory() as tmp:
        full = pathlib.Path(tmp) / "convnet.keras"
        model.save(full)
        with zipfile.ZipFile(full) as src, zipfile.ZipFile(
                OUT / "keras3_convnet.keras", "w", zipfile.ZIP_DEFLATED) as dst:
            for name in ("metadata.json", "config.json"):
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                data = src.read(name)
                if name == "metadata.json":  # drop the save date: reproducible bytes
                    import json

                    meta = json.loads(data)
                    meta.pop("date_saved", None)
                    data = json.dumps(meta).encode()
                dst.writestr(info, data)
    print(f"wrote {OUT / 'keras3_convnet.keras'}")


if __name__ == "__main__":
    main()
