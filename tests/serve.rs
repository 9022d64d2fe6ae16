//! `bootforge serve` through the real binary on 127.0.0.1:0, a real SQLite
//! file filled by a campaign against the scripted fake OpenAI server, and
//! the real sandbox: every page renders, filters, decisions and their
//! refusals (the same as the CLI's), CSRF, the bind rule, token sign-in,
//! decisions from the page and the CLI at once, and headless Chromium
//! showing hostile prompts, code and answers as text.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};

use crate::fake::{FakeReply, FakeRequest, FakeServer};
use serde_json::Value;

use crate::campaign::{EXAMPLE_TASKS, Setup, both, setup};
use crate::review::bootforge_env;
use crate::util::{bin, repo_path};

/// A running `bootforge serve`, killed when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn serve(db: &Path, extra: &[&str]) -> Server {
    serve_logging(db, extra, |_| {})
}

/// [`serve`], handing every line the server writes on stderr to `log`.
pub(crate) fn serve_logging(
    db: &Path,
    extra: &[&str],
    log: impl Fn(String) + Send + 'static,
) -> Server {
    let mut child = bin()
        .arg("--db")
        .arg(db)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .args(extra)
        .env_remove("BOOTFORGE_REVIEWER")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    let addr = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    break rest.trim().to_owned();
                }
                seen.push_str(&line);
                seen.push('\n');
            }
            _ => panic!("serve ended before listening: {seen}"),
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(log));
    Server { child, addr }
}

#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The session cookie this reply sets, if any.
    pub(crate) fn session(&self) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .find_map(|(_, v)| v.strip_prefix("bf_session="))
            .map(|v| v.split(';').next().unwrap().to_owned())
    }

    /// The CSRF token of the page's first form.
    pub(crate) fn csrf(&self) -> String {
        let rest = self
            .body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .unwrap_or_else(|| panic!("no csrf field: {}", self.body));
        rest.split('"').next().unwrap().to_owned()
    }
}

