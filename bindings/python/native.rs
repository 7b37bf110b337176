//! `gort._native`: the gort runtime (every `gort_*` symbol of the C API,
//! re-exported from the `gort` crate) in the file the Python package ships.
//!
//! maturin packages Rust code only as a Python extension module (or cffi or
//! uniffi bindings), so this library is one too: importing it gives an
//! empty module. The package never imports it; `gort/_lib.py` loads the file
//! with ctypes, as it would load any `libgort.so`.

use core::ptr;

pub use gort;
use pyo3_ffi::{PyModule_Create, PyModuleDef, PyModuleDef_HEAD_INIT, PyObject};

static mut MODULE: PyModuleDef = PyModuleDef {
    m_base: PyModuleDef_HEAD_INIT,
    m_name: c"gort._native".as_ptr(),
    m_doc: c"The gort C library; the gort package loads it with ctypes.".as_ptr(),
    m_size: 0,
    m_methods: ptr::null_mut(),
    m_slots: ptr::null_mut(),
    m_traverse: None,
    m_clear: None,
    m_free: None,
};

/// The module's entry point, called by `import gort._native`.
///
/// # Safety
/// Called by CPython with the GIL held, once per import.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn PyInit__native() -> *mut PyObject {
    // SAFETY: MODULE is only ever handed to CPython, which keeps it.
    unsafe { PyModule_Create(&raw mut MODULE) }
}
