#!/usr/bin/env Rscript
# Regenerates fixtures/asrp/hrp_on_r_orders.json: HRP's recursive bisection
# (Lopez de Prado 2016), written here in R, on the leaf orders that R itself
# produces (stats::hclust, seriation 1.4.1 GW_*/OLO_*/VAT/Identity/Spectral*/MDS*/R2E, cluster::diana)
# for d = sqrt((1 - rho)/2). The Rust test checks that every HRP_hcs_<tree> /
# HRP_ser_<method> variant gives these weights.
# Run from the repository root: Rscript scripts/fixtures_asrp.R
suppressPackageStartupMessages({
  library(seriation)
  library(cluster)
  library(jsonlite)
})
set.seed(20261122)

cluster_var <- function(cov, items) {
  s <- cov[items, items, drop = FALSE]
  w <- 1 / diag(s)
  w <- w / sum(w)
  as.numeric(t(w) %*% s %*% w)
}

# Recursive bisection: halves of a list of k items, the first with floor(k/2).
bisection <- function(cov, order) {
  w <- rep(1, nrow(cov))
  clusters <- list(order)
  while (length(clusters) > 0) {
    nxt <- list()
    for (cl in clusters) {
      if (length(cl) > 1) {
        k <- length(cl) %/% 2
        nxt <- c(nxt, list(cl[1:k]), list(cl[(k + 1):length(cl)]))
      }
    }
    if (length(nxt) > 0) {
      for (i in seq(1, length(nxt), by = 2)) {
        l <- nxt[[i]]; r <- nxt[[i + 1]]
        vl <- cluster_var(cov, l); vr <- cluster_var(cov, r)
        a <- 1 - vl / (vl + vr)
        w[l] <- w[l] * a
        w[r] <- w[r] * (1 - a)
      }
    }
    clusters <- nxt
  }
  w
}

make_cov <- function(n, t, groups) {
  g <- sample(rep(seq_len(groups), length.out = n))
  bm <- runif(n, 0.3, 0.6); bs <- runif(n, 0.2, 0.6)
  c <- outer(bm, bm) + outer(g, g, "==") * outer(bs, bs)
  diag(c) <- 1
  vols <- runif(n, 0.01, 0.03)
  sigma <- c * outer(vols, vols)
  x <- matrix(rnorm(t * n), t, n) %*% chol(sigma)
  cov(x)
}

cases <- list()
for (spec in list(c(12, 60, 3), c(30, 252, 4), c(50, 500, 5))) {
  n <- spec[1]
  cov <- make_cov(n, spec[2], spec[3])
  d <- as.dist(sqrt(pmin(pmax((1 - cov2cor(cov)) / 2, 0), 1)))
  orders <- list()
  for (m in c("complete", "average", "mcquitty", "ward.D", "ward.D2", "centroid", "median")) {
    orders[[paste0("HRP_hcs_", m)]] <- hclust(d, method = m)$order
  }
  for (x in c("single", "complete", "average", "ward")) {
    orders[[paste0("HRP_hcs_GW_", x)]] <- get_order(seriate(d, method = paste0("GW_", x)))
    orders[[paste0("HRP_hcs_OLO_", x)]] <- get_order(seriate(d, method = paste0("OLO_", x)))
  }
  orders[["HRP_hcs_DIANA"]] <- diana(d)$order
  orders[["HRP_ser_VAT"]] <- get_order(seriate(d, method = "VAT"))
  orders[["HRP_ser_Identity"]] <- get_order(seriate(d, method = "Identity"))
  # Eigenvector methods: their orders depend on the signs LAPACK dsyevr returns
  # (Debian reference LAPACK 3.11 here), which corrmc reproduces (issue 11).
  for (m in c("Spectral", "Spectral_norm", "MDS", "MDS_metric", "MDS_angle", "R2E", "MDS_nonmetric")) {
    orders[[paste0("HRP_ser_", m)]] <- get_order(seriate(d, method = m))
  }
  weights <- lapply(orders, function(o) bisection(cov, o))
  cases[[length(cases) + 1]] <- list(
    n = n,
    # 17 significant digits, written verbatim (jsonlite stops at 15): the
    # eigenvector orders need R's matrix bit for bit.
    cov = structure(paste0("[", paste(vapply(seq_len(n), function(i)
      paste0("[", paste(sprintf("%.17g", cov[i, ]), collapse = ","), "]"), ""),
      collapse = ","), "]"), class = "json"),
    orders = lapply(orders, function(o) as.integer(o - 1)),
    weights = weights
  )
}
dir.create("fixtures/asrp", showWarnings = FALSE, recursive = TRUE)
writeLines(
  toJSON(list(generator = "scripts/fixtures_asrp.R",
              R = R.version.string,
              seriation = as.character(packageVersion("seriation")),
              cluster = as.character(packageVersion("cluster")),
              lapack = paste(La_library(), La_version()),
              cases = cases),
         digits = NA, auto_unbox = TRUE, json_verbatim = TRUE),
  "fixtures/asrp/hrp_on_r_orders.json"
)
cat("wrote", length(cases), "cases\n")
