//! How the functions' loops stay within AWS's API rates: a [`Pacer`] spaces
//! one API's calls across concurrent tasks (RDS, for instance, throttles
//! mutating calls past about 12 a second per account and region), and
//! [`bounded`] runs a loop's work a few items at a time.

use std::future::Future;
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
    /// At most `n` calls a second; `0` does not pace (the emulator's tests
    /// and simulations, where no API rate applies).
    pub fn per_second(n: u32) -> Pacer {
        Pacer {
            interval: if n == 0 {
                Duration::ZERO
            } else {
                Duration::from_secs(1) / n
            },
            next: Arc::new(Mutex::new(None)),
        }
    }

    /// Waits for this caller's slot, and returns it: the first call goes at
    /// once, each next one `interval` after the slot before it.
    pub async fn wait(&self) -> Instant {
        if self.interval.is_zero() {
            return Instant::now();
        }
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

/// Runs `work` on each item, at most `n` (at least one) in progress at
/// once, and returns the results in the items' order. The work of one item
/// waits on the network, not the CPU: the futures share the caller's task
/// and borrow what it holds.
pub async fn bounded<I, T, F, Fut>(items: I, n: usize, work: F) -> Vec<T>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future<Output = T>,
{
    use futures_util::stream::{self, StreamExt};
    stream::iter(items)
        .map(work)
        .buffered(n.max(1))
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

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

    /// Proves: a pacer of 0 a second books no slot: after a thousand
    /// callers, none is waiting for a later one (a 12-a-second pacer would
    /// have booked 83 seconds ahead).
    #[tokio::test]
    async fn zero_per_second_does_not_pace() {
        let pace = Pacer::per_second(0);
        for _ in 0..1000 {
            pace.wait().await;
        }
        assert!(pace.next.lock().await.is_none());
    }

    /// Proves: `bounded` keeps at most `n` items in progress (the most
    /// ever seen at once is exactly 3 for 3 of 10 items that each wait),
    /// and returns the results in the items' order although they finish
    /// in another.
    #[tokio::test]
    async fn bounded_keeps_n_in_progress_and_the_order() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let out = bounded(0..10u64, 3, |i| {
            let (running, most) = (&running, &most);
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Later items finish first.
                tokio::time::sleep(Duration::from_millis(20 - i * 2)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                i * 2
            }
        })
        .await;
        assert_eq!(out, (0..10).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), 3);
        let one = bounded(0..4, 0, |i| async move { i }).await;
        assert_eq!(
            one,
            vec![0, 1, 2, 3],
            "n = 0 still makes progress, one at a time"
        );
    }
}
