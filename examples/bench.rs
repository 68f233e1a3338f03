//! The load generator from Rust alone, without Python (the same engine as `udpeco bench`).
//!
//! `cargo run --release --example bench -- HOST PORT [SECONDS=3] [WINDOW=64] [SIZE=64]`
use std::process::ExitCode;
use std::time::Duration;

use udpeco::bench::{run, BenchConfig};
use udpeco::host::{resolve_addr, Family, Purpose};

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> Result<T, String> {
    args.get(i).map_or(Ok(default), |s| {
        s.parse().map_err(|_| format!("invalid argument {s:?}"))
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let parsed = (|| -> Result<_, String> {
        let host = args
            .get(1)
            .ok_or("usage: bench HOST PORT [SECONDS] [WINDOW] [SIZE]")?;
        let port: u16 = arg(&args, 2, 0)?;
        let cfg = BenchConfig {
            duration: Duration::try_from_secs_f64(arg(&args, 3, 3.0)?)
                .map_err(|e| e.to_string())?,
            window: Some(arg(&args, 4, 64)?),
            size: arg(&args, 5, 64)?,
            ..BenchConfig::default()
        };
        Ok((host.clone(), port, cfg))
    })();
    let (host, port, cfg) = match parsed {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::from(2);
        }
    };
    let report = resolve_addr(&host, port, Family::Any, Purpose::Reach)
        .and_then(|target| run(target, &cfg, &udpeco::Cancel::new(), &mut |_| Ok(())));
    match report {
        Ok(r) => {
            #[allow(clippy::cast_precision_loss)]
            let us = |ns: u64| ns as f64 / 1000.0;
            println!(
                "replies={} rate={:.0}/s lost={} rtt_p50_us={:.1} rtt_p99_us={:.1}",
                r.received,
                r.rate,
                r.lost,
                us(r.latency.p50),
                us(r.latency.p99)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}
