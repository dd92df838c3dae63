//! MST_community: the minimum spanning tree of `d`, then the hierarchical
//! community structure of that tree by greedy modularity optimisation
//! (Clauset, Newman & Moore 2004, "Finding community structure in very large
//! networks", Phys. Rev. E 70, 066111), as R
//! `igraph::cluster_fast_greedy(mst(graph_from_adjacency_matrix(D, mode =
//! "undirected", weighted = TRUE)), weights = w)` followed by `as.hclust`.
//!
//! * MST: igraph's Prim on the complete graph weighted by `d` (see [`mst_prim`]),
//!   including its heap's tie-breaking; unique when the distances are distinct.
//! * Edge weights for the modularity (CNM eq. 5–10 with weighted degrees): igraph
//!   reads them as connection strengths, so the default here is
//!   [`MstWeights::Similarity`], `w = 1 − d_ij` (a large weight = a short, strong
//!   link). R's plain `cluster_fast_greedy(mst_graph)` would silently use the
//!   `weight` attribute, i.e. the distances themselves ([`MstWeights::Distance`],
//!   which rewards putting the *longest* MST links inside communities);
//!   [`MstWeights::Unweighted`] uses the tree's topology only. ASRP.md does not
//!   say which the paper used; all three are available and tested against igraph.
//! * Greedy merging: a line-by-line port of igraph's C implementation
//!   (`igraph_community_fastgreedy`, igraph 0.9 as in R igraph 1.3: indexed
//!   max-heap of each community's best ΔQ, neighbour lists sorted by community
//!   id), so that ties and the order within each merge are igraph's. Edges are
//!   fed in igraph's edge-id order of the MST graph: sorted by (min, max) vertex.
//!   All n − 1 merges are made (the MST is connected), as igraph does.
//! * Tree: merge k joins igraph's `merges[k, ]` = (community that absorbs,
//!   community absorbed); `Merge.a`/`b` are those two, so `leaf_order()` is
//!   `as.hclust(communities)$order`. Heights are `k + 1`, the merge step, as in
//!   igraph's `as.hclust` (`use.modularity = FALSE`); the tree carries no
//!   distance scale, which matters for distance-fit measures (family 3).

use ndarray::ArrayView2;

use crate::cluster::{Merge, Tree};

/// Edge weights handed to the greedy modularity step (see module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MstWeights {
    /// `1 − d_ij` (default; strength of the link).
    Similarity,
    /// `d_ij` (what R does when the MST's `weight` attribute is left in place).
    Distance,
    /// All weights 1.
    Unweighted,
}

/// Result of [`mst_community`].
#[derive(Clone, Debug)]
pub struct MstCommunity {
    pub tree: Tree,
    /// MST edges `(u, v)`, `u < v`, in igraph edge-id order.
    pub edges: Vec<(usize, usize)>,
    /// igraph's `merges` (0-based community ids: `< n` vertices, `n + k` merge k).
    pub merges: Vec<(usize, usize)>,
    /// Modularity before each merge and after the last (igraph `$modularity`).
    pub modularity: Vec<f64>,
}

/// Minimum spanning tree of a square distance matrix, as igraph's
/// `mst(graph, algorithm = "prim")` on the complete graph (igraph 0.9
/// `igraph_i_minimum_spanning_tree_prim`): start at vertex 0, push every
/// incident edge (neighbours ascending) onto igraph's binary max-heap of
/// `−d` (`d_indheap`, whose sift rules decide ties), repeatedly pop the top
/// edge and, if it reaches a new vertex, take it and push that vertex's edges.
/// Returns the edges `(u, v)`, `u < v`, in igraph edge-id order, i.e. sorted.
/// With distinct distances this is *the* MST; with ties it is igraph's choice.
/// O(n² log n).
pub fn mst_prim(d: ArrayView2<'_, f64>) -> Vec<(usize, usize)> {
    let n = d.nrows();
    let mut edges = Vec::with_capacity(n.saturating_sub(1));
    if n == 0 {
        return edges;
    }
    let mut added = vec![false; n];
    let mut heap = DIndHeap::default();
    added[0] = true;
    for v in 1..n {
        heap.push(-d[(0, v)], 0, v);
    }
    while let Some((from, to)) = heap.pop_max() {
        if added[to] {
            continue;
        }
        added[to] = true;
        edges.push((from.min(to), from.max(to)));
        for v in 0..n {
            if v != to && !added[v] {
                heap.push(-d[(to, v)], to, v);
            }
        }
    }
    edges.sort_unstable();
    edges
}

