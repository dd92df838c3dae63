#!/usr/bin/env Rscript
# Reference values for the ASRP tree builders and tree-fit measures
# (src/asrp/, tests/asrp_trees.rs). Writes fixtures/asrp_trees/cases.json.
#
# R packages (Debian r-cran-*): cluster (diana, agnes, coef.hclust), clue
# (cl_dissimilarity / cl_agreement), igraph (mst, cluster_fast_greedy), jsonlite.
# Versions are recorded in the JSON. protoclust and mdendro are not installed:
# minimax and mdendro's flexible / descriptors are tested in Rust against the
# papers' definitions (and agnes' flexible / gaverage, which mdendro documents
# as equivalent), not against those packages.
#
# Matrices: for n in 8, 17, 30, 50 one "block" and one "random" correlation
# matrix, both sample correlations of simulated Gaussian data (so no exact ties
# in d, which keeps every reference free of tie-breaking ambiguity):
#   random: T = 2n + 5 iid N(0,1) observations of n assets;
#   block : k = ceil(n/6) blocks, asset i = 0.8 * factor[block(i)] + 0.6 * noise,
#           T = 3n observations.
# d = sqrt((1 - rho)/2) rounded to 15 significant digits, so that the JSON (jsonlite
# writes 15) holds d exactly; every other number is written to 15 significant digits.
suppressMessages({
  library(cluster); library(clue); library(igraph); library(jsonlite)
})
set.seed(20240605)

make_corr <- function(n, kind) {
  if (kind == "random") {
    X <- matrix(rnorm((2 * n + 5) * n), ncol = n)
  } else {
    k <- ceiling(n / 6); T <- 3 * n
    blk <- sample(rep_len(seq_len(k), n))
    Fm <- matrix(rnorm(T * k), ncol = k)
    X <- 0.8 * Fm[, blk] + 0.6 * matrix(rnorm(T * n), ncol = n)
  }
  cor(X)
}

num <- function(x) as.numeric(unclass(x))
tree_of <- function(h) list(merge = unname(h$merge), height = num(h$height), order = h$order)

clue_measures <- function(h, dd) {
  list(
    euclidean = num(cl_dissimilarity(h, dd, "euclidean")[1]),
    manhattan = num(cl_dissimilarity(h, dd, "manhattan")[1]),
    cophenetic = num(cl_agreement(h, dd, "cophenetic")[1]),
    gamma = num(cl_dissimilarity(h, dd, "gamma")[1]),
    spectral = num(cl_dissimilarity(h, dd, "spectral")[1])
  )
}

cases <- list()
for (n in c(8, 17, 30, 50)) for (kind in c("block", "random")) {
  R <- make_corr(n, kind)
  D <- sqrt(pmax((1 - R) / 2, 0)); diag(D) <- 0
  D <- signif(D, 15)  # jsonlite 1.8 writes 15 significant digits: exact round trip
  D[lower.tri(D)] <- t(D)[lower.tri(D)]  # exactly symmetric
  dd <- as.dist(D)

  hc <- list()
  for (m in c("single", "complete", "average", "mcquitty", "ward.D2", "centroid", "median")) {
    h <- hclust(dd, m)
    hc[[m]] <- c(tree_of(h), list(clue = clue_measures(h, dd), coef_hclust = tryCatch(num(coef.hclust(h)), error = function(e) NULL)))
  }

  dv <- diana(dd, diss = TRUE)
  dh <- as.hclust(dv)
  diana_ref <- c(tree_of(dh), list(dc = num(dv$dc), banner_height = num(dv$height)))

  flex <- agnes(dd, diss = TRUE, method = "flexible", par.method = 0.625)
  gav <- agnes(dd, diss = TRUE, method = "gaverage", par.method = -0.25)
  agnes_ref <- list(
    flexible = c(tree_of(as.hclust(flex)), list(ac = num(flex$ac))),
    gaverage = c(tree_of(as.hclust(gav)), list(ac = num(gav$ac)))
  )

  g <- graph_from_adjacency_matrix(D, mode = "undirected", weighted = TRUE, diag = FALSE)
  tr <- mst(g, algorithm = "prim")
  el <- as_edgelist(tr, names = FALSE)
  w <- E(tr)$weight
  fg <- function(weights) {
    f <- cluster_fast_greedy(tr, weights = weights)
    list(merges = unname(f$merges), order = as.hclust(f)$order, modularity = num(f$modularity))
  }
  mst_ref <- list(
    edges = unname(el), weight = num(w),
    similarity = fg(1 - w), distance = fg(w), unweighted = fg(NA)
  )

  cases[[length(cases) + 1]] <- list(
    name = sprintf("%s_%d", kind, n), n = n, kind = kind, d = D,
    hclust = hc, diana = diana_ref, agnes = agnes_ref, mst = mst_ref
  )
}

