//! Borrowing the bytes of any Python buffer (bytes, bytearray, memoryview, array, ...), as
//! `CPython`'s `y*` and `w*` argument formats do, with the stdlib's error messages.

use std::mem::MaybeUninit;

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A held buffer export; released on drop.
struct Export(ffi::Py_buffer);

impl Drop for Export {
    fn drop(&mut self) {
        // SAFETY: the view was filled by a successful PyObject_GetBuffer, released once. Drop
        // runs where the export was taken, with the GIL held.
        unsafe { ffi::PyBuffer_Release(&raw mut self.0) };
    }
}

/// Exports `obj`'s buffer with `flags`, or the interpreter's error (`TypeError: a bytes-like
/// object is required, not 'str'`, `BufferError` for a non-contiguous memoryview, ...).
fn export(obj: &Bound<'_, PyAny>, flags: libc::c_int) -> PyResult<Export> {
    let mut view = MaybeUninit::<ffi::Py_buffer>::uninit();
    // SAFETY: `obj` is a live object; `view` is written on success only.
    if unsafe { ffi::PyObject_GetBuffer(obj.as_ptr(), view.as_mut_ptr(), flags) } != 0 {
        return Err(PyErr::fetch(obj.py()));
    }
    // SAFETY: PyObject_GetBuffer succeeded, so the view is initialised.
    Ok(Export(unsafe { view.assume_init() }))
}

/// The length of an export, in bytes.
fn length(e: &Export) -> usize {
    usize::try_from(e.0.len).unwrap_or(0)
}

/// Calls `f` with the bytes of a bytes-like `obj`, as the stdlib's `y*` format: the
/// interpreter's own error otherwise (`TypeError: a bytes-like object is required, not
/// 'str'`; `BufferError` for a non-contiguous memoryview).
pub(super) fn with_bytes<R>(
    obj: &Bound<'_, PyAny>,
    f: impl FnOnce(&[u8]) -> PyResult<R>,
) -> PyResult<R> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return f(b.as_bytes());
    }
    let e = export(obj, ffi::PyBUF_SIMPLE)?;
    let len = length(&e);
    // SAFETY: the export pins `len` readable bytes at `buf` until it is dropped after `f`.
    let data = if len == 0 {
        &[][..]
    } else {
        unsafe { std::slice::from_raw_parts(e.0.buf.cast::<u8>(), len) }
    };
    f(data)
}

/// A writable region of a Python buffer, valid while the export lives.
pub(super) struct WritableBuffer {
    export: Export,
}

impl WritableBuffer {
    /// Exports `obj` for writing; read-only, non-contiguous or non-buffer objects get the
    /// stdlib's message for method `caller` (its `w*` format discards the interpreter's error).
    pub(super) fn new(obj: &Bound<'_, PyAny>, caller: &str) -> PyResult<Self> {
        export(obj, ffi::PyBUF_WRITABLE)
            .map(|export| WritableBuffer { export })
            .map_err(|_| {
                let name = obj
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default();
                PyTypeError::new_err(format!(
                    "{caller}() argument 1 must be read-write bytes-like object, not {name}"
                ))
            })
    }

    /// The buffer's length in bytes.
    pub(super) fn len(&self) -> usize {
        length(&self.export)
    }

    /// The first `n` bytes as a mutable slice (`n` must not exceed [`WritableBuffer::len`]).
    pub(super) fn slice_mut(&mut self, n: usize) -> &mut [u8] {
        let n = n.min(self.len());
        if n == 0 {
            return &mut [];
        }
        // SAFETY: the writable export pins `len` bytes at `buf`; we hand out at most that many,
        // borrowed from `self` so the export outlives the slice.
        unsafe { std::slice::from_raw_parts_mut(self.export.0.buf.cast::<u8>(), n) }
    }
}

/// A readable export of a bytes-like object, held while its bytes are in use (several at
/// once for `sendmsg`'s buffers). Made as `CPython`'s `y*` format makes it, so a failure is
/// the interpreter's own exception: `TypeError("a bytes-like object is required, not
/// 'str'")`, or `BufferError` for a non-contiguous memoryview.
pub(super) struct ReadableBuffer {
    export: Export,
}

impl ReadableBuffer {
    /// Exports `obj` for reading.
    pub(super) fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let mut view = MaybeUninit::<ffi::Py_buffer>::uninit();
        // SAFETY: `obj` is a live object; `view` is written on success only.
        if unsafe { ffi::PyObject_GetBuffer(obj.as_ptr(), view.as_mut_ptr(), ffi::PyBUF_SIMPLE) }
            != 0
        {
            return Err(PyErr::fetch(obj.py()));
        }
        Ok(ReadableBuffer {
            // SAFETY: PyObject_GetBuffer succeeded, so the view is initialised.
            export: Export(unsafe { view.assume_init() }),
        })
    }

    /// The exported bytes.
    pub(super) fn bytes(&self) -> &[u8] {
        let len = length(&self.export);
        if len == 0 {
            return &[];
        }
        // SAFETY: the export pins `len` readable bytes at `buf` while `self` lives.
        unsafe { std::slice::from_raw_parts(self.export.0.buf.cast::<u8>(), len) }
    }
}