/// igraph's `d_indheap` (max-heap with two indices per element); only the
/// operations Prim uses, with igraph's comparison rules.
#[derive(Default)]
struct DIndHeap {
    val: Vec<f64>,
    idx: Vec<(usize, usize)>,
}

impl DIndHeap {
    fn switch(&mut self, a: usize, b: usize) {
        if a != b {
            self.val.swap(a, b);
            self.idx.swap(a, b);
        }
    }
    fn push(&mut self, v: f64, i: usize, j: usize) {
        self.val.push(v);
        self.idx.push((i, j));
        let mut e = self.val.len() - 1;
        // shift up unless strictly smaller than the parent
        while e != 0 && self.val[e] >= self.val[(e - 1) / 2] {
            self.switch(e, (e - 1) / 2);
            e = (e - 1) / 2;
        }
    }
    fn pop_max(&mut self) -> Option<(usize, usize)> {
        let size = self.val.len();
        if size == 0 {
            return None;
        }
        let top = self.idx[0];
        self.switch(0, size - 1);
        self.val.pop();
        self.idx.pop();
        let size = size - 1;
        let mut head = 0;
        loop {
            let (l, r) = (2 * head + 1, 2 * head + 2);
            if l >= size {
                break;
            }
            let c = if r == size || self.val[l] >= self.val[r] {
                l
            } else {
                r
            };
            if self.val[head] < self.val[c] {
                self.switch(head, c);
                head = c;
            } else {
                break;
            }
        }
        Some(top)
    }
}

/// MST_community tree of a square distance matrix.
pub fn mst_community(d: ArrayView2<'_, f64>, weights: MstWeights) -> MstCommunity {
    let n = d.nrows();
    assert_eq!(d.ncols(), n, "distance matrix must be square");
    let edges = mst_prim(d);
    let w: Vec<f64> = edges
        .iter()
        .map(|&(u, v)| match weights {
            MstWeights::Similarity => 1.0 - d[(u, v)],
            MstWeights::Distance => d[(u, v)],
            MstWeights::Unweighted => 1.0,
        })
        .collect();
    let weighted = weights != MstWeights::Unweighted;
    let (merges, modularity) = fastgreedy(n, &edges, weighted.then_some(&w[..]));
    let mut size = vec![1usize; 2 * n.max(1) - 1];
    let tree_merges = merges
        .iter()
        .enumerate()
        .map(|(k, &(a, b))| {
            size[n + k] = size[a] + size[b];
            Merge {
                a,
                b,
                height: (k + 1) as f64,
                size: size[n + k],
            }
        })
        .collect();
    MstCommunity {
        tree: Tree {
            n,
            merges: tree_merges,
        },
        edges,
        merges,
        modularity,
    }
}

#[derive(Clone, Copy)]
struct Pair {
    first: usize,
    second: usize,
    dq: usize,
    opposite: usize,
}

struct Comm {
    id: usize,
    neis: Vec<usize>,
    maxdq: Option<usize>,
}

struct Fg {
    pairs: Vec<Pair>,
    dq: Vec<f64>,
    e: Vec<Comm>,
    heap: Vec<usize>,
    heapindex: Vec<isize>,
    no_of_communities: usize,
}

impl Fg {
    fn dq_of(&self, p: usize) -> f64 {
        self.dq[self.pairs[p].dq]
    }
    fn maxdq_val(&self, c: usize) -> f64 {
        self.dq_of(self.e[c].maxdq.expect("community in heap has a maxdq"))
    }

    fn rescan_max(&mut self, c: usize) -> bool {
        let neis = &self.e[c].neis;
        if neis.is_empty() {
            self.e[c].maxdq = None;
            return true;
        }
        let mut best = neis[0];
        let mut bestdq = self.dq_of(best);
        for &p in &neis[1..] {
            let cur = self.dq_of(p);
            if cur > bestdq {
                best = p;
                bestdq = cur;
            }
        }
        if Some(best) != self.e[c].maxdq {
            self.e[c].maxdq = Some(best);
            true
        } else {
            false
        }
    }

    fn swap_heap(&mut self, x: usize, y: usize) {
        let (c1, c2) = (self.heap[x], self.heap[y]);
        self.heap.swap(x, y);
        self.heapindex.swap(c1, c2);
    }

