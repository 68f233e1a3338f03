//! Runs the load generator from Rust alone: `cargo run --release --example loadgen -- HOST PORT [SECONDS] [WINDOW] [SIZE]`.
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let target = udpeco::load::target::resolve(&args[1], args[2].parse().unwrap()).unwrap();
    let cfg = udpeco::load::LoadConfig {
        duration: Duration::from_secs_f64(args.get(3).map_or(3.0, |s| s.parse().unwrap())),
        window: args.get(4).map_or(64, |s| s.parse().unwrap()),
        size: args.get(5).map_or(64, |s| s.parse().unwrap()),
        ..udpeco::load::LoadConfig::default()
    };
    let r = udpeco::load::run(target, &cfg, &udpeco::Cancel::new(), &mut |_| Ok(())).unwrap();
    println!("{r:?}");
}
