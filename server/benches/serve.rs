//! Benchmarks of `playlab serve` (being written).
fn main() {}
