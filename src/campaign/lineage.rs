//! A task's drafts as a tree, for `bootforge lineage` and the review page's
//! item: children under their parent in stored order, the reviewed draft's
//! ancestry marked. Pure, and safe on any parent links: a cycle (which the
//! store cannot hold, but a hand-edited file can) ends the walk, never loops.

use serde::Serialize;

use super::status::DraftStatus;
use crate::store::DraftRow;

/// One draft in the tree, in depth-first order.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TreeNode {
    pub draft: i64,
    pub parent: Option<i64>,
    pub depth: usize,
    pub generation: i64,
    pub operator: String,
    pub status: DraftStatus,
    pub verdict: Option<String>,
    pub accuracy: Option<f64>,
    pub main_finding: Option<String>,
    /// Its calibration (a draft that missed only the band): a setting in
    /// the band (`Some(true)`) or none (`Some(false)`).
    pub calibrated: Option<bool>,
    /// The reviewed draft or one of its ancestors.
    pub on_path: bool,
    pub is_item: bool,
    /// The last child of its parent (the last root, for a root): where a
    /// drawn tree turns its corner.
    pub last: bool,
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
    let mut stack: Vec<(&DraftRow, usize, bool)> = drafts
        .iter()
        .filter(|d| d.parent_id.is_none_or(|p| !known(p)))
        .rev()
        .enumerate()
        .map(|(i, d)| (d, 0, i == 0))
        .collect();
    while let Some((d, depth, last)) = stack.pop() {
        if out.len() >= drafts.len() {
            break; // a cycle cannot be stored, but must not loop
        }
        out.push(TreeNode {
            draft: d.id,
            parent: d.parent_id,
            depth,
            generation: d.generation,
            operator: d.operator.clone(),
            status: d.status,
            verdict: d.verdict.clone(),
            accuracy: d.accuracy,
            main_finding: d.main_finding.clone(),
            calibrated: d.calibrated,
            on_path: path.contains(&d.id),
            is_item: Some(d.id) == item,
            last,
        });
        let children = drafts.iter().filter(|c| c.parent_id == Some(d.id));
        for (i, child) in children.rev().enumerate() {
            stack.push((child, depth + 1, i == 0));
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
            status: DraftStatus::Evaluated,
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
        let last: Vec<_> = t.iter().filter(|n| n.last).map(|n| n.draft).collect();
        assert_eq!(last, [4, 5, 2]);
        assert_eq!(tree(&[], None), []);
    }

    #[test]
    fn parent_cycles_end_the_walk() {
        // 2 and 3 are each other's parent, 4 its own: no root reaches them,
        // and the ancestry of an item on a cycle stops where it repeats.
        let drafts = [
            draft(1, None, 0),
            draft(2, Some(3), 1),
            draft(3, Some(2), 1),
            draft(4, Some(4), 1),
            draft(5, Some(1), 1),
        ];
        let t = tree(&drafts, Some(3));
        let order: Vec<_> = t.iter().map(|n| (n.draft, n.depth)).collect();
        assert_eq!(order, [(1, 0), (5, 1)]);
        assert!(tree(&drafts[1..4], Some(2)).is_empty());
    }
}
