//! Isolation: hostile bootcamps get their exact verdict, the host survives,
//! and the next run starts clean.

use std::time::Duration;

use bootforge::sandbox::{ErrorKind, Stage};

use crate::util::{
    self, assert_sandbox_healthy, bootcamp_with_generator, read_bootcamp, run, sandbox,
};

/// Run a generator body and check the verdict `kind` (and Python type, when
/// the verdict is an exception), then that the sandbox is still healthy.
fn verdict(body: &str, kind: ErrorKind, exc_type: &str) -> bootforge::sandbox::RunError {
    let report = run(&bootcamp_with_generator(body), 0..1, None);
    let err = report
        .error
        .unwrap_or_else(|| panic!("{body:?} should fail, gave {:?}", report.results));
    assert_eq!(
        (err.kind, err.stage),
        (kind, Stage::Generate),
        "{body}: {err:?}"
    );
    assert_eq!(err.exc_type, exc_type, "{body}: {err:?}");
    assert_sandbox_healthy();
    err
}

macro_rules! hostile {
    ($($name:ident: $body:expr => $kind:ident $(, $exc:expr)?;)*) => {$(
        #[test]
        fn $name() {
            #[allow(unused_variables)]
            let exc = "";
            $(let exc = $exc;)?
            verdict($body, ErrorKind::$kind, exc);
        }
    )*};
}

hostile! {
    reading_host_files_fails: "return {'x': open('/etc/passwd').read()}" => Exception, "FileNotFoundError";
    listing_root_fails: "return {'x': os.listdir('/')}" => Exception, "FileNotFoundError";
    listing_cwd_fails: "return {'x': os.listdir('.')}" => Exception, "FileNotFoundError";
    opening_sockets_fails: "import socket\ns = socket.socket()\ns.connect(('127.0.0.1', 22))\nreturn {}" => Exception, "PermissionError";
    resolving_names_fails: "import socket\nreturn {'ip': socket.gethostbyname('localhost')}" => Exception, "gaierror";
    starting_a_subprocess_fails: "import subprocess\nreturn {'rc': subprocess.run(['ls']).returncode}" => Exception, "OSError";
    os_system_does_not_exist: "return {'rc': os.system('ls')}" => Exception, "AttributeError";
    fork_does_not_exist: "return {'pid': os.fork()}" => Exception, "AttributeError";
    starting_a_thread_fails: "import threading\nthreading.Thread(target=print).start()\nreturn {}" => Exception, "RuntimeError";
    ctypes_is_absent: "import ctypes\nreturn {}" => Exception, "ModuleNotFoundError";
    an_infinite_loop_times_out: "while True:\n    pass" => Timeout;
    a_loop_inside_c_times_out: "return {'x': sum(range(10**12))}" => Timeout;
    catastrophic_backtracking_times_out: "import re\nreturn {'x': bool(re.match(r'(a+)+$', 'a' * 40 + 'b'))}" => Timeout;
    sleeping_forever_times_out: "time.sleep(10**9)\nreturn {}" => Timeout;
    input_from_stdin_sees_eof: "return {'x': input()}" => Exception, "EOFError";
    a_memory_bomb_hits_the_cap: "x = []\nwhile True:\n    x.append(bytearray(10**7))" => Memory, "MemoryError";
    one_huge_allocation_hits_the_cap: "return {'x': len('x' * 10**9)}" => Memory, "MemoryError";
    printing_a_gigabyte_hits_the_output_limit: "for _ in range(10**6):\n    print('x' * 1000)\nreturn {}" => OutputLimit, "OutputLimitExceeded";
    raw_writes_hit_the_output_limit: "while True:\n    os.write(1, b'z' * 10000)" => OutputLimit, "OSError";
    exit_is_a_system_exit: "exit(3)" => Exception, "SystemExit";
    os_exit_is_a_system_exit: "os._exit(4)" => Exception, "SystemExit";
    posix_exit_ends_the_instance: "import posix\nposix._exit(5)" => Trap;
}

#[test]
fn reading_stdin_gives_nothing() {
    let report = run(
        &bootcamp_with_generator("return {'x': sys.stdin.read()}"),
        0..1,
        None,
    );
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.cases().next().unwrap().case_value()["x"], "");
}

#[test]
fn deep_recursion_with_a_raised_limit_traps_without_killing_the_host() {
    let body = "sys.setrecursionlimit(10**6)\ndef f(n):\n    return 0 if n == 0 else 1 + f(n - 1)\nreturn {'x': f(10**6)}";
    let mut spec = util::spec(&bootcamp_with_generator(body), 0..1, None);
    spec.limits.timeout = Duration::from_secs(60);
    let err = sandbox()
        .run_blocking(spec)
        .error
        .expect("a million frames must not fit");
    assert_eq!(
        (err.kind, err.stage),
        (ErrorKind::Trap, Stage::Generate),
        "{err:?}"
    );
    assert!(err.message.contains("stack overflow"), "{}", err.message);
    assert_sandbox_healthy();
}

