//! The `mix` driver's one step: an operation drawn from the scenario's
//! weights (allocations of each kind, `get`, `set`, `append`, `pop`, drops,
//! shared reads and writes, cycles, explicit collections), on the worker's
//! own working set and the fixture's shared objects.

use super::drivers::{Step, Worker};
use crate::heap::Mutator;
use crate::policy::Policy;
use crate::{HeapError, HeapErrorKind};

impl<'f, 'h, P: Policy> Worker<'f, 'h, P> {
    pub(super) fn mix_op(&mut self, m: &Mutator<'h, P>) -> Result<Step, HeapError> {
        let op = super::scenario::OPS[self.ops_table.pick(&mut self.rng)].0;
        match op {
            "alloc_leaf" => {
                let l = self.leaf(m)?;
                self.keep(l);
            }
            "alloc_tuple" => {
                let n = 1 + self.rng.below(3);
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(match self.pick_held() {
                        Some(r) => r,
                        None => self.leaf(m)?,
                    });
                }
                let t = m.alloc_tuple(items)?;
                self.keep(t);
            }
            "alloc_list" => {
                let l = m.alloc_list()?;
                self.keep(l);
            }
            "append" => {
                if let Some(l) = self.pick_list() {
                    let item = match self.pick_held() {
                        Some(r) if !m.is_same(&r, &l) => r,
                        _ => self.leaf(m)?,
                    };
                    m.append(&l, item)?;
                    if m.len(&l) > self.max_list_len {
                        drop(m.pop(&l)?);
                    }
                } else {
                    let l = m.alloc_list()?;
                    self.keep(l);
                }
            }
            "get" => {
                if let Some(c) = self.pick_held() {
                    let n = m.len(&c);
                    if c.kind() != crate::object::Kind::Leaf && n > 0 {
                        drop(m.get(&c, self.rng.below(n))?);
                    }
                }
            }
            "set" => {
                if let Some(l) = self.pick_list() {
                    let n = m.len(&l);
                    if n > 0 {
                        let v = self.leaf(m)?;
                        // Another op of ours cannot shrink it meanwhile; an
                        // index error here would be a heap bug.
                        m.set(&l, self.rng.below(n), v)?;
                    }
                }
            }
            "pop" => {
                if let Some(l) = self.pick_list() {
                    drop(m.pop(&l)?);
                }
            }
            "drop" => {
                if !self.held.is_empty() {
                    let i = self.rng.below(self.held.len());
                    self.held.swap_remove(i);
                }
            }
            "read_shared" => {
                let ts = &self.fixture.tuples;
                if !ts.is_empty() {
                    let t = ts[self.rng.below(ts.len())].clone();
                    let item = m.get(&t, self.rng.below(2))?;
                    drop((item, t));
                }
            }
            "mutate_shared" => {
                let ls = &self.fixture.lists;
                if !ls.is_empty() {
                    let l = &ls[self.rng.below(ls.len())];
                    match self.rng.below(3) {
                        0 => {
                            let v = self.leaf(m)?;
                            m.append(l, v)?;
                            if m.len(l) > self.max_list_len {
                                drop(m.pop(l)?);
                            }
                        }
                        1 => {
                            // Others may shrink the list between len and set.
                            let n = m.len(l);
                            if n > 0 {
                                let v = self.leaf(m)?;
                                match m.set(l, self.rng.below(n), v) {
                                    Err(e) if !matches!(e.kind(), HeapErrorKind::Index { .. }) => {
                                        return Err(e)
                                    }
                                    _ => {}
                                }
                            }
                        }
                        _ => {
                            if m.len(l) > 4 {
                                drop(m.pop(l)?);
                            }
                        }
                    }
                }
            }
            "make_cycle" => {
                let first = m.alloc_list()?;
                let mut prev = first.clone();
                for k in 1..self.cycle_len {
                    let next = if k % 2 == 1 {
                        let l = m.alloc_list()?;
                        let t = m.alloc_tuple_array([l.clone(), self.leaf(m)?])?;
                        m.append(&prev, t)?;
                        l
                    } else {
                        let l = m.alloc_list()?;
                        m.append(&prev, l.clone())?;
                        l
                    };
                    prev = next;
                }
                m.append(&prev, first)?;
            }
            "collect" => {
                m.collect();
            }
            _ => unreachable!("validated op {op}"),
        }
        Ok(Step {
            ops: 1,
            latency_ns: None,
        })
    }
}
