//! The drivers: one program shape each, generic over the policy.
//!
//! A driver is set up once per configuration ([`Fixture`]: shared objects,
//! channels, the long-lived tree) and then stepped by every worker thread
//! ([`Worker::step`]); the runner wraps each step with the interpreter work
//! dial, a checkpoint, and latency sampling. A step returns how many
//! operations it did and, where the driver measures its own latency (the
//! convoy's wake-up), that latency.

use super::scenario::{Driver, Scenario};
use crate::heap::{Heap, Mutator};
use crate::metrics::{Rng, Weighted};
use crate::policy::Policy;
use crate::Ref;
use crate::{HeapError, HeapErrorKind};
use crossbeam_channel::{Receiver, Sender};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What one step did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Step {
    pub ops: u64,
    /// A latency the driver measured itself (replaces the step's time).
    pub latency_ns: Option<u64>,
}

/// The producer-consumer channel: batches of objects.
pub type Channel<'h, P> = (Sender<Vec<Ref<'h, P>>>, Receiver<Vec<Ref<'h, P>>>);

/// Per-configuration state shared by all workers.
pub struct Fixture<'h, P: Policy> {
    pub tuples: Vec<Ref<'h, P>>,
    pub lists: Vec<Ref<'h, P>>,
    pub channel: Option<Channel<'h, P>>,
    pub long_lived: Option<Ref<'h, P>>,
    /// binary-trees: check sums of the first pass per depth, summed over threads.
    pub tree_checks: Vec<AtomicU64>,
    pub tree_iterations_done: Vec<AtomicU64>,
    pub stretch_check: u64,
    pub output: Vec<String>,
}

pub use super::trees::{
    binary_trees_reference_output, check_tree, make_tree, tree_iterations, MIN_DEPTH,
};

impl<'h, P: Policy> Fixture<'h, P> {
    /// Sets up a configuration on the main thread's mutator.
    pub fn new(s: &Scenario, m: &Mutator<'h, P>, heap: &'h Heap<P>) -> Result<Self, HeapError> {
        let mut f = Fixture {
            tuples: Vec::new(),
            lists: Vec::new(),
            channel: None,
            long_lived: None,
            tree_checks: Vec::new(),
            tree_iterations_done: Vec::new(),
            stretch_check: 0,
            output: Vec::new(),
        };
        // Shared tuples: module globals and builtins (an int and a str each).
        for i in 0..s.shared_tuples() {
            let t = m.alloc_tuple(vec![
                m.alloc_int(i as i64)?,
                m.alloc_leaf(format!("global_{i}").as_bytes())?,
            ])?;
            if s.sharing.immortal {
                for k in 0..2 {
                    heap.immortalize(&m.get(&t, k)?);
                }
                heap.immortalize(&t);
            }
            f.tuples.push(t);
        }
        for _ in 0..s.shared_lists() {
            let l = m.alloc_list()?;
            for i in 0..16 {
                m.append(&l, m.alloc_int(i)?)?;
            }
            f.lists.push(l);
        }
        match s.driver() {
            Driver::ProducerConsumer => f.channel = Some(crossbeam_channel::bounded(64)),
            Driver::MixedServer => {
                // The shared cache: a list of (key, value) tuples.
                let cache = m.alloc_list()?;
                for i in 0..256 {
                    let k = m.alloc_leaf(format!("key-{i}").as_bytes())?;
                    let v = m.alloc_leaf(&[i as u8; 48])?;
                    m.append(&cache, m.alloc_tuple_array([k, v])?)?;
                }
                f.lists.push(cache);
            }
            Driver::BinaryTrees => {
                let n = s.param(&s.params.depth, 10);
                let max = n.max(MIN_DEPTH + 2);
                let stretch = make_tree(m, max + 1)?;
                f.stretch_check = check_tree(m, &stretch)?;
                drop(stretch);
                f.long_lived = Some(make_tree(m, max)?);
                let depths = ((max - MIN_DEPTH) / 2 + 1) as usize;
                f.tree_checks = (0..depths).map(|_| AtomicU64::new(0)).collect();
                f.tree_iterations_done = (0..depths).map(|_| AtomicU64::new(0)).collect();
            }
            Driver::Mix | Driver::Convoy => {}
        }
        Ok(f)
    }

