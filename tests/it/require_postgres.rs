//! `TRELLIS_REQUIRE_POSTGRES` (CI sets it): a PostgreSQL variant that cannot
//! run fails with the reason instead of passing without running; without
//! it, a variant without a server still skips with one line per suite.
//! Each case runs one PostgreSQL variant of this very binary as a child
//! process, with the two variables set as the case says.

use std::process::{Command, Output};

use trellis_testkit::{POSTGRES_ENV, PostgresPlan, REQUIRE_POSTGRES_ENV};

/// A PostgreSQL variant of the store suite, run alone.
const VARIANT: &str = "store::migrations_apply_to_an_empty_database_and_are_idempotent::postgres";

/// Runs [`VARIANT`] in a child of this test binary with exactly `envs` of
/// the two variables set; returns its output, stdout and stderr together.
fn run_variant(envs: &[(&str, &str)]) -> (Output, String) {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary"));
    cmd.args([VARIANT, "--exact", "--test-threads=1"]).env_remove(POSTGRES_ENV).env_remove(REQUIRE_POSTGRES_ENV);
    for (name, value) in envs {
        cmd.env(name, value);
    }
    let out = cmd.output().expect("run the test binary");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out, text)
}

#[test]
fn without_a_server_a_variant_skips_with_one_line_unless_required() {
    let (out, text) = run_variant(&[]);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "{text}");
    assert_eq!(text.matches("PostgreSQL tests skipped").count(), 1, "{text}");
    assert!(text.contains("suite it::store"), "{text}");

    let (out, text) = run_variant(&[(REQUIRE_POSTGRES_ENV, "0")]);
    assert!(out.status.success(), "0 does not require: {text}");
}

#[test]
fn required_without_a_server_a_variant_fails_naming_both_variables() {
    let (out, text) = run_variant(&[(REQUIRE_POSTGRES_ENV, "1")]);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("1 failed"), "{text}");
    assert!(
        text.contains("TRELLIS_REQUIRE_POSTGRES is set, so the PostgreSQL variants must run")
            && text.contains("TRELLIS_TEST_POSTGRES_URL is not set"),
        "{text}"
    );
    assert!(!text.contains("PostgreSQL tests skipped"), "{text}");
}

#[test]
fn required_with_an_unreachable_server_a_variant_fails_saying_the_server_cannot_be_used() {
    // Port 1: nothing listens there, so the connection is refused at once.
    let unreachable = "postgres://postgres@127.0.0.1:1/postgres";
    for required in ["1", "0"] {
        let (out, text) = run_variant(&[(REQUIRE_POSTGRES_ENV, required), (POSTGRES_ENV, unreachable)]);
        assert!(!out.status.success(), "required={required}: {text}");
        assert!(text.contains("is set but the PostgreSQL server cannot be used"), "{text}");
    }
}

#[test]
fn the_plan_runs_a_named_server_and_fails_a_required_missing_one() {
    let url = "postgres://postgres@127.0.0.1:5432/postgres";
    assert_eq!(PostgresPlan::of(Some(url), false), PostgresPlan::Run);
    assert_eq!(PostgresPlan::of(Some(url), true), PostgresPlan::Run);
    assert_eq!(PostgresPlan::of(None, false), PostgresPlan::Skip);
    assert!(matches!(PostgresPlan::of(None, true), PostgresPlan::Fail(_)));
}