    fn sift_down(&mut self, idx: usize) {
        let mut root = idx;
        while root * 2 + 1 < self.no_of_communities {
            let mut child = root * 2 + 1;
            if child + 1 < self.no_of_communities
                && self.maxdq_val(self.heap[child]) < self.maxdq_val(self.heap[child + 1])
            {
                child += 1;
            }
            if self.maxdq_val(self.heap[root]) < self.maxdq_val(self.heap[child]) {
                self.swap_heap(root, child);
                root = child;
            } else {
                break;
            }
        }
    }

    fn sift_up(&mut self, idx: usize) {
        let mut root = idx;
        while root > 0 {
            let parent = (root - 1) / 2;
            if self.maxdq_val(self.heap[parent]) < self.maxdq_val(self.heap[root]) {
                self.swap_heap(root, parent);
                root = parent;
            } else {
                break;
            }
        }
    }

    fn build_heap(&mut self) {
        for i in (0..self.no_of_communities / 2).rev() {
            self.sift_down(i);
        }
    }

    fn heap_pos(&self, c: usize) -> usize {
        let i = self.heapindex[c];
        debug_assert!(i >= 0);
        i as usize
    }

    fn remove(&mut self, idx: usize) {
        let last = self.no_of_communities - 1;
        let clast = self.heap[last];
        self.heapindex[clast] = idx as isize;
        let cidx = self.heap[idx];
        self.heapindex[cidx] = -1;
        let old = self.maxdq_val(cidx);
        self.heap[idx] = self.heap[last];
        self.no_of_communities -= 1;
        // as igraph, also when idx was the last slot (heap[idx] is then the
        // removed community itself, just outside the live heap)
        if old > self.maxdq_val(self.heap[idx]) {
            self.sift_down(idx);
        } else {
            self.sift_up(idx);
        }
    }

    fn remove2(&mut self, idx: usize, comm: usize) {
        if idx == self.no_of_communities - 1 {
            self.heapindex[comm] = -1;
            self.no_of_communities -= 1;
            return;
        }
        let last = self.no_of_communities - 1;
        let clast = self.heap[last];
        self.heapindex[clast] = idx as isize;
        self.heapindex[comm] = -1;
        self.heap[idx] = self.heap[last];
        self.no_of_communities -= 1;
        for i in (0..self.no_of_communities / 2).rev() {
            self.sift_down(i);
        }
    }

    fn remove_nei(&mut self, c: usize, k: usize) {
        let pos = self.e[c]
            .neis
            .iter()
            .position(|&p| self.pairs[p].second == k);
        if let Some(i) = pos {
            let p = self.e[c].neis[i];
            let rescan = self.e[c].maxdq == Some(p);
            let olddq = self.maxdq_val(c);
            self.e[c].neis.remove(i);
            if rescan {
                self.rescan_max(c);
                let hi = self.heap_pos(c);
                if self.e[c].maxdq.is_some() {
                    if self.maxdq_val(c) > olddq {
                        self.sift_up(hi);
                    } else {
                        self.sift_down(hi);
                    }
                } else {
                    self.remove2(hi, c);
                }
            }
        }
    }

    fn sort_neighbors_of(&mut self, index: usize, changed: usize) {
        let second = |fg: &Fg, p: usize| fg.pairs[p].second;
        let n = self.e[index].neis.len();
        let found = self.e[index].neis.iter().position(|&p| p == changed);
        match found {
            Some(mut i) => {
                let cs = second(self, changed);
                while i > 0 {
                    let other = self.e[index].neis[i - 1];
                    if second(self, other) > cs {
                        self.e[index].neis[i] = other;
                        i -= 1;
                    } else {
                        break;
                    }
                }
                self.e[index].neis[i] = changed;
                while i + 1 < n {
                    let other = self.e[index].neis[i + 1];
                    if second(self, other) < cs {
                        self.e[index].neis[i] = other;
                        i += 1;
                    } else {
                        break;
                    }
                }
                self.e[index].neis[i] = changed;
            }
            None => {
                let mut v = std::mem::take(&mut self.e[index].neis);
                v.sort_by_key(|&p| self.pairs[p].second);
                self.e[index].neis = v;
            }
        }
    }

