//! The `PyO3` binding: the compiled module `udpeco._udpeco`.
//!
//! A thin layer: each submodule maps one part of the core to Python, releases the GIL around
//! blocking work ([`interrupt`]) and converts errors at this boundary only ([`errors`]).

use pyo3::prelude::*;

mod address;
mod buffer;
mod client;
mod echo;
mod errors;
mod interrupt;
mod load;
mod proxy;
mod scan;
mod select;
mod socket;

/// The compiled extension module, re-exported by `udpeco/__init__.py`.
#[pymodule]
#[pyo3(name = "_udpeco")]
fn udpeco_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    socket::register(m)?;
    echo::register(m)?;
    select::register(m)?;
    client::register(m)?;
    load::register(m)?;
    scan::register(m)?;
    proxy::register(m)?;
    Ok(())
}
