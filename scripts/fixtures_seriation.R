#!/usr/bin/env Rscript
# Fixtures for corrmc's seriation module (issue 3), computed with the R package
# seriation 1.4.1 (Debian r-cran-seriation; R >= 4.2, r-cran-gclus, r-cran-qap, r-cran-tsp, r-cran-bench)
# with Debian's reference BLAS/LAPACK (libblas3, liblapack3 3.11). The signs of the eigenvectors R's
# `eigen` returns (LAPACK dsyevr) decide the orientation of Spectral, Spectral_norm, MDS*, R2E, so the
# BLAS/LAPACK used is recorded in each file (`platform`); corrmc calls the same dsyevr.
#
#   Rscript scripts/fixtures_seriation.R [outdir]     (default: fixtures/seriation)
#
# For each test matrix (hierarchical-block and uniform-random distances, n = 8, 17, 30, 100) it writes
# <name>.json with: the distance matrix (17 significant digits, so it round-trips exactly); R hclust
# merges/heights/orders for the 8 linkages; the order of every deterministic seriation method; orders
# of the stochastic methods over 15 seeds (SA: n <= 30 only); all 16 criteria for every recorded order; and (n = 100
# only) R's median run time per method. Numbers are written with %.17g; orders are 1-based as in R.
suppressPackageStartupMessages({ library(seriation); library(bench) })
args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args) >= 1) args[1] else "fixtures/seriation"
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)

# --- minimal JSON writer with full double precision ------------------------------------------
num <- function(x) ifelse(is.na(x), "null", ifelse(is.infinite(x), ifelse(x > 0, "1e999", "-1e999"),
                                                    sprintf("%.17g", x)))
js <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    if (!is.null(names(x))) {
      return(paste0("{", paste(sprintf("\"%s\":%s", names(x), vapply(x, js, "")), collapse = ","), "}"))
    }
    return(paste0("[", paste(vapply(x, js, ""), collapse = ","), "]"))
  }
  if (is.matrix(x)) return(js(lapply(seq_len(nrow(x)), function(i) unname(x[i, ]))))
  if (is.character(x)) {
    s <- sprintf("\"%s\"", gsub("\n", "\\\\n", gsub("\"", "\\\\\"", x)))
  } else if (is.logical(x)) {
    s <- ifelse(is.na(x), "null", ifelse(x, "true", "false"))
  } else if (is.integer(x)) {
    s <- ifelse(is.na(x), "null", as.character(x))
  } else {
    s <- num(x)
  }
  if (inherits(x, "AsIs") || length(x) != 1) paste0("[", paste(s, collapse = ","), "]") else s
}

# --- test matrices ----------------------------------------------------------------------------
block_dist <- function(n, seed) {
  set.seed(seed)
  top <- sample(rep(1:3, length.out = n))
  sub <- paste(top, sample(rep(1:2, length.out = n)))
  rho <- 0.1 + 0.3 * outer(top, top, "==") + 0.4 * outer(sub, sub, "==")
  noise <- matrix(runif(n * n, -0.08, 0.08), n)
  rho <- rho + (noise + t(noise)) / 2
  diag(rho) <- 1
  d <- sqrt(pmax((1 - rho) / 2, 0))
  diag(d) <- 0
  d
}
unif_dist <- function(n, seed) {
  set.seed(seed)
  m <- matrix(runif(n * n), n)
  d <- (m + t(m)) / 2
  diag(d) <- 0
  d
}

crit_names <- list_criterion_methods("dist")
all_crit <- function(d, o) {
  v <- criterion(d, ser_permutation(o), method = crit_names)
  as.list(setNames(as.numeric(v), crit_names))
}

deterministic <- c("HC", "HC_average", "HC_complete", "HC_single", "HC_ward",
                   "GW", "GW_average", "GW_complete", "GW_single", "GW_ward",
                   "OLO", "OLO_average", "OLO_complete", "OLO_single", "OLO_ward",
                   "VAT", "Identity", "Spectral", "Spectral_norm", "MDS", "MDS_metric", "MDS_angle",
                   "R2E", "MDS_nonmetric")
stochastic <- c("ARSA", "QAP_2SUM", "QAP_BAR", "QAP_Inertia", "QAP_LS", "SPIN_NH", "SPIN_STS",
                "TSP", "Random", "SA")
