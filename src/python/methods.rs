//! Installing udpeco's I/O functions as methods of the `udpeco.socket` class.
//!
//! The I/O functions are module functions taking the socket first (`sock_recv(sock, bufsize)`).
//! A method defined in Python to call them (`def recv(self, n): return sock_recv(self, n)`)
//! costs a Python frame per call, about 150 ns, more than the whole difference between udpeco
//! and the stdlib. So each function becomes a real method descriptor of the class, the same
//! kind of object as the stdlib's own C methods (`PyDescr_NewMethod`): the interpreter calls it
//! without creating a bound method, and a small trampoline prepends `self` to the arguments and
//! calls the function's C entry point directly.

use std::ffi::CString;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// How many functions can be installed (udpeco's own and the batch/ancillary ones).
const SLOTS: usize = 24;

/// A function's C entry point (fast-call or tuple-and-dict, as pyo3 chose for its
/// signature) and its `self` (the module).
#[derive(Clone, Copy)]
enum Entry {
    Fast(ffi::PyCFunctionFastWithKeywords),
    Varargs(ffi::PyCFunctionWithKeywords),
}

struct Target {
    entry: Entry,
    module: usize,
}

static TARGETS: [OnceLock<Target>; SLOTS] = [const { OnceLock::new() }; SLOTS];
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Arguments passed on the stack up to this many; more go through a `Vec`.
const STACK_ARGS: usize = 12;

/// The method's C function for slot `I`: calls the target with `slf` prepended.
unsafe extern "C" fn trampoline<const I: usize>(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let Some(Target {
        entry: Entry::Fast(meth),
        module,
    }) = TARGETS[I].get()
    else {
        return std::ptr::null_mut();
    };
    let nkw = if kwnames.is_null() {
        0
    } else {
        // SAFETY: the interpreter passes a tuple of keyword names or NULL.
        unsafe { ffi::PyTuple_GET_SIZE(kwnames) }
    };
    let total = usize::try_from(nargs + nkw).unwrap_or(0);
    let mut stack = [std::ptr::null_mut::<ffi::PyObject>(); STACK_ARGS + 1];
    let mut heap = Vec::new();
    let buf: &mut [*mut ffi::PyObject] = if total < STACK_ARGS {
        &mut stack[..=total]
    } else {
        heap.resize(total + 1, std::ptr::null_mut());
        &mut heap
    };
    buf[0] = slf;
    if total > 0 {
        // SAFETY: the interpreter passes `nargs` positional values followed by one per keyword.
        buf[1..].copy_from_slice(unsafe { std::slice::from_raw_parts(args, total) });
    }
    // SAFETY: a METH_FASTCALL|METH_KEYWORDS function called with its own self (the module),
    // with the GIL held, borrowed arguments that outlive the call and the same keyword names.
    unsafe {
        meth(
            *module as *mut ffi::PyObject,
            buf.as_ptr(),
            nargs + 1,
            kwnames,
        )
    }
}

/// The same for a function taking an argument tuple and a keyword dict (`**kwargs`).
unsafe extern "C" fn trampoline_varargs<const I: usize>(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let Some(Target {
        entry: Entry::Varargs(meth),
        module,
    }) = TARGETS[I].get()
    else {
        return std::ptr::null_mut();
    };
    // SAFETY: the interpreter passes a tuple `args`; the new tuple owns a reference to each
    // item (SET_ITEM steals the ones taken here) and is released after the call.
    unsafe {
        let n = ffi::PyTuple_GET_SIZE(args);
        let with_self = ffi::PyTuple_New(n + 1);
        if with_self.is_null() {
            return std::ptr::null_mut();
        }
        ffi::Py_INCREF(slf);
        ffi::PyTuple_SET_ITEM(with_self, 0, slf);
        for i in 0..n {
            let item = ffi::PyTuple_GET_ITEM(args, i);
            ffi::Py_INCREF(item);
            ffi::PyTuple_SET_ITEM(with_self, i + 1, item);
        }
        let result = meth(*module as *mut ffi::PyObject, with_self, kwargs);
        ffi::Py_DECREF(with_self);
        result
    }
}