    fn update_dq(&mut self, p: usize, newdq: f64) -> bool {
        let to = self.pairs[p].first;
        let from = self.pairs[p].second;
        let opp = self.pairs[p].opposite;
        let dqi = self.pairs[p].dq;
        if self.e[to].maxdq == Some(p) && newdq >= self.dq[dqi] {
            self.dq[dqi] = newdq;
            let i = self.heap_pos(to);
            self.sift_up(i);
            if self.e[from].maxdq != Some(opp) {
                if self.maxdq_val(from) < newdq {
                    self.e[from].maxdq = Some(opp);
                    let j = self.heap_pos(from);
                    self.sift_up(j);
                }
            } else {
                let j = self.heap_pos(from);
                self.sift_up(j);
            }
            true
        } else if self.e[to].maxdq != Some(p) && newdq <= self.maxdq_val(to) {
            let olddq = self.dq[dqi];
            self.dq[dqi] = newdq;
            if self.e[from].maxdq == Some(opp) {
                if olddq > newdq {
                    self.rescan_max(from);
                    let j = self.heap_pos(from);
                    self.sift_down(j);
                } else {
                    let j = self.heap_pos(from);
                    self.sift_up(j);
                }
            }
            false
        } else {
            self.dq[dqi] = newdq;
            if self.e[to].maxdq != Some(p) {
                self.e[to].maxdq = Some(p);
                let i = self.heap_pos(to);
                self.sift_up(i);
                if self.e[from].maxdq != Some(opp) {
                    if self.maxdq_val(from) < newdq {
                        self.e[from].maxdq = Some(opp);
                        let j = self.heap_pos(from);
                        self.sift_up(j);
                    }
                } else {
                    let j = self.heap_pos(from);
                    self.sift_up(j);
                }
            } else {
                self.rescan_max(to);
                let i = self.heap_pos(to);
                self.sift_down(i);
                if self.e[from].maxdq == Some(opp) {
                    self.rescan_max(from);
                    let j = self.heap_pos(from);
                    self.sift_down(j);
                }
            }
            true
        }
    }
}

