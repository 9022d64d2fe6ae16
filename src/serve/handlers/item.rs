//! An item's page (what [`crate::review::show`] gives `review show`, plus
//! more seeds on demand, the lineage as a tree with diffs against each
//! parent, and the neighbours for `j`/`k`) and its decisions, recorded with
//! [`crate::review::decide`] and refused by the same rules as the CLI.

use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::{note_text, reviewer_name};
use crate::campaign::lineage::{TreeNode, tree};
use crate::evaluate::json_number;
use crate::review::{self, Decision, ReviewError, Sample};
use crate::sandbox::{Limits, RunSpec};
use crate::serve::diff::{DiffLine, line_diff};
use crate::serve::{AppState, PageError, Viewer};
use crate::store::Neighbours;

/// Seeds the "more seeds" button may ask for at once.
pub const MAX_MORE: u64 = 30;

#[derive(Debug, Deserialize)]
pub struct ItemQuery {
    more: Option<String>,
}

/// A lineage node with what it changed against its parent.
#[derive(Debug, Serialize)]
struct Node {
    #[serde(flatten)]
    node: TreeNode,
    diff: Vec<DiffLine>,
}

/// Lines of diff shown per refinement.
const DIFF_LINES: usize = 400;

pub async fn item(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<ItemQuery>,
) -> Response {
    let viewer = match state.viewer(&headers, true) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let more = q
        .more
        .as_deref()
        .and_then(|m| m.trim().parse::<u64>().ok())
        .unwrap_or(0)
        .min(MAX_MORE);
    match render_item(&state, &viewer, id, more, None).await {
        Ok(r) => r,
        Err(err) => state.error_page(
            PageError {
                viewer: Some(viewer),
                ..err
            },
            &headers,
        ),
    }
}

fn review_error(err: ReviewError) -> PageError {
    match err {
        ReviewError::NotFound(_) => PageError::new(StatusCode::NOT_FOUND, err.to_string()),
        // The rule's text is the CLI's ("pass --force"); on the page the
        // control is the override box.
        ReviewError::Refused(_) => PageError::new(
            StatusCode::CONFLICT,
            err.to_string().replace(
                "pass --force to record another decision",
                "tick \"override\" to record another decision",
            ),
        ),
        ReviewError::Invalid(_) => PageError::new(StatusCode::BAD_REQUEST, err.to_string()),
        ReviewError::Other(e) => e.into(),
    }
}

/// The item page; `notice` is a refusal or a missing field shown above the
/// forms (with its status).
async fn render_item(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    more: u64,
    notice: Option<PageError>,
) -> Result<Response, PageError> {
    let detail = review::show(&state.store, &state.sandbox, id)
        .await
        .map_err(review_error)?;
    let (extra, extra_error) = if more > 0 {
        more_samples(state, &detail, more).await
    } else {
        (Vec::new(), None)
    };
    let (right, wrong): (Vec<_>, Vec<_>) = detail
        .answers
        .iter()
        .partition(|a| a.score.is_some_and(|s| s >= 0.999));
    let mut nodes = Vec::new();
    if let (Some(campaign), Some(draft)) = (detail.summary.campaign, detail.summary.draft) {
        let drafts = state.store.drafts(campaign, &detail.summary.task).await?;
        for node in tree(&drafts, Some(draft)) {
            let code = |id: i64| {
                drafts
                    .iter()
                    .find(|d| d.id == id)
                    .and_then(|d| d.code.clone())
            };
            let diff = match (node.on_path, node.parent) {
                (true, Some(parent)) => line_diff(
                    &code(parent).unwrap_or_default(),
                    &code(node.draft).unwrap_or_default(),
                    3,
                    DIFF_LINES,
                ),
                _ => Vec::new(),
            };
            nodes.push(Node { node, diff });
        }
    }
    let Neighbours { prev, next } = state.store.neighbour_items(id).await?;
    let code_lines: Vec<(usize, &str)> = detail
        .code
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .collect();
    // Lines whose hidden characters could make the code run otherwise than
    // it reads (bidi reordering, invisible text), named above the code.
    let hidden_lines: Vec<usize> = code_lines
        .iter()
        .filter(|(_, l)| l.chars().any(crate::text::hidden))
        .map(|(n, _)| *n)
        .collect();
    let findings: Vec<_> = detail
        .findings
        .iter()
        .map(|f| {
            minijinja::context! {
                kind => f.kind.as_deref().unwrap_or("?"),
                severity => f.severity.as_deref().unwrap_or("?"),
                stage => f.stage.as_deref().unwrap_or(""),
                message => f.message.as_deref().unwrap_or(""),
                evidence => serde_json::to_string_pretty(&f.evidence).unwrap_or_default(),
            }
        })
        .collect();
    // The near-miss and over-broad classes that got credit (from the
    // references, or else from the solver's right answers).
    let mutations: Vec<_> = detail
        .mutations
        .iter()
        .filter(|m| m.credited())
        .map(|m| {
            minijinja::context! {
                strategy => m.strategy.clone().unwrap_or_else(|| "?".to_owned()),
                rate => format!("{}/{} ({:.2})", json_number(m.full_credit), json_number(m.cases), m.share.unwrap_or(0.0)),
                judged => format!("{} → {}", m.judged.as_deref().unwrap_or("?"), m.verdict.as_deref().unwrap_or("?")),
                example => match &m.example {
                    Some(e) => format!(
                        "seed {}: {} → {} scored {}",
                        json_number(e.seed),
                        e.reference.as_deref().unwrap_or(""),
                        e.mutant.as_deref().unwrap_or(""),
                        json_number(e.score)
                    ),
                    None => String::new(),
                },
            }
        })
        .collect();
    let (status, notice) = match notice {
        Some(n) => (n.status, Some(n.message)),
        None => (StatusCode::OK, None),
    };
    let samples: Vec<_> = detail
        .samples
        .iter()
        .chain(extra.iter())
        .map(|s| minijinja::context! { seed => s.seed, case => s.case.get(), prompt => s.prompt })
        .collect();
    let next_more = (more + 3).min(MAX_MORE);
    Ok(state.page(
        status,
        "item.html",
        viewer,
        minijinja::context! {
            d => detail,
            s => detail.summary,
            code_lines => code_lines,
            hidden_lines => hidden_lines,
            samples => samples,
            samples_error => detail.samples_error.clone().or(extra_error),
            next_more => next_more,
            can_more => more < MAX_MORE,
            right => right,
            wrong => wrong,
            findings => findings,
            mutations => mutations,
            metrics => serde_json::to_string_pretty(&detail.metrics).unwrap_or_default(),
            params => detail.params.to_string(),
            nodes => nodes,
            prev => prev,
            next => next,
            notice => notice,
        },
    ))
}

