//! A task's drafts as a tree for the item page: every draft once, children
//! under their parent, the reviewed draft's ancestry marked. Pure.

use serde::Serialize;

use crate::store::DraftRow;

/// One draft in the tree, in depth-first order.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TreeNode {
    pub draft: i64,
    pub parent: Option<i64>,
    pub depth: usize,
    pub generation: i64,
    pub operator: String,
    pub status: String,
    pub verdict: Option<String>,
    pub accuracy: Option<f64>,
    pub main_finding: Option<String>,
    /// Its calibration (a draft that missed only the band): a setting in
    /// the band (`Some(true)`) or none (`Some(false)`).
    pub calibrated: Option<bool>,
    /// The reviewed draft or one of its ancestors.
    pub on_path: bool,
    pub is_item: bool,
}

/// The drafts of one task as a depth-first tree (roots: drafts without a
/// parent among `drafts`), marking the path to `item`.
pub fn tree(drafts: &[DraftRow], item: Option<i64>) -> Vec<TreeNode> {
    let mut path = Vec::new();
    let mut current = item.and_then(|id| drafts.iter().find(|d| d.id == id));
    while let Some(d) = current {
        if path.contains(&d.id) || path.len() > drafts.len() {
            break;
        }
        path.push(d.id);
        current = d.parent_id.and_then(|p| drafts.iter().find(|x| x.id == p));
    }
    let known = |id: i64| drafts.iter().any(|d| d.id == id);
    let mut out = Vec::with_capacity(drafts.len());
    let mut stack: Vec<(&DraftRow, usize)> = drafts
        .iter()
        .filter(|d| d.parent_id.is_none_or(|p| !known(p)))
        .rev()
        .map(|d| (d, 0))
        .collect();
    while let Some((d, depth)) = stack.pop() {
        if out.len() >= drafts.len() {
            break; // a cycle cannot be stored, but must not loop
        }
        out.push(TreeNode {
            draft: d.id,
            parent: d.parent_id,
            depth,
            generation: d.generation,
            operator: d.operator.clone(),
            status: d.status.clone(),
            verdict: d.verdict.clone(),
            accuracy: d.accuracy,
            main_finding: d.main_finding.clone(),
            calibrated: d.calibrated,
            on_path: path.contains(&d.id),
            is_item: Some(d.id) == item,
        });
        for child in drafts.iter().filter(|c| c.parent_id == Some(d.id)).rev() {
            stack.push((child, depth + 1));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(id: i64, parent: Option<i64>, generation: i64) -> DraftRow {
        DraftRow {
            id,
            task_id: "t".into(),
            generation,
            sample: 0,
            parent_id: parent,
            operator: if parent.is_some() { "refine" } else { "draft" }.into(),
            template: String::new(),
            model: "m".into(),
            prompt: String::new(),
            response: None,
            code: None,
            status: "evaluated".into(),
            verdict: None,
            furthest_stage: None,
            loaded: None,
            accuracy: None,
            main_finding: None,
            band_miss: false,
            calibrated: None,
        }
    }

    #[test]
    fn children_sit_under_their_parent_and_the_path_is_marked() {
        let drafts = [
            draft(1, None, 0),
            draft(2, None, 0),
            draft(3, Some(1), 1),
            draft(4, Some(3), 2),
            draft(5, Some(1), 1),
        ];
        let t = tree(&drafts, Some(4));
        let order: Vec<_> = t.iter().map(|n| (n.draft, n.depth)).collect();
        assert_eq!(order, [(1, 0), (3, 1), (4, 2), (5, 1), (2, 0)]);
        let path: Vec<_> = t.iter().filter(|n| n.on_path).map(|n| n.draft).collect();
        assert_eq!(path, [1, 3, 4]);
        assert!(t.iter().find(|n| n.draft == 4).unwrap().is_item);
        assert_eq!(tree(&[], None), []);
    }
}
