//! The stop-the-world handshake (`heaplab::policy::world::World`).
//!
//! A shared loom cell stands for the heap: a thread touches it only while
//! attached, and the thread that stopped the world touches it while the
//! world is stopped. Loom reports two touches that are not ordered (someone
//! ran heap code during the stopped section) and executions where everyone
//! sleeps (a lost wake-up between a detaching thread and the requester).
//!
//! - `checkpoint_parks`: the other thread is attached and parks at its
//!   checkpoint;
//! - `detached_reattach_waits`: the other thread is detached (inside
//!   `allow_threads`) and re-attaches during the pause: it must wait;
//! - `two_requests`: both threads stop the world at once: one wins, the other
//!   parks and gets `None`, and the two stopped sections never overlap;
//! - `register_unregister_wait`: a thread registering or unregistering while
//!   the world is stopped waits for the restart.
//!
//! Registering and unregistering run a step under the world lock (`pick`,
//! `leave`: adopting or leaving a slot) that must not overlap a stopped
//! section; a second cell (the registry) checks that.

#![cfg(loom)]

use heaplab::policy::world::{ThreadStateWord, World};
use heaplab::sync::{Arc, AtomicUsize, Ordering, UnsafeCell};
use loom::thread;
use loom_tests::run_model;

struct Shared {
    world: World,
    words: [ThreadStateWord; 2],
    /// The heap: touched only by attached threads, or by the thread that
    /// stopped the world.
    heap: UnsafeCell<u32>,
    /// Thread bookkeeping (the biased policy's slot registry): touched by
    /// `register`'s `pick` and `unregister`'s `leave` (under the world lock,
    /// with the world running) and by the thread that stopped the world.
    registry: UnsafeCell<u32>,
    /// Stopped sections completed.
    stops: AtomicUsize,
}

// SAFETY: `heap` is touched only under the handshake's exclusion (what the
// model checks); the rest is synchronised.
unsafe impl Sync for Shared {}
// SAFETY: as above.
unsafe impl Send for Shared {}

impl Shared {
    /// A world with threads 1 and 2 registered, both detached.
    fn new(register: &[usize]) -> Arc<Self> {
        let s = Arc::new(Shared {
            world: World::new(),
            words: [ThreadStateWord::default(), ThreadStateWord::default()],
            heap: UnsafeCell::new(0),
            registry: UnsafeCell::new(0),
            stops: AtomicUsize::new(0),
        });
        for &id in register {
            s.register(id);
        }
        s
    }

    fn word(&self, id: usize) -> &ThreadStateWord {
        &self.words[id - 1]
    }

    /// Registers thread `id`; its `pick` step (the biased policy adopts a
    /// slot there) works on the registry.
    fn register(&self, id: usize) {
        let w: *const ThreadStateWord = self.word(id);
        // SAFETY: the words live in `Shared`, which outlives every thread.
        unsafe {
            self.world.register(|| {
                self.touch_registry();
                (id, w, ())
            })
        };
    }

    /// Unregisters thread `id`; its `leave` step (the biased policy hands
    /// its slot to the registry there) works on the registry.
    fn unregister(&self, id: usize) {
        self.world
            .unregister(id, self.word(id), || self.touch_registry());
    }

    fn touch_registry(&self) {
        // SAFETY: under the world lock with the world running, or with the
        // world stopped (checked by loom).
        self.registry.with_mut(|p| unsafe { *p += 1 });
    }

    /// Heap work (attached, or with the world stopped).
    fn touch(&self) {
        // SAFETY: the handshake's exclusion, checked by loom.
        self.heap.with_mut(|p| unsafe { *p += 1 });
    }

    /// The eval breaker, as `Policy::checkpoint` calls it.
    fn checkpoint(&self, id: usize) -> bool {
        self.world.stop_requested() && self.world.park(id, self.word(id))
    }

    /// A collection: stop, work alone, restart. `None`: another thread's
    /// request came first and this one parked meanwhile.
    fn stopped_section(&self, id: usize) -> Option<()> {
        self.world.stop(id, self.word(id))?;
        assert!(self.world.is_stopped_by(id));
        self.touch();
        self.touch_registry();
        self.stops.fetch_add(1, Ordering::Relaxed);
        self.world.start(id);
        Some(())
    }

