//! What reaches an endpoint and what comes back to the user, through the real
//! binary against a recording fake server: the documented defaults are in
//! every request body (each role, a single endpoint, a fleet, `check
//! --model`); a campaign whose author answers were all cut off says so in
//! its own output; `check` against a refused connection or a refused request
//! shows the cause and exits 3 (`undecided`); solver truncation is in the
//! human metrics line; an https endpoint is verified against the roots the
//! system trusts.

use std::path::{Path, PathBuf};

use crate::fake::{FakeReply, FakeRequest, FakeServer};
use serde_json::Value;

use crate::campaign::both;
use crate::util::{bin, repo_path};

const ADDITION: (&str, &str) = (
    "addition",
    "# Addition\n\nWrite a bootcamp asking for the sum of two integers.\n",
);

/// A campaign directory: tasks and a config of `text` (a `tasks = "tasks"`
/// line is added).
fn campaign_dir(tasks: &[(&str, &str)], text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tasks")).unwrap();
    for (id, body) in tasks {
        std::fs::write(dir.path().join("tasks").join(format!("{id}.md")), body).unwrap();
    }
    let config = dir.path().join("campaign.toml");
    std::fs::write(
        &config,
        format!("name = \"endpoint\"\ntasks = \"tasks\"\n{text}"),
    )
    .unwrap();
    (dir, config)
}

