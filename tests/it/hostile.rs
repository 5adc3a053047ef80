//! Hostile input through the binary: configurations from pull requests are
//! written by anyone, so no input may make accord abort, panic or hang.

use crate::common::{TestConfig, accord};

/// Issue 14, item 1: 70,000 levels of block nesting were a stack overflow
/// (exit 134) with no location.
#[test]
fn deep_block_nesting_is_a_yaml_error_with_a_location() {
    let config = TestConfig::new().file("x.yaml", format!("{}a\n", "- ".repeat(70_000)));
    let output = accord()
        .args(["validate"])
        .arg(config.join("x.yaml"))
        .output()
        .expect("run accord");
    // Diagnostics go to standard output; standard error would hold a crash.
    let stderr = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error[yaml]"), "{stderr}");
    assert!(stderr.contains("nested more than 128 levels"), "{stderr}");
    assert!(stderr.contains("x.yaml:1:"), "{stderr}");
}
