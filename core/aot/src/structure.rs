//! Structure of a definition's control flow graph for structured Rust: reverse postorder,
//! dominators, loop headers (targets of back edges) and merge blocks (two or more forward
//! edges in). A merge block is placed after a labeled block that its predecessors `break`
//! out of; a loop header opens a labeled `loop` that back edges `continue`. This is the
//! dominator-tree method for reducible graphs (Ramsey, "Beyond Relooper"); an irreducible
//! graph is refused.

/// How the blocks of one graph are nested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Structure {
    /// Reverse postorder number of each block.
    pub order: Vec<usize>,
    pub loop_header: Vec<bool>,
    pub merge: Vec<bool>,
    /// For each block, the merge blocks it immediately dominates, in reverse postorder.
    pub merge_children: Vec<Vec<usize>>,
}

impl Structure {
    /// Whether the edge from `from` to `to` goes back to a loop header.
    pub fn is_back_edge(&self, from: usize, to: usize) -> bool {
        self.order[to] <= self.order[from]
    }
}

/// Analyses the graph with these successor lists (block 0 is the entry; every block is
/// reachable from it).
pub fn analyze(successors: &[Vec<usize>]) -> Result<Structure, String> {
    let count = successors.len();
    let rpo = reverse_postorder(successors);
    let mut order = vec![usize::MAX; count];
    for (number, &block) in rpo.iter().enumerate() {
        order[block] = number;
    }
    let idom = dominators(successors, &rpo, &order);
    let mut loop_header = vec![false; count];
    let mut forward_in = vec![0usize; count];
    for (from, targets) in successors.iter().enumerate() {
        for &to in targets {
            if order[to] <= order[from] {
                if !dominates(&idom, to, from) {
                    return Err("irreducible control flow".to_owned());
                }
                loop_header[to] = true;
            } else {
                forward_in[to] += 1;
            }
        }
    }
    let merge: Vec<bool> = forward_in.iter().map(|&edges| edges >= 2).collect();
    let mut merge_children = vec![Vec::new(); count];
    for &block in rpo.iter().skip(1) {
        if merge[block] {
            merge_children[idom[block]].push(block);
        }
    }
    Ok(Structure {
        order,
        loop_header,
        merge,
        merge_children,
    })
}

fn reverse_postorder(successors: &[Vec<usize>]) -> Vec<usize> {
    let mut visited = vec![false; successors.len()];
    let mut postorder = Vec::with_capacity(successors.len());
    let mut stack = vec![(0usize, 0usize)];
    visited[0] = true;
    while let Some(top) = stack.last_mut() {
        let block = top.0;
        if let Some(&to) = successors[block].get(top.1) {
            top.1 += 1;
            if !visited[to] {
                visited[to] = true;
                stack.push((to, 0));
            }
        } else {
            postorder.push(block);
            stack.pop();
        }
    }
    postorder.reverse();
    postorder
}

/// Immediate dominators (Cooper, Harvey and Kennedy's iteration); the entry is its own.
fn dominators(successors: &[Vec<usize>], rpo: &[usize], order: &[usize]) -> Vec<usize> {
    let mut predecessors = vec![Vec::new(); successors.len()];
    for (from, targets) in successors.iter().enumerate() {
        for &to in targets {
            predecessors[to].push(from);
        }
    }
    let mut idom = vec![usize::MAX; successors.len()];
    idom[0] = 0;
    let mut changed = true;
    while changed {
        changed = false;
        for &block in rpo.iter().skip(1) {
            let mut done = predecessors[block]
                .iter()
                .copied()
                .filter(|&p| idom[p] != usize::MAX);
            let Some(first) = done.next() else { continue };
            let new = done.fold(first, |a, b| intersect(&idom, order, a, b));
            if idom[block] != new {
                idom[block] = new;
                changed = true;
            }
        }
    }
    idom
}

fn intersect(idom: &[usize], order: &[usize], mut a: usize, mut b: usize) -> usize {
    while a != b {
        while order[a] > order[b] {
            a = idom[a];
        }
        while order[b] > order[a] {
            b = idom[b];
        }
    }
    a
}

fn dominates(idom: &[usize], dominator: usize, mut block: usize) -> bool {
    loop {
        if block == dominator {
            return true;
        }
        if block == 0 {
            return false;
        }
        block = idom[block];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_else_merges_after_both_arms() {
        // 0 -> 1, 2; 1 -> 3; 2 -> 3
        let s = analyze(&[vec![1, 2], vec![3], vec![3], vec![]]).unwrap();
        assert!(s.merge[3] && !s.merge[1] && !s.merge[2]);
        assert_eq!(s.merge_children[0], vec![3]);
        assert!(!s.loop_header.iter().any(|&h| h));
    }

    #[test]
    fn a_back_edge_makes_a_loop_header() {
        // 0 -> 1; 1 -> 2, 3; 2 -> 1
        let s = analyze(&[vec![1], vec![2, 3], vec![1], vec![]]).unwrap();
        assert!(s.loop_header[1]);
        assert!(s.is_back_edge(2, 1));
    }

    #[test]
    fn irreducible_graphs_are_refused() {
        // 0 -> 1, 2; 1 -> 2; 2 -> 1
        assert!(analyze(&[vec![1, 2], vec![2], vec![1]]).is_err());
    }
}