/// Run the binary on `db`; `base_url` is the child's `OPENAI_BASE_URL`.
fn run(db: &Path, args: &[&str], base_url: Option<&str>) -> (i32, String, String) {
    let mut cmd = bin();
    cmd.arg("--db")
        .arg(db)
        .args(args)
        .env_remove("OPENAI_BASE_URL")
        .env_remove("BOOTFORGE_DB");
    if let Some(url) = base_url {
        cmd.env("OPENAI_BASE_URL", url);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn last_json(stdout: &str) -> Value {
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn is_author(req: &FakeRequest) -> bool {
    req.prompt.starts_with("You write bootcamps")
}

/// What one request body must carry.
struct Expected {
    model: &'static str,
    stream: bool,
    temperature: Option<f64>,
    max_tokens: Option<u64>,
}

fn assert_carries(req: &FakeRequest, e: &Expected) {
    let body = &req.body;
    assert_eq!(body["model"], e.model, "{body}");
    assert_eq!(body["stream"], e.stream, "{body}");
    if e.stream {
        assert_eq!(body["stream_options"]["include_usage"], true, "{body}");
    } else {
        assert!(body.get("stream_options").is_none(), "{body}");
    }
    match e.temperature {
        Some(t) => {
            let sent = body["temperature"]
                .as_f64()
                .unwrap_or_else(|| panic!("no temperature sent: {body}"));
            assert!((sent - t).abs() < 1e-6, "temperature {sent}, want {t}");
        }
        None => assert!(body.get("temperature").is_none(), "{body}"),
    }
    assert_eq!(body.get("max_tokens").and_then(Value::as_u64), e.max_tokens);
    assert_eq!(body["messages"][0]["role"], "user");
}

/// Both roles' requests of a campaign, each checked.
fn assert_roles(server: &FakeServer, author: &Expected, solver: &Expected) -> Vec<FakeRequest> {
    let requests = server.requests();
    let (authors, solvers): (Vec<&FakeRequest>, Vec<&FakeRequest>) =
        requests.iter().partition(|r| is_author(r));
    assert!(!authors.is_empty() && !solvers.is_empty(), "{requests:?}");
    for r in authors {
        assert_carries(r, author);
    }
    for r in solvers {
        assert_carries(r, solver);
    }
    requests
}

#[test]
fn every_request_carries_the_documented_defaults() {
    // One endpoint per role, found through OPENAI_BASE_URL (the documented
    // default of an empty base_url); tables that name only the model.
    let server = FakeServer::start(both).unwrap();
    let (dir, config) = campaign_dir(
        &[ADDITION],
        "[author]\nmodel = \"author-model\"\n[solver]\nmodel = \"solver-model\"\n\
         [evolution]\ndrafts_per_task = 1\nchildren_per_parent = 1\nparents_per_generation = 1\nmax_generations = 2\n\
         [selftest]\ncases = 8\nsolver_cases = 6\n",
    );
    let db = dir.path().join("bootforge.db");
    let (code, stdout, stderr) = run(
        &db,
        &["campaign", "run", config.to_str().unwrap(), "--json"],
        Some(server.base_url()),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let requests = assert_roles(
        &server,
        &Expected {
            model: "author-model",
            stream: true,
            temperature: Some(0.8),
            max_tokens: None,
        },
        &Expected {
            model: "solver-model",
            stream: true,
            temperature: Some(0.6),
            max_tokens: None,
        },
    );
    // The solver is always right: too easy, refined. The refine prompt's
    // sample shows the case itself and, apart, the prompt the solver saw.
    let refine = requests
        .iter()
        .find(|r| is_author(r) && r.prompt.contains("# The current draft"))
        .expect("a refine request");
    let line = |prefix: &str| {
        refine
            .prompt
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line: {}", refine.prompt))
            .to_owned()
    };
    let case = line("- case: ");
    assert!(
        case.contains("\"a\"") && case.contains("\"b\"") && !case.contains("What is"),
        "{case}"
    );
    assert!(line("- prompt: ").contains("What is"));

    // A fleet: an endpoint serving the author under its own name without
    // streaming, and one serving the solver under the role's name, with an
    // explicit temperature and token limit.
    let server = FakeServer::start(both).unwrap();
    let url = server.base_url();
    let (dir, config) = campaign_dir(
        &[ADDITION],
        &format!(
            "[author]\nmodel = \"author-model\"\n[[author.endpoints]]\nbase_url = \"{url}\"\nmodel = \"served-author\"\nstream = false\n\
             [solver]\nmodel = \"solver-model\"\ntemperature = 0.2\nmax_tokens = 300\n[[solver.endpoints]]\nbase_url = \"{url}\"\n\
             [evolution]\ndrafts_per_task = 1\nmax_generations = 1\n[selftest]\ncases = 8\nsolver_cases = 4\n"
        ),
    );
    let db = dir.path().join("bootforge.db");
    let (code, stdout, stderr) = run(
        &db,
        &["campaign", "run", config.to_str().unwrap(), "--json"],
        None,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_roles(
        &server,
        &Expected {
            model: "served-author",
            stream: false,
            temperature: Some(0.8),
            max_tokens: None,
        },
        &Expected {
            model: "solver-model",
            stream: true,
            temperature: Some(0.2),
            max_tokens: Some(300),
        },
    );

    // check --model: the server's own temperature and limit unless given.
    let good = repo_path("tests/bootcamps/check/good.py");
    for (extra, temperature, max_tokens) in [
        (&[][..], None, None),
        (
            &["--temperature", "0.3", "--max-tokens", "64"][..],
            Some(0.3),
            Some(64),
        ),
    ] {
        let server = FakeServer::start(crate::campaign::solver).unwrap();
        let mut args = vec![
            "check",
            good.to_str().unwrap(),
            "--cases",
            "8",
            "--solver-cases",
            "3",
            "--model",
            "check-solver",
            "--base-url",
            server.base_url(),
        ];
        args.extend_from_slice(extra);
        let (code, stdout, stderr) = run(&dir.path().join("unused.db"), &args, None);
        assert!(code == 0 || code == 1, "{stdout}\n{stderr}");
        let requests = server.requests();
        assert_eq!(requests.len(), 3);
        for r in &requests {
            assert_carries(
                r,
                &Expected {
                    model: "check-solver",
                    stream: true,
                    temperature,
                    max_tokens,
                },
            );
        }
    }
}

/// A reply cut off by max_tokens halfway through a code block.
fn cut_code(_: &FakeRequest) -> FakeReply {
    FakeReply::cut(
        "Here is the bootcamp.\n\n```python\nfrom bootcamp import Basebootcamp\n\nclass Cutbootcamp(Basebootcamp):\n    def case_gen",
    )
}

#[test]
fn a_campaign_whose_author_answers_were_all_cut_off_names_the_cause() {
    let server = FakeServer::start(|req| {
        if !is_author(req) {
            FakeReply::answer("[answer]0[/answer]")
        } else if req.prompt.contains("Task id: prose") {
            FakeReply::answer("I would rather describe the idea in words.")
        } else {
            cut_code(req)
        }
    })
    .unwrap();
    let url = server.base_url();
    let settings = format!(
        "[author]\nmodel = \"author-model\"\nbase_url = \"{url}\"\nmax_tokens = 64\n\
         [solver]\nmodel = \"solver-model\"\nbase_url = \"{url}\"\n\
         [evolution]\ndrafts_per_task = 2\nchildren_per_parent = 1\nparents_per_generation = 1\nmax_generations = 2\n"
    );
    let (dir, config) = campaign_dir(&[ADDITION], &settings);
    let db = dir.path().join("bootforge.db");
    let config = config.to_str().unwrap();
    let (code, stdout, stderr) = run(&db, &["campaign", "run", config, "--json"], None);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let result = last_json(&stdout);
    assert_eq!(result["status"], "done");
    assert_eq!(result["tasks"][0]["status"], "rejected", "{result}");
    let reason = result["reason"]
        .as_str()
        .unwrap_or_else(|| panic!("{result}"));
    assert!(
        reason.contains("every author answer") && reason.contains("cut off by max_tokens"),
        "{reason}"
    );
    let hint = result["hint"].as_str().unwrap();
    assert!(
        hint.contains("raise [author].max_tokens (now 64)"),
        "{hint}"
    );
    let (code, human, stderr) = run(&db, &["campaign", "run", config], None);
    assert_eq!(code, 0, "{human}\n{stderr}");
    assert!(
        human.contains("campaign 2: done")
            && human.contains("cause: every author answer")
            && human.contains("next: raise [author].max_tokens (now 64)"),
        "{human}"
    );
    // No model has a price: the dollars are unknown, not zero.
    let (code, status, _) = run(&db, &["campaign", "status", "1", "--json"], None);
    assert_eq!(code, 0);
    let status = last_json(&status);
    assert!(status["usd"].is_null(), "{status}");
    assert!(status["spend"][0]["usd"].is_null(), "{status}");

    // An author that answers without code: no truncation to blame, and the
    // draft status says what happened.
    let (dir, config) = campaign_dir(&[("prose", "# Prose\n\nAnything.\n")], &settings);
    let db = dir.path().join("bootforge.db");
    let (code, stdout, stderr) = run(
        &db,
        &["campaign", "run", config.to_str().unwrap(), "--json"],
        None,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let result = last_json(&stdout);
    assert!(
        result["reason"].is_null() && result["hint"].is_null(),
        "{result}"
    );
    let (_, lineage, _) = run(&db, &["lineage", "prose", "--json"], None);
    let lineage = last_json(&lineage);
    let drafts = lineage["drafts"].as_array().unwrap();
    assert!(!drafts.is_empty());
    for d in drafts {
        assert_eq!(d["status"], "no_code", "{d}");
        assert!(
            d["note"].as_str().unwrap().contains("no Python code block"),
            "{d}"
        );
    }
    let (_, human, _) = run(&db, &["lineage", "prose"], None);
    assert!(human.contains("no Python code block"), "{human}");
}

/// `check` (human output) of the good bootcamp against `base_url`.
fn check_human(base_url: &str, extra: &[&str]) -> (i32, String, String) {
    let good = repo_path("tests/bootcamps/check/good.py");
    let mut args = vec![
        "check",
        good.to_str().unwrap(),
        "--cases",
        "8",
        "--model",
        "check-solver",
        "--base-url",
        base_url,
    ];
    args.extend_from_slice(extra);
    let dir = tempfile::tempdir().unwrap();
    run(&dir.path().join("unused.db"), &args, None)
}

#[test]
fn a_solver_that_cannot_be_reached_or_refuses_leaves_the_check_undecided_with_its_cause() {
    // A port nothing listens on: the connection is refused.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let down = format!("http://127.0.0.1:{port}/v1");
    let (code, stdout, stderr) = check_human(&down, &["--solver-cases", "3", "--max-retries", "1"]);
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    assert!(stdout.starts_with("UNDECIDED"), "{stdout}");
    // The solver stage could not judge either: undecided, not failed.
    let stages = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("stages"))
        .unwrap_or_else(|| panic!("no stages line: {stdout}"));
    assert!(
        stages.contains("solver UNDECIDED") && !stages.contains("FAILED"),
        "{stages}"
    );
    assert!(
        stdout.contains("solver_unavailable")
            && stdout.contains("after 2 attempts")
            && stdout.to_lowercase().contains("connection refused"),
        "{stdout}"
    );
    let good = repo_path("tests/bootcamps/check/good.py");
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run(
        &dir.path().join("unused.db"),
        &[
            "check",
            good.to_str().unwrap(),
            "--cases",
            "8",
            "--solver-cases",
            "2",
            "--max-retries",
            "0",
            "--model",
            "m",
            "--base-url",
            &down,
            "--json",
        ],
        None,
    );
    assert_eq!(code, 3);
    let report = last_json(&stdout);
    assert_eq!(report["verdict"], "undecided");
    let statuses: Vec<(&str, &str)> = report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["stage"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses.last(),
        Some(&("solver", "undecided")),
        "{statuses:?}"
    );
    assert!(
        statuses[..statuses.len() - 1]
            .iter()
            .all(|(_, s)| *s == "passed" || *s == "skipped"),
        "{statuses:?}"
    );
    // An audit of it: not a failure, not a pass.
    let (code, stdout, stderr) = run(
        &dir.path().join("unused.db"),
        &[
            "audit",
            good.to_str().unwrap(),
            "--cases",
            "8",
            "--solver-cases",
            "2",
            "--max-retries",
            "0",
            "--model",
            "m",
            "--base-url",
            &down,
            "--json",
        ],
        None,
    );
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    let summary = &last_json(&stdout)["summary"];
    assert_eq!(
        (
            &summary["failed"],
            &summary["undecided"],
            &summary["passed"]
        ),
        (&Value::from(0), &Value::from(1), &Value::from(0)),
        "{summary}"
    );

    // A request too long for the server's context (llama.cpp's words): refused
    // as such, never retried.
    let server = FakeServer::start(|_| {
        FakeReply::Raw(
            400,
            r#"{"error":{"code":400,"message":"request (9100 tokens) exceeds the available context size (4096 tokens), try increasing it","type":"exceed_context_size_error"}}"#.into(),
        )
    })
    .unwrap();
    let (code, stdout, stderr) = check_human(server.base_url(), &["--solver-cases", "4"]);
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("in one attempt, not retried")
            && stdout.contains("request refused (HTTP 400)")
            && stdout.contains("exceeds the available context size"),
        "{stdout}"
    );
    assert!(!stdout.contains("after retries"), "{stdout}");
    assert_eq!(
        server.requests().len(),
        4,
        "a refused request is not retried"
    );
}

#[test]
fn solver_answers_cut_off_are_in_the_human_metrics_line() {
    let server = FakeServer::start(|req| match crate::campaign::solver(req) {
        FakeReply::Answer { content, .. } if req.index % 3 == 0 => FakeReply::cut(content),
        other => other,
    })
    .unwrap();
    let (code, stdout, stderr) = check_human(
        server.base_url(),
        &["--solver-cases", "8", "--accuracy-max", "1"],
    );
    assert!(code == 0 || code == 1, "{stdout}\n{stderr}");
    // Requests 0, 3 and 6 of 8 were cut off (no retries: every answer came).
    assert_eq!(server.requests().len(), 8);
    let metrics = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("metrics"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        metrics.contains("3/8 solver answers cut off by max_tokens"),
        "{metrics}"
    );
}

/// A TLS front on `127.0.0.1:0` for `target` (plain HTTP), with the test
/// certificate for `localhost` (tests/tls/); returns its port. It runs on
/// its own thread until the test process ends.
fn tls_front(target: std::net::SocketAddr) -> u16 {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let certs = CertificateDer::pem_file_iter(repo_path("tests/tls/server.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(repo_path("tests/tls/server.key")).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that refuses the certificate ends here.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    if let Ok(mut plain) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                    }
                });
            }
        });
    });
    port
}

