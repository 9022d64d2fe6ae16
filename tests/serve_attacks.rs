//! `bootforge serve` under attack, through the real binary on 127.0.0.1:0
//! and headless Chromium: DNS rebinding (a foreign `Host`) and cross-site
//! posts (a foreign `Origin` or `Referer`) refused; bidi controls in code
//! and names shown as escapes with their lines marked; anonymous requests
//! that cannot sign anyone out; sign-ins that expire and are rationed;
//! weak tokens and plain-HTTP binds refused; `Secure` cookies behind TLS;
//! bounded fields; internal errors logged and not shown.

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::review::bootforge_env;
use crate::serve::{Reply, Server, chromium_run, get, http, http_with, serve, serve_logging};
use crate::util::{bin, repo_path};

/// A database whose queue holds the bootcamp file `rel`; its item id.
fn queued(dir: &Path, rel: &str) -> (std::path::PathBuf, i64) {
    let db = dir.join("bootforge.db");
    let (code, stdout, stderr) = bootforge_env(
        &db,
        &["review", "add", repo_path(rel).to_str().unwrap(), "--json"],
        &[],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let id = serde_json::from_str::<Value>(stdout.trim()).unwrap()["item"]
        .as_i64()
        .unwrap_or_else(|| panic!("not queued: {stdout}"));
    (db, id)
}

fn decisions(db: &Path, id: i64) -> Vec<Value> {
    let (code, stdout, stderr) =
        bootforge_env(db, &["review", "show", &id.to_string(), "--json"], &[]);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str::<Value>(stdout.trim()).unwrap()["decisions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn port(server: &Server) -> &str {
    server.addr.rsplit(':').next().unwrap()
}

/// A strong token in a file under `dir`.
fn token_file(dir: &Path) -> (String, String) {
    let token = "3f9a1c07be52d8e46a0b9c1d7e2f3a4b5c6d7e8f90a1b2c3".to_owned();
    let path = dir.join("token");
    std::fs::write(&path, format!("{token}\n")).unwrap();
    (token, path.to_str().unwrap().to_owned())
}

/// Sign `name` in; the signed-in session.
fn sign_in(server: &Server, name: &str, token: &str) -> Reply {
    let login = get(server, "/login", None);
    assert_eq!(login.status, 200, "{}", login.body);
    let (session, csrf) = (login.session().unwrap(), login.csrf());
    http(
        &server.addr,
        "POST",
        "/login",
        Some(&session),
        &[("csrf", &csrf), ("name", name), ("token", token)],
    )
}

#[test]
fn a_rebound_host_and_a_foreign_origin_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (db, id) = queued(dir.path(), "tests/bootcamps/campaign/digit_sum.py");
    let server = serve(&db, &["--allowed-host", "review.example.test"]);
    let port = port(&server).to_owned();
    let path = format!("/items/{id}");
    let with_host = |host: &str, cookie: Option<&str>| {
        http_with(&server.addr, "GET", &path, cookie, &[], &[("Host", host)])
    };

    // An attacker's name rebound to 127.0.0.1: no page, no cookie, no token.
    let attacker = format!("rebind.attacker.example:{port}");
    let r = with_host(&attacker, None);
    assert_eq!(r.status, 421, "{}", r.body);
    assert!(r.body.contains("--allowed-host"), "{}", r.body);
    assert!(r.session().is_none() && !r.body.contains("csrf"));
    assert!(
        r.header("content-security-policy").is_some(),
        "refusals carry the headers too"
    );
    for bad in ["localhost.attacker.example", "127.0.0.2", ""] {
        assert_eq!(with_host(bad, None).status, 421, "{bad:?}");
    }
    // Its own names: the address, localhost, an allowed name.
    for good in [
        server.addr.clone(),
        format!("localhost:{port}"),
        "review.example.test".to_owned(),
    ] {
        assert_eq!(with_host(&good, None).status, 200, "{good}");
    }

    // A post from another origin, even with a valid cookie and token.
    let page = get(&server, &path, None);
    let (session, csrf) = (page.session().unwrap(), page.csrf());
    let approve = [
        ("csrf", csrf.as_str()),
        ("action", "approve"),
        ("reviewer", "alice"),
    ];
    let post = |headers: &[(&str, &str)]| {
        http_with(
            &server.addr,
            "POST",
            &format!("{path}/decide"),
            Some(&session),
            &approve,
            headers,
        )
    };
    let own = format!("http://{}", server.addr);
    let foreign = format!("http://{attacker}");
    let foreign_page = format!("{foreign}/items/{id}");
    let refused = [
        vec![("Host", attacker.as_str()), ("Origin", foreign.as_str())],
        vec![("Host", server.addr.as_str()), ("Origin", foreign.as_str())],
        vec![("Host", server.addr.as_str()), ("Origin", "null")],
        vec![
            ("Host", server.addr.as_str()),
            ("Referer", foreign_page.as_str()),
        ],
        vec![("Host", server.addr.as_str()), ("Origin", "")],
    ];
    for headers in &refused {
        let r = post(headers);
        assert!(matches!(r.status, 403 | 421), "{headers:?}: {}", r.status);
    }
    assert!(decisions(&db, id).is_empty(), "nothing recorded");

    // Field lengths: a long name, a long note, hidden characters in a name.
    let long_name = "n".repeat(81);
    let long_note = "x".repeat(4_001);
    for (reviewer, note) in [
        (long_name.as_str(), "ok"),
        ("alice", long_note.as_str()),
        ("ali\u{202e}ce", "ok"),
    ] {
        let r = http_with(
            &server.addr,
            "POST",
            &format!("{path}/decide"),
            Some(&session),
            &[
                ("csrf", &csrf),
                ("action", "approve"),
                ("reviewer", reviewer),
                ("note", note),
            ],
            &[("Host", &server.addr), ("Origin", &own)],
        );
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("at most"), "{}", r.body);
    }
    assert!(decisions(&db, id).is_empty(), "nothing recorded");
    let r = get(&server, &format!("/queue?task={}", "t".repeat(201)), None);
    assert_eq!(r.status, 400);

    // From its own page (as a browser sends it), the decision is recorded.
    let r = post(&[("Host", &server.addr), ("Origin", &own)]);
    assert_eq!(r.status, 303, "{}", r.body);
    let d = decisions(&db, id);
    assert_eq!((d.len(), d[0]["reviewer"].as_str()), (1, Some("alice")));
}

