"""Seed-faithful random streams: Keras's exact values from a seed, without TensorFlow.

* :mod:`~kerasinit.bridge.rng.philox`: Philox-4x32-10 in torch integer ops (CPU and CUDA).
* :mod:`~kerasinit.bridge.rng.libm`: glibc ``logf``/``sincosf`` emulation and Box-Muller.
* :mod:`~kerasinit.bridge.rng.tensorflow`: TF's stateless uniform / normal / truncated normal
  and Keras's seed rules (``rng="tensorflow"``).
* :mod:`~kerasinit.bridge.rng.keras_torch`: Keras 3 on the torch backend (``rng="keras-torch"``).

Nothing here imports TensorFlow; NumPy is imported lazily for the CPU Philox rounds only.
"""