#[test]
fn an_https_endpoint_is_verified_against_the_roots_the_system_trusts() {
    let server = FakeServer::start(|_| FakeReply::answer("[answer]0[/answer]")).unwrap();
    let target = server
        .base_url()
        .trim_start_matches("http://")
        .trim_end_matches("/v1")
        .parse()
        .unwrap();
    let url = format!("https://localhost:{}/v1", tls_front(target));
    let good = repo_path("tests/bootcamps/check/good.py");
    let empty = tempfile::tempdir().unwrap();
    // `SSL_CERT_FILE` / `SSL_CERT_DIR`: where the system's roots are read
    // from (as OpenSSL reads them), here a bundle of the test CA alone.
    let check = |ca_file: Option<&Path>| {
        let mut cmd = bin();
        cmd.args(["--db"])
            .arg(empty.path().join("unused.db"))
            .args(["check", good.to_str().unwrap(), "--cases", "4"])
            .args(["--solver-cases", "2", "--max-retries", "0"])
            .args(["--model", "m", "--base-url", &url])
            .env_remove("OPENAI_BASE_URL")
            .env_remove("BOOTFORGE_DB");
        match ca_file {
            Some(file) => cmd
                .env("SSL_CERT_FILE", file)
                .env("SSL_CERT_DIR", empty.path()),
            None => cmd.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR"),
        };
        let out = cmd.output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    // The test CA among the trusted roots: the solver is reached over TLS.
    let trusted = check(Some(&repo_path("tests/tls/ca.pem")));
    assert!(!trusted.contains("solver_unavailable"), "{trusted}");
    let reached = server.requests().len();
    assert!(reached >= 2, "{reached} requests\n{trusted}");
    // The machine's own roots (or Mozilla's where it has none), without
    // the test CA: the certificate is refused, nothing is sent, and the
    // cause is shown.
    let refused = check(None);
    assert!(
        refused.contains("solver_unavailable") && refused.to_lowercase().contains("certificate"),
        "{refused}"
    );
    assert_eq!(server.requests().len(), reached);
}