linkages <- c("single", "complete", "average", "mcquitty", "ward.D", "ward.D2", "centroid", "median")

# BB is exact but exponential: R needs > 60 s at n = 30; try it where it may finish.
bb_try <- function(d, m, limit) {
  t0 <- proc.time()[["elapsed"]]
  setTimeLimit(elapsed = limit, transient = TRUE)
  on.exit(setTimeLimit(elapsed = Inf))
  o <- tryCatch(get_order(seriate(d, method = m)), error = function(e) NULL)
  setTimeLimit(elapsed = Inf)
  list(order = o, seconds = proc.time()[["elapsed"]] - t0)
}

make_fixture <- function(name, kind, d) {
  n <- nrow(d)
  cat(name, "\n")
  dd <- as.dist(d)
  out <- list(name = name, kind = kind, n = n, seriation_version = as.character(packageVersion("seriation")),
              platform = list(R = R.version.string, blas = extSoftVersion()[["BLAS"]],
                              lapack = La_library(), lapack_version = La_version()),
              d = d)
  # hclust trees (R definitions)
  hc <- list()
  for (l in linkages) {
    h <- hclust(dd, method = l)
    hc[[l]] <- list(merge = h$merge, height = h$height, order = h$order)
  }
  out$hclust <- hc
  # deterministic methods
  ords <- list()
  for (m in deterministic) {
    set.seed(1)
    ords[[m]] <- as.integer(get_order(seriate(dd, method = m)))
  }
  bb <- list()
  if (n <= 17) {
    for (m in c("BBURCG", "BBWRCG")) {
      set.seed(1)
      r <- bb_try(dd, m, 120)
      bb[[m]] <- list(seconds = r$seconds, finished = !is.null(r$order))
      if (!is.null(r$order)) ords[[m]] <- as.integer(r$order)
    }
  }
  out$bb <- bb
  out$orders <- ords
  # stochastic methods: several seeds
  st <- list()
  seeds <- 1:15
  for (m in stochastic) {
    if (m == "SA" && n > 30) next   # R's SA needs > 60 s at n = 100 (~3 s at n = 30)
    ss <- seeds
    runs <- lapply(ss, function(s) {
      set.seed(s)
      as.integer(get_order(seriate(dd, method = m)))
    })
    st[[m]] <- list(seeds = ss, orders = runs)
  }
  out$stochastic <- st
  # criteria for many orders
  set.seed(42)
  co <- list(list(label = "identity", order = 1:n),
             list(label = "reverse", order = n:1),
             list(label = "random1", order = sample(n)),
             list(label = "random2", order = sample(n)))
  for (m in names(ords)) co[[length(co) + 1]] <- list(label = m, order = ords[[m]])
  for (m in names(st)) for (k in seq_along(st[[m]]$orders))
    co[[length(co) + 1]] <- list(label = paste0(m, "#", st[[m]]$seeds[k]), order = st[[m]]$orders[[k]])
  for (k in seq_along(co)) co[[k]]$criteria <- all_crit(dd, co[[k]]$order)
  out$criteria <- co
  # timings (n = 100 only): median of repeated runs, one core
  if (n == 100) {
    tm <- list()
    for (m in c(deterministic, setdiff(stochastic, "SA"))) {
      set.seed(1)
      b <- bench::mark(seriate(dd, method = m), iterations = if (m %in% c("ARSA", "SPIN_NH", "SPIN_STS", "R2E", "MDS_nonmetric")) 5 else 20,
                       check = FALSE, filter_gc = FALSE, memory = FALSE)
      tm[[m]] <- as.numeric(b$median) * 1000
    }
    t1 <- system.time(for (i in 1:20) criterion(dd, ser_permutation(1:n), method = crit_names))[["elapsed"]]
    tm[["criteria_all16"]] <- t1 / 20 * 1000
    out$timings_ms <- tm
    out$timings_note <- "median wall time per call in ms (bench::mark), one core; SA, BBURCG, BBWRCG not run (> 60 s)"
  }
  writeLines(js(out), file.path(outdir, paste0(name, ".json")))
}

for (n in c(8, 17, 30, 100)) {
  make_fixture(sprintf("block_%d", n), "block", block_dist(n, 1000 + n))
  make_fixture(sprintf("unif_%d", n), "uniform", unif_dist(n, 2000 + n))
}