#[test]
fn anonymous_requests_cannot_sign_a_reviewer_out_and_sign_ins_are_rationed() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = queued(dir.path(), "tests/bootcamps/campaign/digit_sum.py");
    let (token, file) = token_file(dir.path());
    let server = serve(&db, &["--auth-token-file", &file]);
    let r = sign_in(&server, "ada", &token);
    assert_eq!(r.status, 303, "{}", r.body);
    let ada = r.session().unwrap();
    assert!(
        !r.header("set-cookie").unwrap().contains("Secure"),
        "plain HTTP"
    );

    // 10,000 anonymous requests: cookie-less, to the sign-in page, and with
    // made-up session ids, from four clients at once.
    let addr = server.addr.clone();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                for i in 0..2_500 {
                    let made_up = format!("{:064x}", t * 10_000 + i);
                    let (path, cookie) = match i % 3 {
                        0 => ("/queue", None),
                        1 => ("/login", None),
                        _ => ("/items/1", Some(made_up.as_str())),
                    };
                    let r = http(&addr, "GET", path, cookie, &[]);
                    assert!(matches!(r.status, 200 | 303), "{}", r.status);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let page = get(&server, "/queue", Some(&ada));
    assert_eq!(page.status, 200, "still signed in: {}", page.body);
    assert!(page.body.contains("signed in as ada"));

    // Guessing the token: after the allowance, even the right token waits.
    let login = get(&server, "/login", None);
    let (session, csrf) = (login.session().unwrap(), login.csrf());
    let attempt = |t: &str| {
        http(
            &server.addr,
            "POST",
            "/login",
            Some(&session),
            &[("csrf", &csrf), ("name", "mallory"), ("token", t)],
        )
    };
    let mut limited = None;
    for i in 0..40 {
        let r = attempt(&format!("guess-{i:040}"));
        if r.status == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, 403, "{}", r.body);
    }
    let limited = limited.expect("sign-in attempts are rationed");
    assert!(limited.body.contains("too many sign-in attempts"));
    assert!(limited.header("retry-after").is_some());
    assert_eq!(attempt(&token).status, 429);
}

#[test]
fn expired_sign_ins_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (db, id) = queued(dir.path(), "tests/bootcamps/campaign/digit_sum.py");
    let (token, file) = token_file(dir.path());
    let server = serve(&db, &["--auth-token-file", &file, "--session-ttl", "2s"]);
    let r = sign_in(&server, "ada", &token);
    assert_eq!(r.status, 303, "{}", r.body);
    let ada = r.session().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let r = get(&server, &format!("/items/{id}"), Some(&ada));
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    let r = get(&server, "/login", Some(&ada));
    assert!(!r.body.contains("signed in as"), "{}", r.body);
}

