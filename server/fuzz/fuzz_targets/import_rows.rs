//! Any bytes as an import file: the reader and the column mapper must
//! never panic, and what they report must stay in file order.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    contacts_server::import::reader::exercise(data);
});
