/* kerasinit.bridge.rng._tf_native: C kernels for rng="tensorflow" (stub). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *abi(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    return PyLong_FromLong(0);
}

static PyMethodDef methods[] = {
    {"abi", abi, METH_NOARGS, "Interface version of this extension (0: stub, no kernels)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_tf_native", "C kernels for kerasinit's seed-faithful samplers.",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__tf_native(void) { return PyModule_Create(&module); }
