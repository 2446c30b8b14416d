//! Pacing of one API's calls across concurrent tasks: at most `n` a second,
//! sustained (RDS, for instance, throttles mutating calls past about 12 a
//! second per account and region).

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Hands out call slots `interval` apart, to every task that shares it.
#[derive(Clone, Debug)]
pub struct Pacer {
    interval: Duration,
    next: Arc<Mutex<Option<Instant>>>,
}

impl Pacer {
    /// At most `n` calls a second (at least one).
    pub fn per_second(n: u32) -> Pacer {
        Pacer {
            interval: Duration::from_secs(1) / n.max(1),
            next: Arc::new(Mutex::new(None)),
        }
    }

    /// Waits for this caller's slot, and returns it: the first call goes at
    /// once, each next one `interval` after the slot before it.
    pub async fn wait(&self) -> Instant {
        let slot = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves: twenty tasks sharing a 100-a-second pacer are given slots
    /// exactly 10 ms apart, in one sequence (no two share a slot), and none
    /// goes before its slot.
    #[tokio::test]
    async fn concurrent_callers_get_slots_one_interval_apart() {
        let pace = Pacer::per_second(100);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let p = pace.clone();
            set.spawn(async move {
                let slot = p.wait().await;
                (slot, Instant::now())
            });
        }
        let mut slots = Vec::new();
        while let Some(r) = set.join_next().await {
            let (slot, woke) = r.expect("task");
            assert!(woke >= slot, "went before its slot");
            slots.push(slot);
        }
        slots.sort();
        for w in slots.windows(2) {
            assert_eq!(w[1] - w[0], Duration::from_millis(10));
        }
    }
}
