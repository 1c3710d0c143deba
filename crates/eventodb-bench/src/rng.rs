//! A tiny xorshift generator: enough to pick streams and positions without a dependency.

use std::time::{SystemTime, UNIX_EPOCH};

/// Pseudo-random numbers (xorshift64*); not for anything but spreading load.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from the clock and `salt` (e.g. the worker number).
    pub fn seeded(salt: u64) -> Rng {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Rng((nanos ^ salt.wrapping_mul(0x2545_F491_4F6C_DD1D)) | 1)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

/// A short identifier for this run, so its streams and category are new.
pub fn run_id() -> String {
    format!("{:08x}", Rng::seeded(0).next_u64() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_in_range() {
        let mut r = Rng::seeded(7);
        for _ in 0..1000 {
            assert!(r.below(10) < 10);
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(run_id().len(), 8);
    }
}