    /// Whether every thread has finished its share of one full pass of the
    /// program (binary-trees; other drivers have no passes).
    pub fn first_pass_done(&self, s: &Scenario) -> bool {
        if s.driver() != Driver::BinaryTrees {
            return true;
        }
        let max = s.param(&s.params.depth, 10).max(MIN_DEPTH + 2);
        (MIN_DEPTH..=max).step_by(2).enumerate().all(|(i, d)| {
            self.tree_iterations_done[i].load(Ordering::Relaxed) >= tree_iterations(max, d)
        })
    }

    /// After the run (main thread attached again): the binary-trees output,
    /// from the sums the workers computed, and the long-lived tree's check.
    pub fn finish(&mut self, s: &Scenario, m: &Mutator<'h, P>) -> Result<(), String> {
        if s.driver() != Driver::BinaryTrees {
            return Ok(());
        }
        let n = s.param(&s.params.depth, 10);
        let max = n.max(MIN_DEPTH + 2);
        let mut out = vec![format!(
            "stretch tree of depth {}\t check: {}",
            max + 1,
            self.stretch_check
        )];
        for (i, d) in (MIN_DEPTH..=max).step_by(2).enumerate() {
            let it = tree_iterations(max, d);
            let done = self.tree_iterations_done[i].load(Ordering::Relaxed);
            if done < it {
                return Err(format!(
                    "binary-trees: the run ended before one full pass ({done} of {it} trees of depth {d}); give it more time"
                ));
            }
            out.push(format!(
                "{it}\t trees of depth {d}\t check: {}",
                self.tree_checks[i].load(Ordering::Relaxed)
            ));
        }
        let ll = self.long_lived.as_ref().expect("long-lived tree");
        let c = check_tree(m, ll).map_err(|e| e.to_string())?;
        out.push(format!("long lived tree of depth {max}\t check: {c}"));
        let reference = binary_trees_reference_output(n);
        if out != reference {
            return Err(format!(
                "binary-trees printed {:?}, the Benchmarks Game's reference output is {:?}",
                out, reference
            ));
        }
        self.output = out;
        Ok(())
    }
}

/// One worker's state for one configuration.
pub struct Worker<'f, 'h, P: Policy> {
    pub role: &'static str,
    /// Whether this role's operations count in the configuration's throughput.
    pub counts: bool,
    pub(super) fixture: &'f Fixture<'h, P>,
    pub(super) held: Vec<Ref<'h, P>>,
    pub(super) rng: Rng,
    pub(super) ops_table: Weighted,
    pub(super) sizes: Vec<u64>,
    pub(super) size_table: Weighted,
    pub(super) working_set: usize,
    pub(super) max_list_len: usize,
    pub(super) cycle_len: usize,
    pub(super) batch: usize,
    pub(super) sleep: Duration,
    pub(super) request_entries: usize,
    pub(super) index: usize,
    pub(super) threads: usize,
    /// binary-trees: this thread's share, as (depth index, depth) per tree.
    trees: Vec<(usize, u64)>,
    tree_pos: usize,
    first_pass_done: bool,
}

impl<'f, 'h, P: Policy> Worker<'f, 'h, P> {
    pub fn new(s: &Scenario, fixture: &'f Fixture<'h, P>, index: usize, threads: usize) -> Self {
        let (role, counts) = match s.driver() {
            Driver::Convoy if index == 0 => ("sleeper", threads == 1),
            Driver::Convoy => ("cpu", true),
            Driver::ProducerConsumer if threads == 1 => ("producer", true),
            Driver::ProducerConsumer if index.is_multiple_of(2) => ("producer", false),
            Driver::ProducerConsumer => ("consumer", true),
            Driver::MixedServer => ("request", true),
            Driver::Mix | Driver::BinaryTrees => ("worker", true),
        };
        let weights: Vec<u32> = s.weights().iter().map(|(_, w)| *w).collect();
        let sizes = s.sizes.leaf.get_ref();
        let mut trees = Vec::new();
        if s.driver() == Driver::BinaryTrees {
            let max = s.param(&s.params.depth, 10).max(MIN_DEPTH + 2);
            let mut j = 0usize;
            for (i, d) in (MIN_DEPTH..=max).step_by(2).enumerate() {
                for _ in 0..tree_iterations(max, d) {
                    if j % threads == index {
                        trees.push((i, d));
                    }
                    j += 1;
                }
            }
        }
        Worker {
            role,
            counts,
            fixture,
            held: Vec::new(),
            rng: Rng::new(s.seed ^ (index as u64 + 1).wrapping_mul(0x1000_0000_01b3)),
            ops_table: Weighted::new(&weights),
            sizes: sizes.iter().map(|(b, _)| *b).collect(),
            size_table: Weighted::new(&sizes.iter().map(|(_, w)| *w).collect::<Vec<_>>()),
            working_set: s.param(&s.params.working_set, 64) as usize,
            max_list_len: s.param(&s.params.max_list_len, 64) as usize,
            cycle_len: s.param(&s.params.cycle_len, 2) as usize,
            batch: s.param(&s.params.batch, 256) as usize,
            sleep: Duration::from_micros(s.param(&s.params.sleep_us, 1000)),
            request_entries: s.param(&s.params.request_entries, 8) as usize,
            index,
            threads,
            trees,
            tree_pos: 0,
            first_pass_done: false,
        }
    }

