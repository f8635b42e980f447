//! The program shapes a scenario can name (`driver = "..."`): one enum, so
//! that a driver's name, its description, the parameters it reads, its
//! thread roles and its CPython peer are decided in one place, and a match
//! on a driver is checked for exhaustiveness by the compiler. The programs
//! themselves are in [`super::drivers`].

use serde::{Deserialize, Deserializer};

/// A program shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Driver {
    /// A weighted mix of heap operations (`[mix]`).
    Mix,
    /// Producers build objects, consumers drop them.
    ProducerConsumer,
    /// The Benchmarks Game's binary-trees.
    BinaryTrees,
    /// Requests with interpreter and I/O work.
    MixedServer,
    /// Beazley's convoy: a sleeper beside CPU-bound threads.
    Convoy,
}

impl Driver {
    /// Every driver, in the order `heaplab list` shows them.
    pub const ALL: [Driver; 5] = [
        Driver::Mix,
        Driver::ProducerConsumer,
        Driver::BinaryTrees,
        Driver::MixedServer,
        Driver::Convoy,
    ];

    /// The name scenario files and the CLI use.
    pub fn as_str(self) -> &'static str {
        match self {
            Driver::Mix => "mix",
            Driver::ProducerConsumer => "producer-consumer",
            Driver::BinaryTrees => "binary-trees",
            Driver::MixedServer => "mixed-server",
            Driver::Convoy => "convoy",
        }
    }

    /// One line for `heaplab list`.
    pub fn summary(self) -> &'static str {
        match self {
            Driver::Mix => {
                "a weighted mix of heap operations on a per-thread working set (and shared objects)"
            }
            Driver::ProducerConsumer => {
                "producers build objects, hand them through channels, consumers drop them"
            }
            Driver::BinaryTrees => {
                "the Benchmarks Game program: build, check and free complete binary trees"
            }
            Driver::MixedServer => {
                "requests build dict-like structures, read a shared cache, do interpreter and I/O work"
            }
            Driver::Convoy => {
                "one thread sleeps 1 ms and wakes to do a little work, beside CPU-bound threads"
            }
        }
    }

    pub fn parse(name: &str) -> Option<Driver> {
        Driver::ALL.into_iter().find(|d| d.as_str() == name)
    }

    /// The `[params]` keys this driver reads (any other is an error).
    pub fn params(self) -> &'static [&'static str] {
        match self {
            Driver::Mix => &["working_set", "max_list_len", "cycle_len"],
            Driver::ProducerConsumer => &["batch"],
            Driver::BinaryTrees => &["depth"],
            Driver::MixedServer => &["request_entries"],
            Driver::Convoy => &["sleep_us"],
        }
    }

    /// The role whose latency is this driver's headline, and all its roles
    /// (none for drivers whose threads all do the same).
    pub fn roles(self) -> (Option<&'static str>, &'static [&'static str]) {
        match self {
            Driver::Convoy => (Some("sleeper"), &["sleeper", "cpu"]),
            Driver::ProducerConsumer => (None, &["producer", "consumer"]),
            Driver::MixedServer => (Some("request"), &["request"]),
            Driver::Mix | Driver::BinaryTrees => (None, &[]),
        }
    }

    /// Whether a same-shaped Python program runs beside it
    /// ([`super::python`]).
    pub fn has_python_peer(self) -> bool {
        matches!(self, Driver::BinaryTrees | Driver::Convoy)
    }
}

impl std::fmt::Display for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A driver name in a scenario file; an unknown one is an error that lists
/// the known ones (the TOML reader adds the file's line).
impl<'de> Deserialize<'de> for Driver {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Driver, D::Error> {
        let name = String::deserialize(d)?;
        Driver::parse(&name).ok_or_else(|| {
            let known: Vec<&str> = Driver::ALL.iter().map(|d| d.as_str()).collect();
            serde::de::Error::custom(format!(
                "driver = {name:?} is not a driver: allowed {}",
                known.join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in Driver::ALL {
            assert_eq!(Driver::parse(d.as_str()), Some(d));
            assert_eq!(d.to_string(), d.as_str());
        }
        assert_eq!(Driver::parse("teleporter"), None);
    }
}
