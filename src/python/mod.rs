//! The `PyO3` binding: the compiled module `udpeco._udpeco`.
//!
//! A thin layer: each submodule maps one part of the core to Python, releases the GIL around
//! blocking work ([`interrupt`]) and converts errors at this boundary only ([`errors`]).

use pyo3::prelude::*;

mod address;
mod buffer;
mod capture;
mod client;
mod echo;
mod errors;
mod interrupt;
mod bench;
mod methods;
mod msg;
mod proxy;
mod scan;
mod select;
mod socket;
mod sockref;

/// The compiled extension module, re-exported by `udpeco/__init__.py`.
#[pymodule]
#[pyo3(name = "_udpeco")]
fn udpeco_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The version of the build (Cargo.toml), so `udpeco.__version__` cannot drift from it.
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    sockref::register(m)?;
    socket::register(m)?;
    methods::register(m)?;
    echo::register(m)?;
    select::register(m)?;
    client::register(m)?;
    bench::register(m)?;
    scan::register(m)?;
    capture::register(m)?;
    msg::register(m)?;
    proxy::register(m)?;
    Ok(())
}