/// igraph's `igraph_community_fastgreedy` on a simple undirected graph given by
/// its edges in edge-id order; returns igraph's merges (0-based community ids)
/// and modularity sequence. Graphs that are not connected stop early, as igraph.
pub fn fastgreedy(
    n: usize,
    edges: &[(usize, usize)],
    weights: Option<&[f64]>,
) -> (Vec<(usize, usize)>, Vec<f64>) {
    let ne = edges.len();
    let total_joins = n.saturating_sub(1);
    let weight_sum = match weights {
        Some(w) => w.iter().sum::<f64>(),
        None => ne as f64,
    };
    let mut a = vec![0.0; n];
    match weights {
        Some(w) => {
            for (i, &(u, v)) in edges.iter().enumerate() {
                a[u] += w[i];
                a[v] += w[i];
            }
        }
        None => {
            for &(u, v) in edges {
                a[u] += 1.0;
                a[v] += 1.0;
            }
        }
    }
    let mut fg = Fg {
        pairs: Vec::with_capacity(2 * ne),
        dq: vec![0.0; ne],
        e: (0..n)
            .map(|i| Comm {
                id: i,
                neis: Vec::new(),
                maxdq: None,
            })
            .collect(),
        heap: vec![0; n],
        heapindex: vec![-1; n],
        no_of_communities: n,
    };
    for (j, &(u, v)) in edges.iter().enumerate() {
        let (from, to) = (u.min(v), u.max(v));
        fg.dq[j] = match weights {
            Some(w) => {
                2.0 * (w[j] / (weight_sum * 2.0)
                    - a[from] * a[to] / (4.0 * weight_sum * weight_sum))
            }
            None => 2.0 * (1.0 / (ne as f64 * 2.0) - a[from] * a[to] / (4.0 * (ne * ne) as f64)),
        };
        let i = fg.pairs.len();
        fg.pairs.push(Pair {
            first: from,
            second: to,
            dq: j,
            opposite: i + 1,
        });
        fg.pairs.push(Pair {
            first: to,
            second: from,
            dq: j,
            opposite: i,
        });
        fg.e[from].neis.push(i);
        fg.e[to].neis.push(i + 1);
        if fg.e[from].maxdq.is_none() || fg.maxdq_val(from) < fg.dq[j] {
            fg.e[from].maxdq = Some(i);
        }
        if fg.e[to].maxdq.is_none() || fg.maxdq_val(to) < fg.dq[j] {
            fg.e[to].maxdq = Some(i + 1);
        }
    }
    let mut j = 0;
    for i in 0..n {
        let mut v = std::mem::take(&mut fg.e[i].neis);
        v.sort_by_key(|&p| fg.pairs[p].second);
        fg.e[i].neis = v;
        if fg.e[i].maxdq.is_some() {
            fg.heap[j] = i;
            fg.heapindex[i] = j as isize;
            j += 1;
        } else {
            fg.heapindex[i] = -1;
        }
    }
    fg.no_of_communities = j;

    let mut q = 2.0 * weight_sum;
    if q != 0.0 {
        for x in a.iter_mut() {
            *x *= 1.0 / q;
        }
        q = 0.0; // no loops
        for x in &a {
            q -= x * x;
        }
    }
    fg.build_heap();

    let mut merges = Vec::with_capacity(total_joins);
    let mut modularity = Vec::with_capacity(total_joins + 1);
    let mut no_of_joins = 0;
    while no_of_joins < total_joins {
        modularity.push(q);
        if fg.no_of_communities == 0 {
            break;
        }
        let top = fg.heap[0];
        let Some(mp) = fg.e[top].maxdq else { break };
        let to = fg.pairs[mp].second;
        let from = fg.pairs[mp].first;
        let mut n_to = fg.e[to].neis.len();
        let m_from = fg.e[from].neis.len();
        q += fg.dq_of(mp);
        let (mut i, mut jj) = (0usize, 0usize);
        while i < n_to && jj < m_from {
            let p1 = fg.e[to].neis[i];
            let p2 = fg.e[from].neis[jj];
            let (s1, s2) = (fg.pairs[p1].second, fg.pairs[p2].second);
            if s1 < s2 {
                if s1 != from {
                    let nd = fg.dq_of(p1) - 2.0 * a[from] * a[s1];
                    fg.update_dq(p1, nd);
                }
                i += 1;
            } else if s1 == s2 {
                let nd = fg.dq_of(p1) + fg.dq_of(p2);
                fg.update_dq(p1, nd);
                fg.remove_nei(s1, from);
                i += 1;
                jj += 1;
            } else {
                if s2 != to {
                    let opp = fg.pairs[p2].opposite;
                    fg.pairs[opp].second = to;
                    fg.sort_neighbors_of(s2, opp);
                    fg.pairs[p2].first = to;
                    fg.e[to].neis.insert(i, p2);
                    n_to += 1;
                    i += 1;
                    if fg.dq_of(p2) > fg.maxdq_val(to) {
                        fg.e[to].maxdq = Some(p2);
                        let k = fg.heap_pos(to);
                        fg.sift_up(k);
                    }
                    let nd = fg.dq_of(p2) - 2.0 * a[to] * a[s2];
                    fg.update_dq(p2, nd);
                }
                jj += 1;
            }
        }
        while i < n_to {
            let p1 = fg.e[to].neis[i];
            let s1 = fg.pairs[p1].second;
            if s1 != from {
                let nd = fg.dq_of(p1) - 2.0 * a[from] * a[s1];
                fg.update_dq(p1, nd);
            }
            i += 1;
        }
        while jj < m_from {
            let p2 = fg.e[from].neis[jj];
            let s2 = fg.pairs[p2].second;
            if s2 == to {
                jj += 1;
                continue;
            }
            let opp = fg.pairs[p2].opposite;
            fg.pairs[opp].second = to;
            fg.sort_neighbors_of(s2, opp);
            fg.pairs[p2].first = to;
            fg.e[to].neis.push(p2);
            if fg.dq_of(p2) > fg.maxdq_val(to) {
                fg.e[to].maxdq = Some(p2);
                let k = fg.heap_pos(to);
                fg.sift_up(k);
            }
            let nd = fg.dq_of(p2) - 2.0 * a[to] * a[s2];
            fg.update_dq(p2, nd);
            jj += 1;
        }
        if fg.no_of_communities > 2 {
            fg.remove_nei(to, from);
            let hi = fg.heap_pos(from);
            fg.remove(hi);
        }
        fg.e[from].maxdq = None;
        fg.e[from].neis = Vec::new();
        merges.push((fg.e[to].id, fg.e[from].id));
        fg.e[to].id = n + no_of_joins;
        a[to] += a[from];
        a[from] = 0.0;
        no_of_joins += 1;
    }
    modularity.push(q);
    (merges, modularity)
}