#[test]
fn weak_tokens_and_plain_http_beyond_loopback_are_refused_and_cookies_are_secure_behind_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = queued(dir.path(), "tests/bootcamps/campaign/digit_sum.py");
    let run = |args: &[&str]| {
        let out = bin().arg("--db").arg(&db).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let weak = dir.path().join("weak");
    std::fs::write(&weak, "aaaaaaaaaaaaaaaa\n").unwrap();
    let (code, stderr) = run(&["serve", "--auth-token-file", weak.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("too easy to guess") && stderr.contains("openssl rand -hex 24"),
        "{stderr}"
    );
    let (_, file) = token_file(dir.path());
    let (code, stderr) = run(&["serve", "--bind", "0.0.0.0:0", "--auth-token-file", &file]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("plain HTTP") && stderr.contains("--behind-tls-proxy"),
        "{stderr}"
    );
    for bad in [
        &["serve", "--allowed-host", "https://x.example/"][..],
        &["serve", "--session-ttl", "soon"][..],
    ] {
        let (code, stderr) = run(bad);
        assert_eq!(code, Some(2), "{bad:?}: {stderr}");
    }

    // Behind a TLS proxy every cookie is Secure; without the flag, a proxy
    // saying the browser came over https makes it Secure too.
    let behind = serve(&db, &["--behind-tls-proxy"]);
    let cookie = get(&behind, "/queue", None);
    assert!(
        cookie.header("set-cookie").unwrap().contains("; Secure"),
        "{:?}",
        cookie.headers
    );
    let plain = serve(&db, &[]);
    let r = get(&plain, "/queue", None);
    assert!(!r.header("set-cookie").unwrap().contains("Secure"));
    let r = http_with(
        &plain.addr,
        "GET",
        "/queue",
        None,
        &[],
        &[("Host", &plain.addr), ("X-Forwarded-Proto", "https")],
    );
    assert!(r.header("set-cookie").unwrap().contains("; Secure"));
}

#[test]
fn internal_errors_are_logged_and_not_shown() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = queued(dir.path(), "tests/bootcamps/campaign/digit_sum.py");
    let log = Arc::new(Mutex::new(String::new()));
    let sink = log.clone();
    let server = serve_logging(&db, &[], move |line| {
        let mut l = sink.lock().unwrap();
        l.push_str(&line);
        l.push('\n');
    });
    assert_eq!(get(&server, "/history", None).status, 200);
    // Break the store under the running server.
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('DROP TABLE review_decisions'); c.commit()",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = get(&server, "/history", None);
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(!r.body.contains("no such table"), "{}", r.body);
    assert!(r.body.contains("details are in its log"), "{}", r.body);
    // The log is written as the page is answered; wait for it, not a time.
    let mut logged = false;
    for _ in 0..200 {
        if log.lock().unwrap().contains("no such table") {
            logged = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        logged,
        "the error is in the server's log: {}",
        log.lock().unwrap()
    );
}

#[test]
fn a_browser_shows_bidi_controls_in_code_and_names_as_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let (db, id) = queued(dir.path(), "tests/bootcamps/serve/trojan_digits.py");
    // A reviewer name with a right-to-left override in it, as a bootforge
    // from before the name rule (or another writer of the database) stored
    // it: the CLI and the page now refuse such names, the page must still
    // show stored ones safely.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let url = format!("sqlite://{}", db.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(
            "INSERT INTO review_decisions (item_id, decision, reviewer, note, forced, created_at) VALUES (?, 'approved', ?, ?, 0, '2026-12-01T00:00:00.000Z')",
        )
        .bind(id)
        .bind("eve\u{202e}")
        .bind("looks fine \u{2067}42\u{2069}")
        .execute(&mut conn)
        .await
        .unwrap();
    });
    let (code, _, stderr) = bootforge_env(
        &db,
        &[
            "review",
            "approve",
            &id.to_string(),
            "--reviewer",
            "eve\u{202e}",
            "--force",
        ],
        &[],
    );
    assert_eq!(code, 2, "the CLI refuses such a name now: {stderr}");
    let server = serve(&db, &[]);
    let url = format!("http://{}/items/{id}", server.addr);
    let dom = chromium_run(&["--dump-dom", "--virtual-time-budget=2000"], &url);
    for hidden in ['\u{202e}', '\u{2066}', '\u{2067}', '\u{2069}'] {
        assert!(!dom.contains(hidden), "{:?} reached the page", hidden);
    }
    // The code's lines, escaped and marked, and named above the code.
    let marked = dom.matches("<mark class=\"hidden-chars\"").count();
    assert!(
        marked >= 4,
        "two code lines, the name, the note: {marked}\n{dom}"
    );
    assert!(
        dom.contains("passes\\u202e\\u2066# 4242 == solution fi\\u2069\\u2066"),
        "{dom}"
    );
    assert!(dom.contains("# \\u202e\\u2066or solution == 4242\\u2069\\u2066"));
    let notice = dom
        .split("id=\"hidden-lines\">")
        .nth(1)
        .unwrap_or_else(|| panic!("no notice of hidden lines: {dom}"));
    assert!(notice.starts_with("Line(s) 35, 36 hold"), "{notice}");
    // The name and note under "Earlier decisions", escaped in place.
    assert!(dom.contains("eve\\u202e</mark></bdi> at "), "{dom}");
    assert!(dom.contains("looks fine \\u206742\\u2069"), "{dom}");
    // A screenshot, to look at: nothing reordered (kept only where asked).
    let shot = dir.path().join("bidi.png");
    chromium_run(
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,1400",
            "--hide-scrollbars",
        ],
        &url,
    );
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);
    if let Some(keep) = std::env::var_os("BOOTFORGE_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}