    pub(super) fn leaf(&mut self, m: &Mutator<'h, P>) -> Result<Ref<'h, P>, HeapError> {
        let size = self.sizes[self.size_table.pick(&mut self.rng)] as usize;
        const FILL: [u8; 64] = [0x5a; 64];
        if size <= FILL.len() {
            m.alloc_leaf(&FILL[..size])
        } else {
            m.alloc_leaf(&vec![0x5a; size])
        }
    }

    pub(super) fn keep(&mut self, r: Ref<'h, P>) {
        if self.held.len() < self.working_set {
            self.held.push(r);
        } else {
            let i = self.rng.below(self.held.len());
            self.held[i] = r;
        }
    }

    pub(super) fn pick_held(&mut self) -> Option<Ref<'h, P>> {
        if self.held.is_empty() {
            None
        } else {
            let i = self.rng.below(self.held.len());
            Some(self.held[i].clone())
        }
    }

    pub(super) fn pick_list(&mut self) -> Option<Ref<'h, P>> {
        for _ in 0..4 {
            if let Some(r) = self.pick_held() {
                if r.kind() == crate::object::Kind::List {
                    return Some(r);
                }
            }
        }
        None
    }

    /// One step of this worker's program.
    pub fn step(&mut self, m: &Mutator<'h, P>, stop: &dyn Fn() -> bool) -> Result<Step, HeapError> {
        match self.role {
            "sleeper" => self.convoy_sleeper(m),
            "producer" => self.produce(m, stop),
            "consumer" => self.consume(m, stop),
            "request" => self.request(m),
            "cpu" => self.cpu(m),
            _ if !self.trees.is_empty() => self.tree(m),
            _ => self.mix_op(m),
        }
    }

    /// Drops what the worker holds (at the end, while attached).
    pub fn release(&mut self) {
        self.held.clear();
    }

    fn produce(&mut self, m: &Mutator<'h, P>, stop: &dyn Fn() -> bool) -> Result<Step, HeapError> {
        let mut batch = Vec::with_capacity(self.batch);
        for i in 0..self.batch {
            let leaf = self.leaf(m)?;
            batch.push(m.alloc_tuple_array([leaf, m.alloc_int(i as i64)?])?);
            m.checkpoint();
        }
        let n = batch.len() as u64;
        if self.threads == 1 {
            drop(batch); // no consumer: build and free on one thread
            return Ok(Step {
                ops: n,
                latency_ns: None,
            });
        }
        let (tx, _) = self.fixture.channel.as_ref().expect("channel");
        let mut msg = batch;
        // Blocking sends happen detached; give up when the run stops.
        loop {
            match m.allow_threads(|| tx.send_timeout(msg, Duration::from_millis(5))) {
                Ok(()) => break,
                Err(crossbeam_channel::SendTimeoutError::Timeout(back)) => {
                    msg = back;
                    if stop() {
                        drop(msg);
                        return Ok(Step {
                            ops: 0,
                            latency_ns: None,
                        });
                    }
                    m.checkpoint();
                }
                Err(crossbeam_channel::SendTimeoutError::Disconnected(back)) => {
                    drop(back);
                    break;
                }
            }
        }
        Ok(Step {
            ops: n,
            latency_ns: None,
        })
    }

    fn consume(&mut self, m: &Mutator<'h, P>, stop: &dyn Fn() -> bool) -> Result<Step, HeapError> {
        let (_, rx) = self.fixture.channel.as_ref().expect("channel");
        loop {
            match m.allow_threads(|| rx.recv_timeout(Duration::from_millis(5))) {
                Ok(batch) => {
                    let n = batch.len() as u64;
                    // Touch each object as a consumer would, then drop it here.
                    for t in &batch {
                        if m.len(t) != 2 {
                            return Err(HeapError::wrong_type("consume", "2-tuple", "other"));
                        }
                    }
                    drop(batch);
                    return Ok(Step {
                        ops: n,
                        latency_ns: None,
                    });
                }
                Err(_) => {
                    if stop() {
                        return Ok(Step::default());
                    }
                    m.checkpoint();
                }
            }
        }
    }

    fn request(&mut self, m: &Mutator<'h, P>) -> Result<Step, HeapError> {
        // A dict-as-list of (key, value) entries, strings and ints.
        let d = m.alloc_list()?;
        for i in 0..self.request_entries {
            let k = m.alloc_leaf(format!("field{i}").as_bytes())?;
            let v = if i % 2 == 0 {
                m.alloc_int(i as i64)?
            } else {
                self.leaf(m)?
            };
            m.append(&d, m.alloc_tuple_array([k, v])?)?;
        }
        // Consult the shared cache; now and then update it.
        let cache = self.fixture.lists.last().expect("cache").clone();
        let n = m.len(&cache);
        let hit = m.get(&cache, self.rng.below(n))?;
        let value = m.get(&hit, 1)?;
        m.append(&d, m.alloc_tuple_array([m.alloc_leaf(b"cached")?, value])?)?;
        if self.rng.below(16) == 0 {
            let k = m.alloc_leaf(b"key-updated")?;
            let v = self.leaf(m)?;
            match m.set(&cache, self.rng.below(n), m.alloc_tuple_array([k, v])?) {
                Err(e) if !matches!(e.kind(), HeapErrorKind::Index { .. }) => return Err(e),
                _ => {}
            }
        }
        // A response: a string built from the request.
        let body = m.alloc_leaf(&[b'x'; 120])?;
        drop((d, hit, body));
        Ok(Step {
            ops: 1,
            latency_ns: None,
        })
    }

    /// The convoy's CPU-bound threads: a few heap operations per step (the
    /// scenario's bytecode work dial does the rest).
    fn cpu(&mut self, m: &Mutator<'h, P>) -> Result<Step, HeapError> {
        let a = m.alloc_int(self.rng.next_u64() as i64)?;
        let t = m.alloc_tuple_array([a, self.leaf(m)?])?;
        self.keep(t);
        Ok(Step {
            ops: 1,
            latency_ns: None,
        })
    }

    fn convoy_sleeper(&mut self, m: &Mutator<'h, P>) -> Result<Step, HeapError> {
        let sleep = self.sleep;
        let target = m.allow_threads(|| {
            let target = Instant::now() + sleep;
            std::thread::sleep(sleep);
            target
        });
        // Re-attached: we hold the interpreter again. That is the wake-up.
        let late = Instant::now().saturating_duration_since(target).as_nanos() as u64;
        // The short piece of work it woke up for.
        let l = m.alloc_list()?;
        for i in 0..8 {
            m.append(&l, m.alloc_int(i)?)?;
        }
        drop(l);
        Ok(Step {
            ops: 1,
            latency_ns: Some(late.max(1)),
        })
    }

    fn tree(&mut self, m: &Mutator<'h, P>) -> Result<Step, HeapError> {
        let (i, d) = self.trees[self.tree_pos];
        let t = make_tree(m, d)?;
        let c = check_tree(m, &t)?;
        drop(t);
        if !self.first_pass_done {
            self.fixture.tree_checks[i].fetch_add(c, Ordering::Relaxed);
            self.fixture.tree_iterations_done[i].fetch_add(1, Ordering::Relaxed);
        }
        self.tree_pos += 1;
        if self.tree_pos == self.trees.len() {
            self.tree_pos = 0;
            self.first_pass_done = true;
        }
        let _ = (self.index, self.threads);
        Ok(Step {
            ops: (1u64 << (d + 1)) - 1,
            latency_ns: None,
        })
    }

    /// binary-trees in fixed-operation mode: one pass of this thread's share.
    pub fn trees_in_one_pass(&self) -> usize {
        self.trees.len()
    }
}