#[test]
fn deep_but_bounded_recursion_has_room() {
    // CodeContests-style DFS: a raised limit and a few hundred thousand frames.
    let body = "sys.setrecursionlimit(10**6)\ndef f(n):\n    return 0 if n == 0 else 1 + f(n - 1)\nreturn {'x': f(300000)}";
    let mut spec = util::spec(&bootcamp_with_generator(body), 0..1, None);
    spec.limits.timeout = Duration::from_secs(30);
    let report = sandbox().run_blocking(spec);
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.cases().next().unwrap().case_value()["x"], 300000);
}

#[test]
fn exit_inside_verify_score_is_reported_at_verify() {
    for (exit, kind, exc) in [
        ("exit(0)", ErrorKind::Exception, "SystemExit"),
        ("os._exit(0)", ErrorKind::Exception, "SystemExit"),
        ("import posix; posix._exit(0)", ErrorKind::Trap, ""),
    ] {
        let source = crate::util::bootcamp_with_verifier(exit);
        let err = run(&source, 0..1, Some("[answer]1[/answer]"))
            .error
            .expect(exit);
        assert_eq!(
            (err.kind, err.stage, err.exc_type.as_str()),
            (kind, Stage::Verify, exc),
            "{exit}"
        );
        assert_sandbox_healthy();
    }
}

#[test]
fn files_written_in_one_run_are_gone_in_the_next() {
    let writer = bootcamp_with_generator(
        "ok = []\nfor path in ('leak.txt', '/tmp/leak.txt', '/leak.txt'):\n    try:\n        open(path, 'w').write('x')\n        ok.append(path)\n    except OSError:\n        pass\nreturn {'written': ok}",
    );
    let report = run(&writer, 0..1, None);
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(
        report.cases().next().unwrap().case_value()["written"],
        serde_json::json!([])
    );
    let reader = bootcamp_with_generator(
        "return {'seen': [p for p in ('leak.txt', '/tmp/leak.txt', '/leak.txt') if os.path.exists(p)]}",
    );
    let report = run(&reader, 0..1, None);
    assert_eq!(
        report.cases().next().unwrap().case_value()["seen"],
        serde_json::json!([])
    );
}

#[test]
fn globals_set_in_one_run_are_gone_in_the_next() {
    let setter = bootcamp_with_generator(
        "import builtins\nbuiltins.LEAKED = 42\nsys.modules['leaked_mod'] = sys\nreturn {}",
    );
    assert!(run(&setter, 0..1, None).error.is_none());
    let reader = bootcamp_with_generator(
        "import builtins\nreturn {'b': hasattr(builtins, 'LEAKED'), 'm': 'leaked_mod' in sys.modules}",
    );
    let report = run(&reader, 0..1, None);
    assert_eq!(
        report.cases().next().unwrap().case_value(),
        serde_json::json!({"b": false, "m": false})
    );
}

#[test]
fn a_cheating_bootcamp_cannot_make_other_bootcamps_pass() {
    let cheater = read_bootcamp("cheater.py");
    let report = run(&cheater, 0..1, Some("anything at all"));
    // Breaking builtins breaks its own run (random.seed needs isinstance):
    // reported as the exception it is, not as a crash of the harness.
    let err = report.error.expect("the cheater broke its own interpreter");
    assert_eq!(
        (err.kind, err.stage, err.exc_type.as_str()),
        (ErrorKind::Exception, Stage::Generate, "TypeError")
    );
    let honest = read_bootcamp("knapsack_compat.py");
    let report = run(&honest, 0..3, Some("[answer]Z[/answer]"));
    assert!(report.error.is_none(), "{:?}", report.error);
    for case in report.cases() {
        assert_eq!(
            case.score,
            Some(0.0),
            "the patched Basebootcamp leaked into a later run"
        );
    }
}

#[test]
fn the_environment_of_the_host_is_invisible() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("env.py");
    std::fs::write(
        &file,
        bootcamp_with_generator("return {'env': dict(os.environ), 'argv': sys.argv}"),
    )
    .unwrap();
    let out = util::bin()
        .env("BOOTFORGE_TEST_SECRET", "hunter2")
        .args(["sandbox", "run", "--json", "--cases", "1"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains("hunter2"));
    let first: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["case"]["env"], serde_json::json!({}));
    assert_eq!(first["case"]["argv"], serde_json::json!([]));
}

#[test]
fn a_bootcamp_cannot_plant_code_for_later_runs_of_its_own_file() {
    // The file is strict; while loading it writes a lenient copy of itself
    // wherever the harness could keep compiled code. Every run of the same
    // file in this process must still execute the file as written.
    let source = read_bootcamp("hostile/swap_compiled.py");
    for round in 0..3 {
        let report = run(&source, 0..4, Some("[answer]banana[/answer]"));
        assert!(report.error.is_none(), "{:?}", report.error);
        for case in report.cases() {
            assert_eq!(
                case.score,
                Some(0.0),
                "round {round}: a forged verifier ran instead of the file"
            );
        }
    }
    // And the file's own verifier still works: a right answer scores 1.
    let report = run(&source, 7..8, None);
    let case: serde_json::Value =
        serde_json::from_str(&report.cases().next().unwrap().case_json).unwrap();
    let right = case["a"].as_i64().unwrap() * case["b"].as_i64().unwrap();
    let report = run(&source, 7..8, Some(&format!("[answer]{right}[/answer]")));
    assert_eq!(report.cases().next().unwrap().score, Some(1.0));
}
