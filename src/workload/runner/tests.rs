//! Unit tests of the parent module (kept apart so the module stays one
//! concept under the house rules' size limit).

use super::late_workers_error;

#[test]
fn late_workers_are_named_once_as_ranges() {
    let e = late_workers_error(&[0, 1, 2, 5, 7, 8], 256);
    assert!(
        e.starts_with("6 of 256 workers (0-2, 5, 7-8) never saw"),
        "{e}"
    );
    assert_eq!(e.matches("never saw").count(), 1);
    let one = late_workers_error(&[3], 4);
    assert!(
        one.starts_with("1 of 4 workers (3) never saw the measuring phase: it took its"),
        "{one}"
    );
}