/// Cases for seeds after the ones `show` generated, run on the sandbox's
/// worker pool (the runtime's threads only await the result).
async fn more_samples(
    state: &AppState,
    detail: &review::ItemDetail,
    more: u64,
) -> (Vec<Sample>, Option<String>) {
    let first = review::SAMPLES;
    let mut spec = RunSpec::new(format!("{}.py", detail.summary.task), detail.code.clone())
        .cases(first..first + more, None);
    spec.class = detail.summary.class.clone();
    spec.params = detail.params.as_object().cloned().unwrap_or_default();
    spec.limits = Limits::default();
    let run = state.sandbox.run(spec).await;
    let samples = run
        .cases()
        // The sandbox checked each case is JSON; raw, so big integers stay exact.
        .map(|c| Sample {
            seed: c.seed,
            case: c.case_raw(),
            prompt: c.prompt.clone(),
        })
        .collect();
    let error = run
        .error
        .as_ref()
        .map(|e| format!("{} in {}: {}", e.kind.as_str(), e.stage.as_str(), e.message));
    (samples, error)
}

#[derive(Debug, Deserialize)]
pub struct DecideForm {
    csrf: Option<String>,
    action: Option<String>,
    note: Option<String>,
    reviewer: Option<String>,
    force: Option<String>,
}

pub async fn decide(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<DecideForm>,
) -> Response {
    let viewer = match state.viewer(&headers, true) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let refuse = |status, message: String| PageError {
        status,
        message,
        viewer: Some(viewer.clone()),
    };
    // A new session cannot have a valid token: the form came from elsewhere.
    if viewer.new_session
        || !state
            .sessions
            .csrf_ok(&viewer.session, form.csrf.as_deref().unwrap_or(""))
    {
        return state.error_page(
            refuse(
                StatusCode::FORBIDDEN,
                "the form's CSRF token is missing or does not belong to this session: reload the item page and decide again".into(),
            ),
            &headers,
        );
    }
    let decision = match form.action.as_deref() {
        Some("approve") => Decision::Approved,
        Some("reject") => Decision::Rejected,
        Some("revise") => Decision::Revise,
        other => {
            return state.error_page(
                refuse(
                    StatusCode::BAD_REQUEST,
                    format!("unknown action {other:?}: approve, reject or revise"),
                ),
                &headers,
            );
        }
    };
    let note = match note_text(&form.note) {
        Ok(n) => n,
        Err(e) => return state.error_page(refuse(e.status, e.message), &headers),
    };
    let reviewer = if viewer.auth {
        viewer.reviewer.clone().ok_or_else(String::new)
    } else {
        reviewer_name(&form.reviewer)
    };
    let missing = match (decision, &note, &reviewer) {
        (_, _, Err(why)) => Some(why.clone()),
        (Decision::Rejected, None, _) => {
            Some("a rejection needs a reason (it is kept with the decision)".to_owned())
        }
        (Decision::Revise, None, _) => Some(
            "sending an item back needs a note: it reaches the author's refine prompt".to_owned(),
        ),
        _ => None,
    };
    let outcome = match missing {
        Some(message) => Err(PageError::new(StatusCode::BAD_REQUEST, message)),
        None => review::decide(
            &state.store,
            id,
            decision,
            reviewer.as_deref().unwrap_or_default(),
            note.as_deref(),
            form.force.is_some(),
        )
        .await
        .map_err(review_error),
    };
    match outcome {
        Ok(_) => Redirect::to(&format!("/items/{id}")).into_response(),
        Err(notice) if notice.status == StatusCode::NOT_FOUND => {
            state.error_page(refuse(notice.status, notice.message), &headers)
        }
        Err(notice) => match render_item(&state, &viewer, id, 0, Some(notice)).await {
            Ok(r) => r,
            Err(err) => state.error_page(
                PageError {
                    viewer: Some(viewer),
                    ..err
                },
                &headers,
            ),
        },
    }
}