# Tied distances (exact block correlations; distances rounded to 2 decimals):
# DIANA and igraph's fast greedy are compared here too (tie-breaking), the
# latter on igraph's own MST edges (igraph's Prim may break MST ties differently
# from ours).
tie_cases <- list()
blockD <- function(sizes, within, between) {
  n <- sum(sizes); b <- rep(seq_along(sizes), sizes)
  R <- ifelse(outer(b, b, "=="), within, between); diag(R) <- 1
  D <- sqrt((1 - R) / 2); diag(D) <- 0; signif(D, 15)
}
tieD <- list(
  exact_block_12 = blockD(c(3, 4, 5), 0.6, 0.2),
  rounded_random_20 = {
    R <- make_corr(20, "random"); D <- round(sqrt(pmax((1 - R) / 2, 0)), 2); diag(D) <- 0
    D[lower.tri(D)] <- t(D)[lower.tri(D)]; D
  }
)
for (nm in names(tieD)) {
  D <- tieD[[nm]]; n <- nrow(D); dd <- as.dist(D)
  dv <- diana(dd, diss = TRUE)
  g <- graph_from_adjacency_matrix(D, mode = "undirected", weighted = TRUE, diag = FALSE)
  tr <- mst(g, algorithm = "prim")
  w <- E(tr)$weight
  fg <- function(weights) {
    f <- cluster_fast_greedy(tr, weights = weights)
    list(merges = unname(f$merges), order = as.hclust(f)$order, modularity = num(f$modularity))
  }
  tie_cases[[length(tie_cases) + 1]] <- list(
    name = nm, n = n, d = D,
    diana = c(tree_of(as.hclust(dv)), list(dc = num(dv$dc), banner_height = num(dv$height))),
    mst = list(edges = unname(as_edgelist(tr, names = FALSE)), weight = num(w),
               similarity = fg(1 - w), distance = fg(w), unweighted = fg(NA))
  )
}

out <- list(
  generator = "scripts/fixtures_asrp_trees.R",
  versions = list(R = R.version.string, cluster = as.character(packageVersion("cluster")),
                  clue = as.character(packageVersion("clue")), igraph = as.character(packageVersion("igraph"))),
  note = "merge/order are R 1-based (hclust convention: negative = leaf). clue values via cl_dissimilarity(hclust, dist, method) except cophenetic = cl_agreement(hclust, dist, 'cophenetic').",
  cases = cases,
  tie_cases = tie_cases
)
dir.create("fixtures/asrp_trees", showWarnings = FALSE, recursive = TRUE)
txt <- toJSON(out, auto_unbox = TRUE, digits = NA, matrix = "rowmajor")
writeLines(txt, "fixtures/asrp_trees/cases.json")
back <- fromJSON("fixtures/asrp_trees/cases.json", simplifyVector = TRUE)
for (i in seq_along(cases)) stopifnot(all(back$cases$d[[i]] == cases[[i]]$d))
for (i in seq_along(tie_cases)) stopifnot(all(back$tie_cases$d[[i]] == tie_cases[[i]]$d))
cat("wrote fixtures/asrp_trees/cases.json,", length(cases), "cases,", length(tie_cases), "tie cases\n")