    fn heap_value(&self) -> u32 {
        // SAFETY: every thread joined.
        self.heap.with(|p| unsafe { *p })
    }

    fn registry_value(&self) -> u32 {
        // SAFETY: every thread joined.
        self.registry.with(|p| unsafe { *p })
    }
}

/// (a) Thread 1 stops the world while thread 2 runs heap code with
/// checkpoints; thread 2 parks (or has left) during the stopped section.
#[test]
fn checkpoint_parks() {
    run_model("stop_the_world::checkpoint_parks", || {
        let s = Shared::new(&[1, 2]);
        let s1 = s.clone();
        let t1 = thread::spawn(move || {
            s1.world.attach(s1.word(1));
            assert!(s1.stopped_section(1).is_some(), "a lone request wins");
            s1.unregister(1);
        });
        let s2 = s.clone();
        let t2 = thread::spawn(move || {
            s2.world.attach(s2.word(2));
            s2.touch();
            s2.checkpoint(2);
            s2.touch();
            s2.unregister(2);
        });
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(s.heap_value(), 3);
        // 2 registrations, 1 stopped section, 2 unregistrations.
        assert_eq!(s.registry_value(), 5);
        assert_eq!(s.world.threads(), 0);
        assert!(!s.world.stop_requested());
    });
}

/// (b) Thread 2 is detached (`allow_threads`) when the world stops and
/// re-attaches during the pause: its re-attach waits for the restart.
#[test]
fn detached_reattach_waits() {
    run_model("stop_the_world::detached_reattach_waits", || {
        let s = Shared::new(&[1, 2]);
        let s1 = s.clone();
        let t1 = thread::spawn(move || {
            s1.world.attach(s1.word(1));
            assert!(s1.stopped_section(1).is_some());
            s1.unregister(1);
        });
        let s2 = s.clone();
        let t2 = thread::spawn(move || {
            s2.world.attach(s2.word(2));
            s2.touch();
            // allow_threads: detach, native work off the heap, re-attach.
            s2.world.detach(s2.word(2));
            s2.world.attach(s2.word(2));
            s2.touch();
            s2.unregister(2);
        });
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(s.heap_value(), 3);
        assert_eq!(s.registry_value(), 5);
    });
}

/// (c) Both threads ask to stop the world at once. A request that finds
/// another in force parks and returns `None`; by then the winner's section
/// is over. Sections never overlap.
#[test]
fn two_requests() {
    run_model("stop_the_world::two_requests", || {
        let s = Shared::new(&[1, 2]);
        let spawn = |id: usize| {
            let s = s.clone();
            thread::spawn(move || {
                s.world.attach(s.word(id));
                let won = s.stopped_section(id).is_some();
                if !won {
                    // The loser parked until the winner restarted the world.
                    assert!(s.stops.load(Ordering::Relaxed) >= 1);
                    assert!(!s.world.is_stopped_by(id));
                }
                s.checkpoint(id);
                s.unregister(id);
                won
            })
        };
        let (t1, t2) = (spawn(1), spawn(2));
        let (w1, w2) = (t1.join().unwrap(), t2.join().unwrap());
        assert!(w1 || w2, "one request always wins");
        let wins = w1 as u32 + w2 as u32;
        assert_eq!(s.heap_value(), wins);
        assert_eq!(s.registry_value(), 2 + wins + 2);
        assert_eq!(s.stops.load(Ordering::Relaxed), wins as usize);
    });
}

/// (d) Thread 2 registers, runs heap code and unregisters while thread 1
/// stops the world: registering (attaching a new thread) and unregistering
/// wait while the world is stopped.
#[test]
fn register_unregister_wait() {
    run_model("stop_the_world::register_unregister_wait", || {
        let s = Shared::new(&[1]);
        let s1 = s.clone();
        let t1 = thread::spawn(move || {
            s1.world.attach(s1.word(1));
            assert!(s1.stopped_section(1).is_some());
            s1.unregister(1);
        });
        let s2 = s.clone();
        let t2 = thread::spawn(move || {
            s2.register(2);
            s2.world.attach(s2.word(2));
            s2.touch();
            s2.unregister(2);
        });
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(s.heap_value(), 2);
        assert_eq!(s.registry_value(), 2 + 1 + 2);
        assert_eq!(s.world.threads(), 0);
    });
}
