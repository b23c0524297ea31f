//! Runs an engine from a config in the wire shape, as JSON (what `@fastpath/types`'
//! `toWire` produces), for some seconds, then prints every port's rx and tx counts as one
//! JSON line. `bench/instructions.ts` runs it under callgrind: an engine with no Node.js in
//! the process, so the instructions counted are the data plane's.
//!
//!   cargo run --release -p engine --example forward -- CONFIG.json SECONDS

use std::process::ExitCode;
use std::time::Duration;

use engine::{Engine, EngineConfig};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(seconds)) =
        (args.get(1), args.get(2).and_then(|s| s.parse::<f64>().ok()))
    else {
        eprintln!("usage: forward CONFIG.json SECONDS");
        return ExitCode::from(2);
    };
    let config: EngineConfig = match std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
    {
        Ok(config) => config,
        Err(e) => {
            eprintln!("forward: {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut engine = match Engine::start(&config) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("forward: {e}");
            return ExitCode::FAILURE;
        }
    };
    std::thread::sleep(Duration::from_secs_f64(seconds));
    match engine.stop() {
        Ok(last) => {
            let ports = last["ports"].as_array().cloned().unwrap_or_default();
            let count = |field: &str| -> Vec<u64> {
                ports
                    .iter()
                    .map(|p| p[field].as_u64().unwrap_or(0))
                    .collect()
            };
            let (rx, tx) = (count("rxPackets"), count("txPackets"));
            println!("{{\"rxPackets\":{rx:?},\"txPackets\":{tx:?}}}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("forward: {e}");
            ExitCode::FAILURE
        }
    }
}