/// The trampolines, one per slot.
const TRAMPOLINES: [ffi::PyCFunctionFastWithKeywords; SLOTS] = [
    trampoline::<0>,
    trampoline::<1>,
    trampoline::<2>,
    trampoline::<3>,
    trampoline::<4>,
    trampoline::<5>,
    trampoline::<6>,
    trampoline::<7>,
    trampoline::<8>,
    trampoline::<9>,
    trampoline::<10>,
    trampoline::<11>,
    trampoline::<12>,
    trampoline::<13>,
    trampoline::<14>,
    trampoline::<15>,
    trampoline::<16>,
    trampoline::<17>,
    trampoline::<18>,
    trampoline::<19>,
    trampoline::<20>,
    trampoline::<21>,
    trampoline::<22>,
    trampoline::<23>,
];

/// The tuple-and-dict trampolines, one per slot.
const TRAMPOLINES_VARARGS: [ffi::PyCFunctionWithKeywords; SLOTS] = [
    trampoline_varargs::<0>,
    trampoline_varargs::<1>,
    trampoline_varargs::<2>,
    trampoline_varargs::<3>,
    trampoline_varargs::<4>,
    trampoline_varargs::<5>,
    trampoline_varargs::<6>,
    trampoline_varargs::<7>,
    trampoline_varargs::<8>,
    trampoline_varargs::<9>,
    trampoline_varargs::<10>,
    trampoline_varargs::<11>,
    trampoline_varargs::<12>,
    trampoline_varargs::<13>,
    trampoline_varargs::<14>,
    trampoline_varargs::<15>,
    trampoline_varargs::<16>,
    trampoline_varargs::<17>,
    trampoline_varargs::<18>,
    trampoline_varargs::<19>,
    trampoline_varargs::<20>,
    trampoline_varargs::<21>,
    trampoline_varargs::<22>,
    trampoline_varargs::<23>,
];

/// Makes `func` (a module function of this extension, taking the socket first) the method
/// `name` of `cls`. Raises `TypeError` for another kind of callable: the caller then defines
/// a Python method instead.
#[pyfunction]
#[pyo3(name = "_install_method")]
fn install_method(cls: &Bound<'_, PyType>, name: &str, func: &Bound<'_, PyAny>) -> PyResult<()> {
    let obj = func.as_ptr();
    // SAFETY: `obj` is a live object; PyCFunction_Check only reads its type.
    if unsafe { ffi::PyCFunction_Check(obj) } == 0 {
        return Err(PyTypeError::new_err("not a built-in function"));
    }
    // SAFETY: `obj` is a PyCFunctionObject (checked above); its method definition is static.
    let (def, module) = unsafe {
        let f = obj.cast::<ffi::PyCFunctionObject>();
        (&*(*f).m_ml, (*f).m_self)
    };
    let fast = ffi::METH_FASTCALL | ffi::METH_KEYWORDS;
    let varargs = ffi::METH_VARARGS | ffi::METH_KEYWORDS;
    if (def.ml_flags != fast && def.ml_flags != varargs) || module.is_null() {
        return Err(PyTypeError::new_err("not a fast-call function"));
    }
    let slot = NEXT.fetch_add(1, Ordering::Relaxed);
    if slot >= SLOTS {
        return Err(PyRuntimeError::new_err("no free method slot"));
    }
    // SAFETY: the flags say which signature the entry point has.
    let (entry, ml_meth) = unsafe {
        if def.ml_flags == fast {
            (
                Entry::Fast(def.ml_meth.PyCFunctionFastWithKeywords),
                ffi::PyMethodDefPointer {
                    PyCFunctionFastWithKeywords: TRAMPOLINES[slot],
                },
            )
        } else {
            (
                Entry::Varargs(def.ml_meth.PyCFunctionWithKeywords),
                ffi::PyMethodDefPointer {
                    PyCFunctionWithKeywords: TRAMPOLINES_VARARGS[slot],
                },
            )
        }
    };
    // The module lives as long as the process: keep one reference for the target.
    // SAFETY: `module` is a live object.
    unsafe { ffi::Py_INCREF(module) };
    let _ = TARGETS[slot].set(Target {
        entry,
        module: module as usize,
    });
    let method_def = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: CString::new(name)?.into_raw(),
        ml_meth,
        ml_flags: def.ml_flags,
        ml_doc: def.ml_doc,
    }));
    // SAFETY: `cls` is a live type; the definition is leaked, so it outlives the descriptor.
    let descr = unsafe {
        Bound::from_owned_ptr_or_err(
            cls.py(),
            ffi::PyDescr_NewMethod(cls.as_ptr().cast(), method_def),
        )?
    };
    cls.setattr(name, descr)
}

/// Adds `_install_method` to the module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(install_method, m)?)
}