/// One HTTP/1.1 request over a fresh connection (`Connection: close`).
pub(crate) fn http(
    addr: &str,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> Reply {
    http_with(addr, method, path, cookie, form, &[("Host", addr)])
}

/// [`http`] with the given headers (`Host` among them, or none at all).
pub(crate) fn http_with(
    addr: &str,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut request = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(c) = cookie {
        request.push_str(&format!("Cookie: bf_session={c}\r\n"));
    }
    if method == "POST" {
        request.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut head_lines = head.lines();
    let status = head_lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad reply: {text}"));
    let headers = head_lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn get(server: &Server, path: &str, cookie: Option<&str>) -> Reply {
    http(&server.addr, "GET", path, cookie, &[])
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn finished_campaign(server: &FakeServer, tasks: &[(&str, &str)]) -> (Setup, i64) {
    let s = setup(server.base_url(), tasks, "");
    let (code, stdout, stderr) = bootforge_env(
        &s.db,
        &["campaign", "run", s.config.to_str().unwrap(), "--json"],
        &[],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let id = json_lines(&stdout).last().unwrap()["campaign"]
        .as_i64()
        .unwrap();
    (s, id)
}

pub(crate) fn items(db: &Path) -> Vec<Value> {
    let (code, stdout, stderr) = bootforge_env(db, &["review", "list", "--json"], &[]);
    assert_eq!(code, 0, "{stderr}");
    json_lines(&stdout)
}

fn id_of(items: &[Value], task: &str) -> i64 {
    items
        .iter()
        .find(|i| i["task"] == task)
        .unwrap_or_else(|| panic!("no item for {task}: {items:?}"))["id"]
        .as_i64()
        .unwrap()
}

/// Rows of the queue table in a page.
fn rows(body: &str) -> usize {
    body.matches("<tr class=\"row ").count()
}

#[test]
fn every_page_renders_filters_work_and_decisions_follow_the_cli_rules() {
    let fake = FakeServer::start(both).unwrap();
    let (s, campaign) = finished_campaign(&fake, &EXAMPLE_TASKS);
    let db = &s.db;
    let all = items(db);
    let digit = id_of(&all, "digit-sum");
    let interval = id_of(&all, "interval-merge");
    let server = serve(db, &[]);

    // The queue, with the security headers on every page.
    let page = get(&server, "/queue", None);
    assert_eq!(page.status, 200, "{}", page.body);
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'")
            && csp.contains("script-src 'self'")
            && csp.contains("frame-ancestors 'none'")
            && csp.contains("form-action 'self'"),
        "{csp}"
    );
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(page.body.contains("<script src=\"/static/keys.js\""));
    assert!(!page.body.contains("<script>"), "no inline script");
    assert_eq!(rows(&page.body), 2, "{}", page.body);
    assert!(page.body.contains("DigitSumbootcamp") && page.body.contains("interval-merge"));
    let session = page.session().expect("a session cookie");

    // Filters.
    let by = |q: &str| get(&server, &format!("/queue?{q}"), Some(&session));
    assert_eq!(rows(&by("status=pending").body), 2);
    assert_eq!(rows(&by("status=approved").body), 0);
    let one = by("task=digit-sum&status=&campaign=");
    assert_eq!(rows(&one.body), 1);
    assert!(one.body.contains(&format!("href=\"/items/{digit}\"")));
    assert_eq!(rows(&by(&format!("campaign={campaign}")).body), 2);
    assert_eq!(rows(&by("campaign=9999").body), 0);
    assert_eq!(by("status=bogus").status, 400);
    assert_eq!(by("campaign=abc").status, 400);
    assert_eq!(rows(&by("page=2").body), 0, "100 rows a page");
    assert_eq!(by("page=x").status, 400);

    // The item page: task, numbered code, samples, answers, lineage with a diff.
    let item = get(&server, &format!("/items/{digit}"), Some(&session));
    assert_eq!(item.status, 200, "{}", item.body);
    let b = &item.body;
    assert!(b.contains("class DigitSumbootcamp(Basebootcamp):"), "{b}");
    assert!(b.contains("<td class=\"ln\">1</td>"));
    assert!(b.contains("<h3>seed 0</h3>") && b.contains("<h3>seed 2</h3>"));
    assert!(!b.contains("<h3>seed 3</h3>"));
    assert!(b.contains("[answer]"), "rendered prompts");
    assert!(b.contains("<div class=\"right\">") && b.contains("<div class=\"wrong\">"));
    assert!(b.contains("Let me compute."), "solver answers shown");
    assert!(
        b.contains("changes against #"),
        "a diff against the parent: {b}"
    );
    assert!(b.contains("refine") && b.contains("fixed generate_failed"));
    assert!(b.contains("id=\"form-approve\"") && b.contains("id=\"form-revise\""));
    assert!(b.contains("id=\"next\"") || b.contains("id=\"prev\""));
    // More seeds, generated in the sandbox on demand.
    let more = get(&server, &format!("/items/{digit}?more=3"), Some(&session));
    assert_eq!(more.status, 200);
    assert!(more.body.contains("<h3>seed 5</h3>") && !more.body.contains("<h3>seed 6</h3>"));
    assert_eq!(get(&server, "/items/999999", Some(&session)).status, 404);

    // Campaigns and the per-generation table.
    let list = get(&server, "/campaigns", Some(&session));
    assert_eq!(list.status, 200);
    assert!(
        list.body
            .contains(&format!("href=\"/campaigns/{campaign}\""))
    );
    let c = get(&server, &format!("/campaigns/{campaign}"), Some(&session));
    assert_eq!(c.status, 200, "{}", c.body);
    assert!(
        c.body.matches("<tr class=\"generation\">").count() >= 2,
        "{}",
        c.body
    );
    assert!(c.body.contains("<th>author</th>") || c.body.contains(">author</th>"));
    assert!(c.body.contains(">solver</th>") && c.body.contains(">generate</th>"));
    assert!(c.body.contains('%'), "a failing share: {}", c.body);
    let h = get(&server, "/history", Some(&session));
    assert_eq!((h.status, h.body.contains("no decision yet")), (200, true));
    assert_eq!(get(&server, "/static/keys.js", None).status, 200);

    // CSRF: without a token, with another session's token, with no session.
    let csrf = item.csrf();
    let post = |cookie: Option<&str>, form: &[(&str, &str)], id: i64| {
        http(
            &server.addr,
            "POST",
            &format!("/items/{id}/decide"),
            cookie,
            form,
        )
    };
    let approve = [
        ("action", "approve"),
        ("reviewer", "ada"),
        ("note", "clean"),
    ];
    assert_eq!(post(Some(&session), &approve, digit).status, 403);
    let other = get(&server, "/queue", None).session().unwrap();
    let mut with_token = approve.to_vec();
    with_token.push(("csrf", &csrf));
    assert_eq!(post(Some(&other), &with_token, digit).status, 403);
    assert_eq!(post(None, &with_token, digit).status, 403);
    assert!(
        items(db).iter().all(|i| i["status"] == "pending"),
        "nothing recorded"
    );

    // Required texts, as the CLI requires them.
    let r = post(
        Some(&session),
        &[("csrf", &csrf), ("action", "reject"), ("reviewer", "ada")],
        digit,
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("needs a reason"), "{}", r.body);
    let r = post(
        Some(&session),
        &[
            ("csrf", &csrf),
            ("action", "revise"),
            ("reviewer", "ada"),
            ("note", "  "),
        ],
        digit,
    );
    assert_eq!(r.status, 400);
    let r = post(
        Some(&session),
        &[("csrf", &csrf), ("action", "approve"), ("reviewer", "")],
        digit,
    );
    assert_eq!(r.status, 400);

    // Approve from the page; the CLI sees it.
    let r = post(Some(&session), &with_token, digit);
    assert_eq!(r.status, 303, "{}", r.body);
    let (code, stdout, _) =
        bootforge_env(db, &["review", "show", &digit.to_string(), "--json"], &[]);
    assert_eq!(code, 0);
    let detail: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(detail["status"], "approved");
    assert_eq!(detail["decisions"][0]["reviewer"], "ada");
    assert_eq!(detail["decisions"][0]["note"], "clean");

    // A second decision from the page is refused naming who, what, when.
    let decided_at = detail["decisions"][0]["created_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = post(
        Some(&session),
        &[
            ("csrf", &csrf),
            ("action", "reject"),
            ("reviewer", "bob"),
            ("note", "too easy"),
        ],
        digit,
    );
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body.contains("already decided: approved by ada at ") && r.body.contains(&decided_at),
        "{}",
        r.body
    );
    // And from the CLI, likewise.
    let (code, _, stderr) = bootforge_env(
        db,
        &[
            "review",
            "reject",
            &digit.to_string(),
            "--reason",
            "x",
            "--reviewer",
            "bob",
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("approved by ada"), "{stderr}");
    // With override ticked, both stay in the history.
    let r = post(
        Some(&session),
        &[
            ("csrf", &csrf),
            ("action", "reject"),
            ("reviewer", "bob"),
            ("note", "too easy"),
            ("force", "1"),
        ],
        digit,
    );
    assert_eq!(r.status, 303, "{}", r.body);

    // Revise the other item from the page; a CLI decision after it is refused.
    let r = post(
        Some(&session),
        &[
            ("csrf", &csrf),
            ("action", "revise"),
            ("reviewer", "cy"),
            ("note", "use <b>bigger</b> numbers"),
        ],
        interval,
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let (code, _, stderr) = bootforge_env(
        db,
        &[
            "review",
            "approve",
            &interval.to_string(),
            "--reviewer",
            "dee",
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("revise by cy"), "{stderr}");

    // The history, newest first, escaped.
    let h = get(&server, "/history", Some(&session));
    let revise = h
        .body
        .find("use &lt;b&gt;bigger&lt;") // minijinja also escapes `/`
        .expect("escaped note");
    let forced = h
        .body
        .find("rejected (forced)")
        .expect("the forced rejection");
    let first = h.body.find("approved").unwrap();
    assert!(revise < forced && forced < first, "{}", h.body);
    let q = get(&server, "/queue?status=revise", Some(&session));
    assert_eq!(rows(&q.body), 1);
    let q = get(&server, "/queue?status=rejected", Some(&session));
    assert_eq!(rows(&q.body), 1);
}

#[test]
fn binding_beyond_loopback_needs_a_token_and_reviewers_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bootforge.db");
    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["serve", "--bind", "0.0.0.0:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not a loopback address") && stderr.contains("--auth-token-file"),
        "{stderr}"
    );
    let short = dir.path().join("short");
    std::fs::write(&short, "abc\n").unwrap();
    let out = bin()
        .args(["serve", "--bind", "0.0.0.0:0", "--auth-token-file"])
        .arg(&short)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16 characters"));

    // With a token: a queue holding one hand-added bootcamp.
    let (code, stdout, stderr) = bootforge_env(
        &db,
        &[
            "review",
            "add",
            repo_path("tests/bootcamps/campaign/digit_sum.py")
                .to_str()
                .unwrap(),
            "--json",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let id = serde_json::from_str::<Value>(stdout.trim()).unwrap()["item"]
        .as_i64()
        .unwrap();
    let token = "s3cret-token-0123456789abcdef";
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let server = serve(&db, &["--auth-token-file", token_file.to_str().unwrap()]);
    let r = get(&server, "/queue", None);
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    let login = get(&server, "/login", None);
    assert_eq!(login.status, 200);
    let (session, csrf) = (login.session().unwrap(), login.csrf());
    let r = get(&server, &format!("/items/{id}"), Some(&session));
    assert_eq!(r.status, 303, "not signed in yet");
    let sign_in = |name: &str, token: &str| {
        http(
            &server.addr,
            "POST",
            "/login",
            Some(&session),
            &[("csrf", &csrf), ("name", name), ("token", token)],
        )
    };
    assert_eq!(sign_in("ada", "wrong-token-0123456789abcdef").status, 403);
    assert_eq!(sign_in("", token).status, 400);
    let r = http(
        &server.addr,
        "POST",
        "/login",
        Some(&session),
        &[("name", "ada"), ("token", token)],
    );
    assert_eq!(r.status, 403, "sign-in needs the CSRF token too");
    let r = sign_in("ada", token);
    assert_eq!(r.status, 303, "{}", r.body);
    let signed = r.session().expect("a fresh session id");
    assert_ne!(signed, session);
    let page = get(&server, &format!("/items/{id}"), Some(&signed));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("signed in as ada"));
    assert!(
        !page.body.contains("name=\"reviewer\""),
        "the name is the session's"
    );
    // The old session id is worthless now.
    assert_eq!(get(&server, "/queue", Some(&session)).status, 303);
    // The decision's reviewer is the signed-in name, whatever the form says.
    let csrf = page.csrf();
    let r = http(
        &server.addr,
        "POST",
        &format!("/items/{id}/decide"),
        Some(&signed),
        &[
            ("csrf", &csrf),
            ("action", "approve"),
            ("reviewer", "mallory"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let (_, stdout, _) = bootforge_env(&db, &["review", "show", &id.to_string(), "--json"], &[]);
    let detail: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(detail["decisions"][0]["reviewer"], "ada");
    // A file's item cannot be sent back, on the page as in the CLI.
    let r = http(
        &server.addr,
        "POST",
        &format!("/items/{id}/decide"),
        Some(&signed),
        &[
            ("csrf", &csrf),
            ("action", "revise"),
            ("note", "more"),
            ("force", "1"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("added from a file"), "{}", r.body);
}

/// Decisions from the page and from `bootforge review` at the same time,
/// on the same item (`--force` / override): every one is recorded, none
/// sees "database is locked".
#[test]
fn page_and_cli_decide_at_once_and_lose_nothing() {
    let fake = FakeServer::start(both).unwrap();
    let (s, _) = finished_campaign(&fake, &EXAMPLE_TASKS);
    let db = s.db.clone();
    let id = id_of(&items(&db), "digit-sum");
    let server = serve(&db, &[]);
    let page = get(&server, &format!("/items/{id}"), None);
    let (session, csrf) = (page.session().unwrap(), page.csrf());
    const EACH: usize = 12;
    let cli = {
        let db = db.clone();
        std::thread::spawn(move || {
            for i in 0..EACH {
                let (code, _, stderr) = bootforge_env(
                    &db,
                    &[
                        "review",
                        "reject",
                        &id.to_string(),
                        "--reason",
                        &format!("cli {i}"),
                        "--reviewer",
                        "cli",
                        "--force",
                    ],
                    &[],
                );
                assert_eq!(code, 0, "{stderr}");
                assert!(!stderr.contains("locked"), "{stderr}");
            }
        })
    };
    for i in 0..EACH {
        let r = http(
            &server.addr,
            "POST",
            &format!("/items/{id}/decide"),
            Some(&session),
            &[
                ("csrf", &csrf),
                ("action", "approve"),
                ("reviewer", "web"),
                ("note", &format!("web {i}")),
                ("force", "1"),
            ],
        );
        assert_eq!(r.status, 303, "{}", r.body);
    }
    cli.join().unwrap();
    let (_, stdout, _) = bootforge_env(&db, &["review", "show", &id.to_string(), "--json"], &[]);
    let detail: Value = serde_json::from_str(stdout.trim()).unwrap();
    let decisions = detail["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 2 * EACH);
    for who in ["web", "cli"] {
        assert_eq!(
            decisions.iter().filter(|d| d["reviewer"] == who).count(),
            EACH
        );
    }
}

/// A campaign over one task whose code, prompt, cases, description and
/// solver answers carry markup.
fn hostile(req: &FakeRequest) -> FakeReply {
    let p = &req.prompt;
    if p.starts_with("You write bootcamps") {
        let code =
            std::fs::read_to_string(repo_path("tests/bootcamps/serve/hostile_digits.py")).unwrap();
        return FakeReply::answer(format!(
            "<think>plan</think>Here it is.\n\n```python\n{code}```\n"
        ));
    }
    let digits = p
        .split("decimal digits of ")
        .nth(1)
        .and_then(|r| r.split_once(" * "))
        .and_then(|(a, r)| {
            Some((
                a.trim().parse::<u64>().ok()?,
                r.split('?').next()?.trim().parse::<u64>().ok()?,
            ))
        });
    let answer = match digits {
        Some((a, b)) => {
            let right: u64 = (a * b).to_string().bytes().map(|d| (d - b'0') as u64).sum();
            if (a + b) % 2 == 0 { right } else { right + 1 }
        }
        None => 0,
    };
    FakeReply::answer(format!(
        "<think>multiply, then add digits <script>document.title='pwned-think'</script></think>\
         <img src=x onerror=\"document.title='pwned-answer'\"> <script>document.title='pwned-answer2'</script> [answer]{answer}[/answer]"
    ))
}

fn chromium() -> &'static str {
    let path = "/usr/bin/chromium";
    assert!(
        Path::new(path).exists(),
        "headless Chromium is needed for the browser test: apt-get install -y chromium (.ci/run does it)"
    );
    path
}

pub(crate) fn chromium_run(args: &[&str], url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_browser_shows_hostile_markup_as_text_and_runs_none_of_it() {
    let fake = FakeServer::start(hostile).unwrap();
    let task = (
        "xss-probe",
        "# Digit sums <script>document.title='pwned-task'</script>\n\nAsk for the digit sum of a product of two numbers. <img src=x onerror=\"document.title='pwned-task-img'\">\n",
    );
    let (s, _) = finished_campaign(&fake, &[task]);
    let id = id_of(&items(&s.db), "xss-probe");
    let server = serve(&s.db, &[]);
    let url = format!("http://{}/items/{id}", server.addr);
    let dom = chromium_run(&["--dump-dom", "--virtual-time-budget=3000"], &url);
    // The title is the server's, so no payload ran (each would set it).
    let title = dom
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or_else(|| panic!("no title: {dom}"));
    assert_eq!(title, format!("item {id} · xss-probe · bootforge review"));
    assert!(
        !dom.contains("pwned-") || !dom.contains("<img src=\"x\""),
        "{dom}"
    );
    assert!(!dom.contains("<img"), "no element made from data: {dom}");
    assert_eq!(dom.matches("<script").count(), 1, "only keys.js: {dom}");
    // The payloads are there, as text.
    for text in [
        "&lt;script&gt;document.title='pwned-task'&lt;/script&gt;",
        "&lt;script&gt;document.title='pwned-code'&lt;/script&gt;",
        "&lt;script&gt;document.title='pwned-prompt'&lt;/script&gt;",
        "&lt;img src=x onerror=\"document.title='pwned-prompt-img'\"&gt;",
        "&lt;img src=x onerror=\"document.title='pwned-answer'\"&gt;",
        "&lt;script&gt;document.title='pwned-answer2'&lt;/script&gt;",
    ] {
        assert!(dom.contains(text), "{text} missing from {dom}");
    }
    // A screenshot for the closing note (outside the repository).
    let shot = Path::new("/work/briefs/serve-item.png");
    if shot.parent().is_some_and(Path::exists) {
        chromium_run(
            &[
                &format!("--screenshot={}", shot.display()),
                "--window-size=1280,1900",
                "--hide-scrollbars",
            ],
            &url,
        );
        assert!(std::fs::metadata(shot).unwrap().len() > 10_000);
    }
}
